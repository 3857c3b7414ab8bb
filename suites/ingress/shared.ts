// The Ingress suite's set-up: its manifests and the echo backend.
import { join } from 'node:path';
import type { SuiteContext } from '../../src/harness/context.js';
import { packageRoot } from '../../src/lib/paths.js';

export const ingressManifests = join(packageRoot, 'suites', 'ingress');

export async function echoBackend(ctx: SuiteContext): Promise<void> {
  await ctx.applyFile('echo.yaml');
  await ctx.podsReady('app=echo', 1);
}
