// The `local` cluster provider: a real etcd, kube-apiserver and kube-controller-manager
// run as processes on this machine, plus our node agent that runs Pods as processes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { PortcullisError, errorMessage } from '../../lib/errors.js';
import { applyObjects, isNotFound, loadKubeConfig, parseManifests, rawGet, waitFor } from '../../lib/kube.js';
import { distEntry, packageRoot, stateRoot } from '../../lib/paths.js';
import { assertPortFree, commandExists, freePort, sleep } from '../../lib/process.js';
import { defaultGatewayApiVersion, installGatewayApi, validateChannel, validateGatewayApiVersion } from '../gateway-api.js';
import { clusterDirEnv, clusterProcesses, removeClusterNetwork, stopClusterProcesses, supervisorPid } from './cleanup.js';
import { ensureControlPlaneBinaries, kubernetesVersion, type ControlPlaneBinaries } from './controlplane-build.js';
import { ensurePki, pkiFiles } from './pki.js';
import {
  clusterPaths,
  listClusterConfigs,
  maxNetworkSlots,
  networkPlan,
  readClusterConfig,
  readJsonFile,
  writeClusterConfig,
  type ClusterPaths,
  type GatewayApiChannel,
  type LocalClusterConfig,
  type SupervisorStatus,
} from './state.js';

export interface LocalClusterOptions {
  name?: string;
  /** The API server's port on 127.0.0.1; 0 picks a free one. Default 6443. */
  apiPort?: number;
  gatewayApiVersion?: string;
  channel?: GatewayApiChannel;
  progress?: (line: string) => void;
  /** How long to wait for a ready cluster once the binaries exist. */
  readyTimeoutMs?: number;
}

export class StartedLocalCluster implements AsyncDisposable {
  constructor(
    readonly config: LocalClusterConfig,
    readonly paths: ClusterPaths,
    readonly binaries: ControlPlaneBinaries,
  ) {}

  get name(): string {
    return this.config.name;
  }

