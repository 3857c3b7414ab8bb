// The status suite's set-up: its manifests and one certificate for every listener.
import { join } from 'node:path';
import type { SuiteContext } from '../../src/harness/context.js';
import { createSelfSignedCertificate } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';

export const statusManifests = join(packageRoot, 'suites', 'status');

export async function listenerCertificate(ctx: SuiteContext): Promise<void> {
  const material = await createSelfSignedCertificate({ commonName: '*.example.com', dnsNames: ['*.example.com'], algorithm: 'ecdsa-p256' });
  await ctx.tlsSecret('cert', material.certPem, material.keyPem);
}
