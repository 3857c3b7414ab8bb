// One local cluster for the whole test run: started by the first suite that asks for
// it, deleted by the root hook after every suite has run. State lives in a temporary
// PORTCULLIS_HOME so tests never touch a developer's own clusters.
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster, type StartedLocalCluster } from '../../src/cluster/local/provider.js';

let started: Promise<StartedLocalCluster> | undefined;

const ownHome = process.env.PORTCULLIS_HOME === undefined;
export const testHome = process.env.PORTCULLIS_HOME ?? mkdtempSync(join(tmpdir(), 'portcullis-test-'));
process.env.PORTCULLIS_HOME = testHome;

/** Removes the temporary PORTCULLIS_HOME once every cluster in it is gone; one that is not empty is kept, to look into. */
export function removeTestHome(): void {
  if (!ownHome) return;
  try {
    rmdirSync(testHome);
  } catch {
    // not empty: something was left behind, and whoever investigates will want it
  }
}

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
