// The kind cluster configuration file (kind.x-k8s.io/v1alpha4 Cluster), rendered from
// a few options. Field names follow kind's pkg/apis/config/v1alpha4/types.go.
import { stringify } from 'yaml';
import { PortcullisError } from '../../lib/errors.js';

export interface PortMapping {
  /** Port inside the node container (a NodePort, or a hostPort of a Pod). */
  containerPort: number;
  /** Port on the machine running kind. */
  hostPort: number;
  /** Host address to bind; kind's default is 0.0.0.0, ours is loopback only. */
  listenAddress?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface KindClusterOptions {
  name: string;
  /** A `kindest/node` image reference, pinned by digest (see node-images.ts). */
  nodeImage: string;
  /** Worker nodes beside the control plane; 0 runs workloads on the control plane. */
  workers?: number;
  /** Mappings on the control-plane node. */
  portMappings?: PortMapping[];
}

export interface KindNode {
  role: 'control-plane' | 'worker';
  image: string;
  extraPortMappings?: Required<PortMapping>[];
}

export interface KindClusterConfig {
  kind: 'Cluster';
  apiVersion: 'kind.x-k8s.io/v1alpha4';
  name: string;
  networking: { apiServerAddress: string };
  nodes: KindNode[];
}

/** kind's cluster names become container and kubeconfig context names: a DNS label. */
const clusterNamePattern = /^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$/;

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

export function kindClusterConfig(options: KindClusterOptions): KindClusterConfig {
  if (!clusterNamePattern.test(options.name)) {
    throw new PortcullisError('BAD_CLUSTER_NAME', `kind cluster name "${options.name}" is not valid: use lowercase letters, digits and '-', at most 50 characters`);
  }
  const mappings = (options.portMappings ?? []).map((mapping) => {
    if (!validPort(mapping.containerPort) || !validPort(mapping.hostPort)) {
      throw new PortcullisError('BAD_PORT', `port mapping ${mapping.hostPort}→${mapping.containerPort} has a port outside 1–65535: fix the kind provider's portMappings`);
    }
    return { containerPort: mapping.containerPort, hostPort: mapping.hostPort, listenAddress: mapping.listenAddress ?? '127.0.0.1', protocol: mapping.protocol ?? 'TCP' };
  });
  const hostPorts = mappings.map((mapping) => `${mapping.listenAddress}:${mapping.hostPort}/${mapping.protocol}`);
  const duplicate = hostPorts.find((port, index) => hostPorts.indexOf(port) !== index);
  if (duplicate) throw new PortcullisError('BAD_PORT', `host port ${duplicate} is mapped twice: give each mapping its own hostPort`);

  const controlPlane: KindNode = { role: 'control-plane', image: options.nodeImage };
  if (mappings.length > 0) controlPlane.extraPortMappings = mappings;
  const workers = Array.from({ length: options.workers ?? 0 }, (): KindNode => ({ role: 'worker', image: options.nodeImage }));
  return {
    kind: 'Cluster',
    apiVersion: 'kind.x-k8s.io/v1alpha4',
    name: options.name,
    // The API server on loopback only: a conformance cluster needs no remote access.
    networking: { apiServerAddress: '127.0.0.1' },
    nodes: [controlPlane, ...workers],
  };
}

export function renderKindConfig(options: KindClusterOptions): string {
  return stringify(kindClusterConfig(options), { lineWidth: 0 });
}
