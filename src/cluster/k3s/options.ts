// The K3s provider's pure part: what it passes to `@testcontainers/k3s`, for users
// with a container engine but no kind. This file imports no testcontainers; the
// provider applies the options like this (testcontainers-node's K3sContainer):
//
//   const started = await new K3sContainer(options.image)
//     .withCommand(options.command)            // replaces the module's default command
//     .withExposedPorts(...options.exposedPorts)
//     .withLabels(options.labels)
//     .withStartupTimeout(options.startupTimeoutMs)
//     .start();
//   writeFileSync(kubeconfigPath, started.getKubeConfig());
//   // a Gateway listener on port P answers on started.getMappedPort(P) of started.getHost()
//
// Images built locally reach K3s's containerd through an archive:
//   saveImagesCommand → copy the archive in → started.exec(importImagesExec(path)).
import { PortcullisError } from '../../lib/errors.js';
import type { CommandLine, ContainerEngine } from '../kind/commands.js';

/**
 * The K3s image testcontainers-node's own K3s module is tested with
 * (packages/modules/k3s/Dockerfile); any `rancher/k3s:v<k8s>-k3s<n>` tag works.
 */
export const defaultK3sImage = 'rancher/k3s:v1.37.1-k3s1';

/** The reference scenarios' listener ports: HTTP 80, HTTPS 443, passthrough TLS 8899. */
export const scenarioListenerPorts: readonly number[] = [80, 443, 8899];

export interface K3sOptionsInput {
  clusterName: string;
  image?: string;
  /** Gateway listener ports to reach from the host (through K3s's ServiceLB). */
  listenerPorts?: readonly number[];
  /** Extra `k3s server` flags. */
  serverArgs?: string[];
}

export interface K3sContainerOptions {
  image: string;
  /** The container command; K3sContainer uses it instead of its default `server --disable=traefik`. */
  command: string[];
  exposedPorts: number[];
  labels: Record<string, string>;
  startupTimeoutMs: number;
}

const imagePattern = /^(?:[\w.-]+(?::\d+)?\/)?rancher\/k3s:v\d+\.\d+\.\d+(?:-rc\d+)?-k3s\d+$/;

export function k3sContainerOptions(input: K3sOptionsInput): K3sContainerOptions {
  const image = input.image ?? defaultK3sImage;
  if (!imagePattern.test(image)) {
    throw new PortcullisError('BAD_K3S_IMAGE', `K3s image "${image}" is not a rancher/k3s release tag: use one like ${defaultK3sImage}`);
  }
  const ports = [...new Set(input.listenerPorts ?? scenarioListenerPorts)];
  const bad = ports.find((port) => !Number.isInteger(port) || port < 1 || port > 65535);
  if (bad !== undefined) throw new PortcullisError('BAD_PORT', `listener port ${bad} is outside 1–65535: fix the K3s provider's listenerPorts`);
  return {
    image,
    // Overriding the command drops the module's default, so `server` and the
    // Traefik opt-out are repeated: K3s's bundled Traefik would claim Ingresses and
    // ports 80/443 that belong to the implementation under test. ServiceLB stays on
    // because it gives our Gateways' LoadBalancer Services an address.
    command: ['server', '--disable=traefik', ...(input.serverArgs ?? [])],
    exposedPorts: ports,
    labels: { 'dev.portcullis.cluster': input.clusterName, 'dev.portcullis.provider': 'k3s' },
    startupTimeoutMs: 180_000,
  };
}

/**
 * The K3s image for `--k8s-version`: K3s tags name a full Kubernetes release and a K3s
 * build (`v1.35.4-k3s1`), so a full version is needed; the first K3s build of it is used.
 */
export function k3sImageFor(kubernetesVersion: string): string {
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(kubernetesVersion.trim());
  if (!match) {
    throw new PortcullisError('BAD_K8S_VERSION', `--k8s-version "${kubernetesVersion}" with --provider k3s must be a full Kubernetes release such as 1.35.4 (K3s publishes rancher/k3s:v<release>-k3s<n>); default: ${defaultK3sImage}`);
  }
  return `rancher/k3s:v${match[1]}-k3s1`;
}

export function saveImagesCommand(images: string[], archivePath: string, engine: ContainerEngine = 'docker'): CommandLine {
  return { command: engine, args: ['save', '-o', archivePath, ...images] };
}

/** Run inside the K3s container: imports an image archive into the namespace the kubelet uses. */
export function importImagesExec(archivePathInContainer: string): string[] {
  return ['ctr', '--namespace', 'k8s.io', 'images', 'import', archivePathInContainer];
}