  get kubeconfigPath(): string {
    return this.paths.kubeconfig;
  }

  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.paths.kubeconfig);
  }

  /** Stops every process of the cluster and deletes its state. */
  async down(): Promise<void> {
    await deleteLocalCluster(this.name);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

export async function checkPrerequisites(): Promise<void> {
  if (process.platform !== 'linux') {
    throw new PortcullisError('NOT_LINUX', 'the local provider runs Pods in Linux network namespaces: use --provider kind or --provider existing on this system');
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new PortcullisError('NOT_ROOT', 'the local provider creates network namespaces and mounts for Pods and must run as root: run it with sudo, or use --provider kind');
  }
  for (const tool of ['ip', 'unshare', 'mount']) {
    if (!(await commandExists(tool))) {
      throw new PortcullisError('MISSING_TOOL', `the local provider needs \`${tool}\`: install it (Debian: apt-get install -y iproute2 util-linux mount)`);
    }
  }
}

/** Brings the cluster up (or confirms it is up) and returns it once the API, CRDs and node are ready. */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<StartedLocalCluster> {
  const progress = options.progress ?? (() => {});
  const name = options.name ?? 'default';
  const paths = clusterPaths(name);
  const existing = readClusterConfig(paths);
  const gatewayApi = {
    version: validateGatewayApiVersion(options.gatewayApiVersion ?? existing?.gatewayApi.version ?? defaultGatewayApiVersion()),
    channel: validateChannel(options.channel ?? existing?.gatewayApi.channel ?? 'experimental'),
  };
  await checkPrerequisites();
  const binaries = await ensureControlPlaneBinaries(progress);

  let config: LocalClusterConfig;
  if (existing && supervisorPid(paths) && isRunning(paths)) {
    progress(`cluster "${name}" is already running`);
    config = { ...existing, gatewayApi };
  } else {
    if (existing) {
      progress(`cluster "${name}" is not running: recovering it from ${paths.dir}`);
      await stopClusterProcesses(paths, 5_000);
      await removeClusterNetwork(existing);
    }
    config = existing ? await reusePorts(existing, options) : await newClusterConfig(name, options);
    config.gatewayApi = gatewayApi;
    writeClusterConfig(paths, config);
    await startSupervisor(config, paths, binaries, progress);
  }
  writeClusterConfig(paths, config);
  const cluster = new StartedLocalCluster(config, paths, binaries);
  try {
    await waitUntilUsable(cluster, options.readyTimeoutMs ?? 120_000, progress);
  } catch (err) {
    progress(`cluster "${name}" did not become ready; stopping what was started (logs stay in ${paths.logs})`);
    await stopClusterProcesses(paths, 10_000);
    await removeClusterNetwork(config);
    throw err;
  }
  return cluster;
}

function isRunning(paths: ClusterPaths): boolean {
  return readJsonFile<SupervisorStatus>(paths.status)?.phase === 'running';
}

async function newClusterConfig(name: string, options: LocalClusterOptions): Promise<LocalClusterConfig> {
  const apiPort = options.apiPort === 0 ? await freePort() : (options.apiPort ?? 6443);
  await assertApiPortFree(apiPort);
  const index = claimNetworkSlot(clusterPaths(name).dir);
  return {
    name,
    kubernetesVersion,
    apiPort,
    etcdClientPort: await freePort(),
    etcdPeerPort: await freePort(),
    proxyAdminPort: await freePort(),
    controllerMetricsPort: await freePort(),
    networkIndex: index,
    ...networkPlan(index),
    nodeName: `${name}-node`,
    gatewayApi: { version: defaultGatewayApiVersion(), channel: 'experimental' },
    createdAt: new Date().toISOString(),
  };
}

/** After a crash the recorded ports may have been taken meanwhile; etcd's are private and can move, the API port cannot. */
async function reusePorts(config: LocalClusterConfig, options: LocalClusterOptions): Promise<LocalClusterConfig> {
  if (options.apiPort && options.apiPort !== config.apiPort) {
    throw new PortcullisError('API_PORT_FIXED', `cluster "${config.name}" already serves on port ${config.apiPort}: drop --api-port, or run \`portcullis cluster down --name ${config.name}\` first`);
  }
  await assertApiPortFree(config.apiPort);
  const portIsFree = (port: number) => assertPortFree('127.0.0.1', port).then(() => true, () => false);
  return {
    ...config,
    etcdClientPort: (await portIsFree(config.etcdClientPort)) ? config.etcdClientPort : await freePort(),
    etcdPeerPort: (await portIsFree(config.etcdPeerPort)) ? config.etcdPeerPort : await freePort(),
    proxyAdminPort: (await portIsFree(config.proxyAdminPort)) ? config.proxyAdminPort : await freePort(),
    controllerMetricsPort: config.controllerMetricsPort !== undefined && (await portIsFree(config.controllerMetricsPort)) ? config.controllerMetricsPort : await freePort(),
  };
}

async function assertApiPortFree(port: number): Promise<void> {
  try {
    await assertPortFree('127.0.0.1', port);
  } catch (err) {
    throw new PortcullisError('PORT_IN_USE', `port ${port} on 127.0.0.1 is in use (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}): stop whatever listens there, or pass --api-port with another port (0 picks a free one)`);
  }
}

/**
 * Slots are claimed machine-wide, in a file per slot naming the cluster's directory: clusters
 * of other state roots (another PORTCULLIS_HOME, another clone) share this machine's
 * addresses, and two starting at once must not both take a slot whose bridge does not exist yet.
 * A claim whose cluster directory is gone is stale and taken over.
 */
const slotClaimsDir = () => process.env.PORTCULLIS_SLOT_DIR ?? '/run/portcullis/network-slots';

export function claimNetworkSlot(clusterDirectory: string): number {
  const clusterDir = resolve(clusterDirectory);
  const slotClaims = slotClaimsDir();
  mkdirSync(clusterDir, { recursive: true });
  mkdirSync(slotClaims, { recursive: true });
  const taken = new Set(listClusterConfigs().map((c) => c.networkIndex));
  for (let index = 0; index < maxNetworkSlots; index++) {
    if (taken.has(index) || existsSync(`/sys/class/net/${networkPlan(index).bridge}`)) continue;
    if (claimSlot(join(slotClaims, String(index)), clusterDir)) return index;
  }
  throw new PortcullisError('NO_NETWORK_SLOT', `all ${maxNetworkSlots} local cluster network slots are taken (claims in ${slotClaims}): delete a cluster with \`portcullis cluster down --name NAME\``);
}

function claimSlot(claim: string, clusterDir: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(claim, clusterDir, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readFileSync(claim, 'utf8');
    if (owner === clusterDir) return true;
    if (existsSync(owner)) return false;
    rmSync(claim, { force: true });
  }
  return false;
}

export function releaseNetworkSlot(index: number, clusterDirectory: string): void {
  const claim = join(slotClaimsDir(), String(index));
  if (existsSync(claim) && readFileSync(claim, 'utf8') === resolve(clusterDirectory)) rmSync(claim, { force: true });
}

async function startSupervisor(config: LocalClusterConfig, paths: ClusterPaths, binaries: ControlPlaneBinaries, progress: (line: string) => void): Promise<void> {
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.volumes, { recursive: true });
  await ensurePki(paths.pki, `https://127.0.0.1:${config.apiPort}`, config.bridgeAddress);
  writeFileSync(paths.kubeconfig, readFileSync(pkiFiles(paths.pki).kubeconfig('admin')), { mode: 0o600 });
  rmSync(paths.status, { force: true });
  progress(`starting etcd, kube-apiserver ${binaries.version}, kube-controller-manager and the node agent (logs: ${paths.logs})`);
  const log = openSync(join(paths.logs, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--enable-source-maps', distEntry('src/cluster/local/supervisor-main.js'), paths.dir, binaries.dir], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, [clusterDirEnv]: paths.dir },
  });
  closeSync(log);
  child.unref();
}

