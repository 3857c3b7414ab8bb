// Test certificates made with the openssl CLI in a temporary directory at suite setup
// (no key is committed). Once per mocha process; every suite shares the result.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  /** RSA 2048, SHA-256, CN and SAN demo.example.com, serverAuth (the reference guide's certificate). */
  rsa: KeyPair;
  /** ECDSA P-256 for demo.example.com. */
  ecdsa: KeyPair;
  /** An ECDSA key that belongs to no certificate here. */
  strayEcdsaKeyPem: string;
  /** `ecdsa.keyPem` encrypted with a passphrase. */
  encryptedKeyPem: string;
}

let pki: TestPki | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function selfSigned(dir: string, name: string, keyArgs: string[]): KeyPair {
  openssl(dir, [
    'req', '-x509', '-nodes', '-days', '2', '-sha256',
    ...keyArgs,
    '-keyout', `${name}.key`, '-out', `${name}.crt`,
    '-subj', '/CN=demo.example.com',
    '-addext', 'subjectAltName=DNS:demo.example.com',
    '-addext', 'keyUsage=digitalSignature',
    '-addext', 'extendedKeyUsage=serverAuth',
  ]);
  return { certPem: readFileSync(join(dir, `${name}.crt`), 'utf8'), keyPem: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

export function testPki(): TestPki {
  if (pki) return pki;
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-ir-pki-'));
  try {
    const rsa = selfSigned(dir, 'rsa', ['-newkey', 'rsa:2048']);
    const ecdsa = selfSigned(dir, 'ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'stray.key']);
    openssl(dir, ['pkey', '-in', 'ecdsa.key', '-aes256', '-passout', 'pass:portcullis', '-out', 'encrypted.key']);
    pki = {
      rsa,
      ecdsa,
      strayEcdsaKeyPem: readFileSync(join(dir, 'stray.key'), 'utf8'),
      encryptedKeyPem: readFileSync(join(dir, 'encrypted.key'), 'utf8'),
    };
    return pki;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The base64 lines of every private key, to prove no message leaks any of them. */
export function keyMaterialLines(material: TestPki): string[] {
  return [material.rsa.keyPem, material.ecdsa.keyPem, material.strayEcdsaKeyPem, material.encryptedKeyPem]
    .flatMap((pem) => pem.split('\n'))
    .filter((line) => line.length > 0 && !line.startsWith('-----'));
}
