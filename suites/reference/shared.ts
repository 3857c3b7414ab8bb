// What the reference scenarios share: the guide's test certificate (RSA 2048, SHA-256,
// CN and SAN demo.example.com, serverAuth), the echo backend, and the guide's checks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { createSelfSignedCertificate, type KeyMaterial } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';
import type { SuiteContext } from '../../src/harness/context.js';
import { runClient } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';

export const scenarioManifests = join(packageRoot, 'manifests', 'scenarios');

export interface GuideCertificate extends KeyMaterial {
  /** server.crt on disk, for curl --cacert and openssl -CAfile. */
  file: string;
}

/** As the guide: `openssl req -x509 … -subj /CN=demo.example.com` and `kubectl create secret tls demo.example.com`. */
export async function guideCertificate(ctx: SuiteContext): Promise<GuideCertificate> {
  const material = await createSelfSignedCertificate({ commonName: 'demo.example.com', dnsNames: ['demo.example.com'], algorithm: 'rsa-2048' });
  const file = join(ctx.scratchDir('guide'), 'server.crt');
  writeFileSync(file, material.certPem);
  await ctx.tlsSecret('demo.example.com', material.certPem, material.keyPem);
  return { ...material, file };
}

export async function echoBackend(ctx: SuiteContext): Promise<void> {
  await ctx.applyFile('echo.yaml');
  await ctx.podsReady('app=echo', 1);
}

/** The guide's curl, converging: the answer names a pod of the echo Deployment. */
export async function curlMustReachEcho(ctx: SuiteContext, args: string[]): Promise<string> {
  let body = '';
  await awaitConvergence(`curl ${args.join(' ')}`, ctx.timeouts, async () => {
    const result = await runClient('curl', ['-sS', '-i', '--max-time', String(ctx.timeouts.requestTimeoutMs / 1000), ...args], ctx.timeouts.requestTimeoutMs + 2000);
    if (result.code !== 0 || !/\r?\n\r?\nRunning on Pod echo-[a-z0-9-]+\./.test(result.stdout)) {
      throw new Error(`expected an HTTP answer "Running on Pod echo-….", saw exit ${result.code}:\n${result.stdout.slice(0, 800)}${result.stderr.slice(-800)}`);
    }
    body = result.stdout;
  });
  expect(body).to.match(/^HTTP\/[\d.]+ 200/);
  return body;
}
