// Resolving a listener's certificateRef to usable key material, with the reason a
// person needs when it is not (InvalidCertificateRef messages name the Secret).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { TlsCertificate } from '../../ir/types.js';

export interface ServingCertificate {
  /** `namespace/name` of the Secret, for logs and messages. */
  source: string;
  certPem: string;
  keyPem: string;
  /** The leaf's DNS SANs (lower case), for diagnostics. */
  dnsNames: string[];
  keyType: 'rsa' | 'ec' | 'other';
  notAfter: string;
}

export type CertificateCheck = { ok: true; certificate: ServingCertificate } | { ok: false; message: string };

function decode(secret: V1Secret, key: string): string | undefined {
  const value = secret.data?.[key];
  if (value !== undefined) return Buffer.from(value, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Checks by Secret object. The informer cache hands out the same object until the Secret
 * changes, so each version is parsed once: parsing the key and certificates of 1,000
 * Secrets took about 1 s, on every pass (a status write, an endpoint change...). A
 * replaced object is dropped with its entry.
 */
const checked = new WeakMap<V1Secret, CertificateCheck>();

/** Checks a Secret as a serving certificate: type, keys present, PEM parses, key matches the leaf. */
export function checkTlsSecret(secret: V1Secret): CertificateCheck {
  let check = checked.get(secret);
  if (!check) checked.set(secret, (check = parseTlsSecret(secret)));
  return check;
}

function parseTlsSecret(secret: V1Secret): CertificateCheck {
  const source = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
  if (secret.type !== 'kubernetes.io/tls') {
    return { ok: false, message: `Secret ${source} is of type "${secret.type ?? 'Opaque'}", not kubernetes.io/tls` };
  }
  const certPem = decode(secret, 'tls.crt');
  const keyPem = decode(secret, 'tls.key');
  if (!certPem || !keyPem) {
    return { ok: false, message: `Secret ${source} lacks ${!certPem ? 'tls.crt' : 'tls.key'}` };
  }
  const blocks = certPem.match(pemBlock);
  if (!blocks) return { ok: false, message: `Secret ${source} tls.crt holds no PEM certificate` };
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (const block of blocks.slice(1)) new X509Certificate(block);
  } catch {
    return { ok: false, message: `Secret ${source} tls.crt is not a valid PEM certificate` };
  }
  let keyType: ServingCertificate['keyType'];
  try {
    const key = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(key)) return { ok: false, message: `Secret ${source} tls.key does not match the certificate in tls.crt` };
    keyType = key.asymmetricKeyType === 'rsa' ? 'rsa' : key.asymmetricKeyType === 'ec' ? 'ec' : 'other';
  } catch {
    return { ok: false, message: `Secret ${source} tls.key is not a valid PEM private key` };
  }
  const dnsNames = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return { ok: true, certificate: { source, certPem, keyPem, dnsNames, keyType, notAfter: new Date(leaf.validTo).toISOString() } };
}

/** The IR form of a checked Secret; `label` is its `namespace/name`. */
export function tlsCertificateOf(certificate: ServingCertificate, label: string): TlsCertificate {
  return {
    id: label,
    source: `Secret ${label}`,
    keyType: certificate.keyType === 'ec' ? 'ECDSA' : 'RSA',
    certificateChainPem: certificate.certPem,
    privateKeyPem: certificate.keyPem,
  };
}