async function waitUntilUsable(cluster: StartedLocalCluster, timeoutMs: number, progress: (line: string) => void): Promise<void> {
  const { paths, config } = cluster;
  const deadline = Date.now() + timeoutMs;
  const timeLeft = () => {
    const left = deadline - Date.now();
    if (left <= 0) throw new PortcullisError('CLUSTER_NOT_READY', `cluster "${config.name}" was not ready within ${timeoutMs / 1000}s: see the logs in ${paths.logs}`);
    return left;
  };
  for (;;) {
    const status = readJsonFile<SupervisorStatus>(paths.status);
    if (status?.phase === 'failed') throw supervisorFailure(config, status);
    if (status?.phase === 'running') break;
    if (status && !supervisorPid(paths) && clusterProcesses(paths.dir).length === 0) {
      throw new PortcullisError('SUPERVISOR_DIED', `the cluster supervisor exited unexpectedly: see ${join(paths.logs, 'supervisor.log')}`);
    }
    timeLeft();
    await sleep(200);
  }
  const kc = cluster.kubeConfig();
  await waitFor({ what: 'kube-apiserver /readyz', timeoutMs: timeLeft() }, async () => ((await rawGet(kc, '/readyz', 2000)).status === 200 ? true : undefined));
  progress(`installing Gateway API ${config.gatewayApi.version} CRDs (${config.gatewayApi.channel} channel)`);
  await installGatewayApi(kc, config.gatewayApi.version, config.gatewayApi.channel, timeLeft());
  await applyObjects(kc, parseManifests(readFileSync(join(packageRoot, 'manifests', 'local', 'portcullis.yaml'), 'utf8')));
  const core = kc.makeApiClient(CoreV1Api);
  progress('waiting for the node to be Ready and the default ServiceAccount');
  for (;;) {
    if (await nodeReady(core, config.nodeName) && (await defaultServiceAccountExists(core))) return;
    const status = readJsonFile<SupervisorStatus>(paths.status);
    if (status?.phase === 'failed') throw supervisorFailure(config, status);
    timeLeft();
    await sleep(250);
  }
}

function supervisorFailure(config: LocalClusterConfig, status: SupervisorStatus): PortcullisError {
  const failure = status.failure ?? { component: 'supervisor', message: 'unknown failure' };
  const hint = failure.component === 'etcd'
    ? `the etcd data may be corrupt: run \`portcullis cluster down --name ${config.name}\` to delete the cluster, then \`portcullis cluster up\` again`
    : `see the logs under .portcullis/${config.name}/logs/, or run \`portcullis cluster down --name ${config.name}\` and try again`;
  return new PortcullisError('CLUSTER_FAILED', `${failure.component} failed: ${hint}\n${failure.message}`);
}

async function nodeReady(core: CoreV1Api, nodeName: string): Promise<boolean> {
  try {
    const node = await core.readNode({ name: nodeName });
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function defaultServiceAccountExists(core: CoreV1Api): Promise<boolean> {
  try {
    await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Stops every process of the cluster, removes its network and deletes its state directory. */
export async function deleteLocalCluster(name: string): Promise<boolean> {
  const paths = clusterPaths(name);
  if (!existsSync(paths.dir)) return false;
  await stopClusterProcesses(paths);
  const config = readClusterConfig(paths);
  if (config) await removeClusterNetwork(config);
  rmSync(paths.dir, { recursive: true, force: true });
  if (config) releaseNetworkSlot(config.networkIndex, paths.dir);
  return true;
}

export interface LocalClusterStatus {
  name: string;
  exists: boolean;
  phase?: SupervisorStatus['phase'] | 'stopped';
  apiServer?: string;
  kubeconfig?: string;
  components?: SupervisorStatus['components'];
  failure?: SupervisorStatus['failure'];
}

export function localClusterStatus(name: string): LocalClusterStatus {
  const paths = clusterPaths(name);
  const config = readClusterConfig(paths);
  if (!config) return { name, exists: false };
  const status = readJsonFile<SupervisorStatus>(paths.status);
  const alive = supervisorPid(paths) !== undefined;
  return {
    name,
    exists: true,
    phase: alive ? status?.phase : 'stopped',
    apiServer: `https://127.0.0.1:${config.apiPort}`,
    kubeconfig: paths.kubeconfig,
    components: status?.components,
    failure: status?.failure,
  };
}

export { stateRoot };
