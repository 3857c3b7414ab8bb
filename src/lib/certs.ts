// An in-process certificate factory: CAs, server and client leaves, RSA and ECDSA,
// wildcard SANs, self-signed, expired. Used for the local cluster's PKI and by the
// conformance suites, which generate all TLS material at setup (no key is committed).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type RsaHashedKeyGenParams = webcrypto.RsaHashedKeyGenParams;
type EcKeyGenParams = webcrypto.EcKeyGenParams;
import * as x509 from '@peculiar/x509';

const subtle = webcrypto.subtle;
x509.cryptoProvider.set(webcrypto as never);

export type KeyAlgorithm = 'rsa-2048' | 'ecdsa-p256';

/** Which extended key usages a leaf gets (RFC 5280 §4.2.1.12). */
export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface KeyMaterial {
  certPem: string;
  keyPem: string;
  /** Lower-case hex serial number, as `openssl x509 -serial` and Node's `getPeerCertificate()` show it (upper-cased there). */
  serial: string;
  subject: string;
}

export interface CertificateAuthority extends KeyMaterial {
  readonly keys: CryptoKeyPair;
  readonly algorithm: KeyAlgorithm;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export interface LeafRequest extends Validity {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage?: CertificateUsage;
  algorithm?: KeyAlgorithm;
}

const day = 24 * 60 * 60 * 1000;

function signingParams(algorithm: KeyAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams {
  return algorithm === 'rsa-2048'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as RsaHashedKeyGenParams
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as EcKeyGenParams;
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(signingParams(algorithm), true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
}

export async function publicKeyPem(keys: CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('spki', keys.publicKey), 'PUBLIC KEY');
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive and of fixed length (RFC 5280 §4.1.2.2)
  return Buffer.from(bytes).toString('hex');
}

function distinguishedName(commonName: string, organization?: string): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1');
  return organization ? `CN=${escape(commonName)}, O=${escape(organization)}` : `CN=${escape(commonName)}`;
}

function algorithmOf(keys: CryptoKeyPair): KeyAlgorithm {
  return keys.publicKey.algorithm.name === 'ECDSA' ? 'ecdsa-p256' : 'rsa-2048';
}

async function describe(cert: x509.X509Certificate, keys: CryptoKeyPair): Promise<KeyMaterial> {
  return { certPem: cert.toString('pem') + '\n', keyPem: (await privateKeyPem(keys)) + '\n', serial: cert.serialNumber.toLowerCase(), subject: cert.subject };
}

export async function createCertificateAuthority(commonName: string, options: Validity & { algorithm?: KeyAlgorithm } = {}): Promise<CertificateAuthority> {
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  const keys = await generateKeyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(commonName),
    notBefore: options.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 10 * 365 * day),
    keys,
    signingAlgorithm: signingParams(algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { ...(await describe(cert, keys)), keys, algorithm };
}

function leafExtensions(request: LeafRequest): x509.Extension[] {
  const usage = request.usage ?? 'server';
  const ekus: string[] = [];
  if (usage !== 'client') ekus.push(x509.ExtendedKeyUsage.serverAuth);
  if (usage !== 'server') ekus.push(x509.ExtendedKeyUsage.clientAuth);
  const names: x509.JsonGeneralName[] = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(ekus, false),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  return extensions;
}

/** Issues a leaf signed by `ca`. */
export async function issueCertificate(ca: CertificateAuthority, request: LeafRequest): Promise<KeyMaterial> {
  const keys = await generateKeyPair(request.algorithm ?? 'ecdsa-p256');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(request.commonName, request.organization),
    issuer: ca.subject,
    notBefore: request.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: request.notAfter ?? new Date(Date.now() + 365 * day),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signingParams(ca.algorithm),
    extensions: [...leafExtensions(request), await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey)],
  });
  return describe(cert, keys);
}

/** A self-signed leaf, as the reference guide makes with `openssl req -x509`. */
export async function createSelfSignedCertificate(request: LeafRequest): Promise<KeyMaterial> {
  const algorithm = request.algorithm ?? 'rsa-2048';
  const keys = await generateKeyPair(algorithm);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: distinguishedName(request.commonName, request.organization),
    notBefore: request.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: request.notAfter ?? new Date(Date.now() + 365 * day),
    keys,
    signingAlgorithm: signingParams(algorithm),
    extensions: leafExtensions(request),
  });
  return describe(cert, keys);
}

export { algorithmOf };
