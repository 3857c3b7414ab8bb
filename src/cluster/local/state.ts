// The on-disk layout and settings of one local cluster, under .portcullis/<cluster>/.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError } from '../../lib/errors.js';
import { stateRoot } from '../../lib/paths.js';

export interface LocalClusterConfig {
  name: string;
  kubernetesVersion: string;
  apiPort: number;
  etcdClientPort: number;
  etcdPeerPort: number;
  /** The proxy's admin API on 127.0.0.1, where the controller sends the IR. */
  proxyAdminPort: number;
  /** The controller's /healthz, /readyz and /metrics on 127.0.0.1 (absent in clusters created before it had them). */
  controllerMetricsPort?: number;
  /** Which slot of the machine's address plan this cluster holds (several clusters may coexist). */
  networkIndex: number;
  /** Pods live in network namespaces of their own, on a bridge, with addresses from this range. */
  podCIDR: string;
  bridge: string;
  bridgeAddress: string;
  /** Loopback range from which each Gateway gets its own address. */
  gatewayCIDR: string;
  nodeName: string;
  gatewayApi: { version: string; channel: GatewayApiChannel };
  createdAt: string;
}

export type GatewayApiChannel = 'standard' | 'experimental';

/** What the supervisor reports about the processes it runs. */
export interface SupervisorStatus {
  pid: number;
  phase: 'starting' | 'running' | 'failed' | 'stopping';
  /** Set when phase is failed: which component, and a sentence for a person. */
  failure?: { component: string; message: string };
  components: Record<string, { pid?: number; restarts: number; since: string }>;
  updatedAt: string;
}

export interface ClusterPaths {
  dir: string;
  config: string;
  kubeconfig: string;
  pki: string;
  etcdData: string;
  logs: string;
  volumes: string;
  supervisorPid: string;
  status: string;
}

const clusterNamePattern = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export function validateClusterName(name: string): string {
  if (!clusterNamePattern.test(name)) {
    throw new PortcullisError('BAD_CLUSTER_NAME', `cluster name "${name}" is not valid: use 1–32 lower-case letters, digits and dashes, e.g. --name default`);
  }
  return name;
}

export function clusterPaths(name: string, root = stateRoot()): ClusterPaths {
  const dir = join(root, validateClusterName(name));
  return {
    dir,
    config: join(dir, 'cluster.json'),
    kubeconfig: join(dir, 'kubeconfig'),
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    logs: join(dir, 'logs'),
    volumes: join(dir, 'volumes'),
    supervisorPid: join(dir, 'supervisor.pid'),
    status: join(dir, 'status.json'),
  };
}

export function readJsonFile<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Writes through a temporary file and a rename, so readers never see half a file. */
export function writeFileAtomic(file: string, contents: string, mode = 0o644): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents, { mode });
  renameSync(temporary, file);
}

export function readClusterConfig(paths: ClusterPaths): LocalClusterConfig | undefined {
  return readJsonFile<LocalClusterConfig>(paths.config);
}

export function writeClusterConfig(paths: ClusterPaths, config: LocalClusterConfig): void {
  mkdirSync(paths.dir, { recursive: true });
  writeFileAtomic(paths.config, JSON.stringify(config, null, 2) + '\n');
}

/** Every cluster config under the state root, to keep address plans apart. */
export function listClusterConfigs(root = stateRoot()): LocalClusterConfig[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((entry) => clusterNamePattern.test(entry))
    .map((entry) => readJsonFile<LocalClusterConfig>(join(root, entry, 'cluster.json')))
    .filter((config): config is LocalClusterConfig => config !== undefined);
}

/** The address plan of slot `index`: pods in 10.244.(16·index).0/20, Gateways in 127.(16+index).0.0/16. */
export function networkPlan(index: number): Pick<LocalClusterConfig, 'podCIDR' | 'bridge' | 'bridgeAddress' | 'gatewayCIDR'> {
  const third = index * 16;
  return {
    podCIDR: `10.244.${third}.0/20`,
    bridge: `pcbr${index}`,
    bridgeAddress: `10.244.${third}.1`,
    gatewayCIDR: `127.${16 + index}.0.0/16`,
  };
}

export const maxNetworkSlots = 16;
