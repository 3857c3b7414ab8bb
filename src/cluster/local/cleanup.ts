// Finding and stopping everything a local cluster started, even after a crash:
// its processes carry PORTCULLIS_CLUSTER_DIR in their environment, its pods' network
// namespaces are named after it, and its bridge is recorded in cluster.json.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isProcessAlive, runCommand, sleep } from '../../lib/process.js';
import type { ClusterPaths, LocalClusterConfig } from './state.js';

export const clusterDirEnv = 'PORTCULLIS_CLUSTER_DIR';
/** Set on every Pod process, so a restarted node agent can find its predecessor's Pods. */
export const podUidEnv = 'PORTCULLIS_POD_UID';

/** Pids of live processes whose environment (as `NAME=value` entries) satisfies `matches`. */
function processesWhere(matches: (environment: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (matches(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0'))) pids.push(pid);
    } catch {
      // gone already, or not ours to read
    }
  }
  return pids;
}

/** Every live process this cluster started: control plane, node agent and Pods. */
export function clusterProcesses(clusterDir: string): number[] {
  const marker = `${clusterDirEnv}=${clusterDir}`;
  return processesWhere((environment) => environment.includes(marker));
}

/** The live processes of this cluster's Pods. */
export function clusterPodProcesses(clusterDir: string): number[] {
  const marker = `${clusterDirEnv}=${clusterDir}`;
  return processesWhere((environment) => environment.includes(marker) && environment.some((e) => e.startsWith(`${podUidEnv}=`)));
}

export function supervisorPid(paths: ClusterPaths): number | undefined {
  if (!existsSync(paths.supervisorPid)) return undefined;
  const pid = Number(readFileSync(paths.supervisorPid, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid) ? pid : undefined;
}

/** SIGTERM to the supervisor (which stops its children in order), then SIGKILL to whatever is left. */
export async function stopClusterProcesses(paths: ClusterPaths, graceMs = 45_000): Promise<void> {
  const supervisor = supervisorPid(paths);
  if (supervisor) {
    process.kill(supervisor, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isProcessAlive(supervisor) && Date.now() < deadline) await sleep(100);
  }
  for (let round = 0; round < 50; round++) {
    const left = clusterProcesses(paths.dir);
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
}

export function podNetnsPrefix(config: Pick<LocalClusterConfig, 'name'>): string {
  return `portcullis-${config.name}-`;
}

/** Deletes the cluster's pod network namespaces and its bridge. */
export async function removeClusterNetwork(config: LocalClusterConfig): Promise<void> {
  const listed = await runCommand('ip', ['netns', 'list']);
  const prefix = podNetnsPrefix(config);
  for (const line of listed.stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(prefix)) await runCommand('ip', ['netns', 'delete', name]);
  }
  if (existsSync(`/sys/class/net/${config.bridge}`)) await runCommand('ip', ['link', 'delete', config.bridge]);
}
