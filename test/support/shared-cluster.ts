// One local cluster for the whole test run: started by the first suite that asks for
// it, deleted by the root hook after every suite has run. State lives in a temporary
// PORTCULLIS_HOME so tests never touch a developer's own clusters.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster, type StartedLocalCluster } from '../../src/cluster/local/provider.js';

let started: Promise<StartedLocalCluster> | undefined;

export const testHome = process.env.PORTCULLIS_HOME ?? mkdtempSync(join(tmpdir(), 'portcullis-test-'));
process.env.PORTCULLIS_HOME = testHome;

/** Generous: the first run on a machine builds the control plane from source. */
export const clusterStartTimeoutMs = 30 * 60 * 1000;

export function sharedCluster(): Promise<StartedLocalCluster> {
  started ??= startLocalCluster({
    name: 'shared',
    apiPort: 0,
    progress: (line) => process.stderr.write(`      [cluster] ${line}\n`),
  });
  return started;
}

export async function stopSharedCluster(): Promise<void> {
  if (!started) return;
  const cluster = await started.catch(() => undefined);
  started = undefined;
  await cluster?.down();
}
