// The termination suite's set-up: one CA, a certificate per listener of the `multi`
// Gateway, the echo backend.
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';
import type { SuiteContext } from '../../src/harness/context.js';

export const terminationManifests = join(packageRoot, 'suites', 'termination');

export interface MultiGateway {
  address: string;
  ca: CertificateAuthority;
  certificates: Record<'exact' | 'wildcard' | 'nested' | 'fallback', KeyMaterial>;
}

export async function multiGateway(ctx: SuiteContext): Promise<MultiGateway> {
  const ca = await createCertificateAuthority('termination-suite-ca');
  const names: Record<keyof MultiGateway['certificates'], string[]> = {
    exact: ['foo.example.com'],
    wildcard: ['*.example.com'],
    nested: ['*.bar.example.com'],
    fallback: ['fallback.invalid'],
  };
  const certificates = {} as MultiGateway['certificates'];
  for (const [name, dnsNames] of Object.entries(names) as [keyof MultiGateway['certificates'], string[]][]) {
    certificates[name] = await issueCertificate(ca, { commonName: dnsNames[0]!, dnsNames, algorithm: name === 'nested' ? 'ecdsa-p256' : 'rsa-2048' });
    await ctx.tlsSecret(name, certificates[name].certPem, certificates[name].keyPem);
  }
  await echoBackend(ctx);
  await ctx.applyFile('manifests.yaml');
  const address = await ctx.gatewayAndRouteMustBeAccepted('multi', 'HTTPRoute', 'everywhere');
  return { address, ca, certificates };
}

/** The echo Deployment and Service (HTTP on 1027, TCP echo on 1025), Ready. */
export async function echoBackend(ctx: SuiteContext): Promise<void> {
  await ctx.applyFile('echo.yaml');
  await ctx.podsReady('app=echo', 1);
}
