// The passthrough suite's set-up: one CA, two TLS echo backends serving their own
// certificates (tls-a: a.example.com, ECDSA; tls-b: *.b.example.com, RSA), and the check
// that an SNI reaches a given backend, undecrypted.
import { join } from 'node:path';
import type { SuiteContext } from '../../src/harness/context.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';

export const passthroughManifests = join(packageRoot, 'suites', 'passthrough');

export interface PassthroughBackends {
  ca: CertificateAuthority;
  a: KeyMaterial;
  b: KeyMaterial;
}

export async function passthroughBackends(ctx: SuiteContext): Promise<PassthroughBackends> {
  const ca = await createCertificateAuthority('passthrough-suite-ca');
  const a = await issueCertificate(ca, { commonName: 'a.example.com', dnsNames: ['a.example.com'] });
  const b = await issueCertificate(ca, { commonName: '*.b.example.com', dnsNames: ['*.b.example.com'], algorithm: 'rsa-2048' });
  await ctx.tlsSecret('tls-a', a.certPem, a.keyPem);
  await ctx.tlsSecret('tls-b', b.certPem, b.keyPem);
  await ctx.applyFile('backends.yaml');
  await ctx.podsReady('app=tls-a', 1);
  await ctx.podsReady('app=tls-b', 1);
  return { ca, a, b };
}

/** The SNI reaches `backend` (tls-a or tls-b): the client sees that backend's own certificate and its greeting over TLS. */
export async function sniMustReachBackend(ctx: SuiteContext, address: string, servername: string, backend: 'tls-a' | 'tls-b', certificate: KeyMaterial, port = 443): Promise<void> {
  const greeting = new RegExp(`^Running on Pod ${backend}-[a-z0-9-]+\\.\\nThrough TLS connection\\.`);
  await ctx.certificateMustBeServed({ address, port, servername, readUntil: 'Through TLS connection.' }, certificate.serial, `the ${backend} backend's own certificate and greeting`, greeting);
}

/** The SNI (none when undefined) completes no handshake and reaches no backend. */
export async function sniMustReachNothing(ctx: SuiteContext, address: string, servername: string | undefined, port = 443): Promise<void> {
  await ctx.handshakeMustFail({ address, port, ...(servername ? { servername } : {}), readUntil: 'Through TLS' }, 'no backend is reached');
}
