// The `k3s` provider: a K3s server in a container started through testcontainers
// (`@testcontainers/k3s`), for machines with Docker or Podman but no kind. Our images are
// built from the repository's Dockerfile, saved to an archive and imported into K3s's
// containerd; then the CRDs and Portcullis are installed. testcontainers is imported
// only here, and only when this provider is chosen.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { PortcullisError } from '../../lib/errors.js';
import { loadKubeConfig } from '../../lib/kube.js';
import { packageRoot, stateRoot } from '../../lib/paths.js';
import { buildPortcullisImagesCommands, portcullisImages } from '../kind/commands.js';
import { requireContainerEngine } from '../kind/detect.js';
import { installPortcullis } from '../kind/install.js';
import { runCommandLine, type KindProviderOptions } from '../kind/provider.js';
import { defaultK3sImage, importImagesExec, k3sContainerOptions, k3sImageFor, saveImagesCommand } from './options.js';

/** The same choices as the kind provider's. */
export type K3sProviderOptions = KindProviderOptions;

/** What the provider needs of a started K3s container (testcontainers' StartedK3sContainer). */
interface RunningK3s {
  stop(): Promise<unknown>;
  getId(): string;
}

export class StartedK3sCluster implements AsyncDisposable {
  constructor(readonly name: string, readonly kubeconfigPath: string, private readonly container: RunningK3s) {}

  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  async down(): Promise<void> {
    await this.container.stop();
  }

  /** The container keeps running after this process (`--keep-cluster`): say how to remove it. */
  get removeHint(): string {
    return `docker rm -f ${this.container.getId().slice(0, 12)}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

export async function startK3sCluster(options: K3sProviderOptions): Promise<StartedK3sCluster> {
  const engine = await requireContainerEngine('k3s');
  const name = options.name ?? 'portcullis-conformance';
  const stateDir = join(stateRoot(), `k3s-${name}`);
  mkdirSync(stateDir, { recursive: true });
  const container = k3sContainerOptions({ clusterName: name, image: options.kubernetesVersion ? k3sImageFor(options.kubernetesVersion) : defaultK3sImage });
  const builds = buildPortcullisImagesCommands(packageRoot, engine);
  for (const [index, line] of builds.entries()) {
    options.progress(`building image ${portcullisImages[index]!.tag}`);
    await runCommandLine(line, 'k3s');
  }
  const archive = join(stateDir, 'images.tar');
  await runCommandLine(saveImagesCommand(portcullisImages.map((image) => image.tag), archive, engine), 'k3s');

  options.progress(`starting ${container.image} through testcontainers`);
  const { K3sContainer } = await import('@testcontainers/k3s');
  const started = await new K3sContainer(container.image)
    .withCommand(container.command)
    .withExposedPorts(...container.exposedPorts)
    .withLabels(container.labels)
    .withStartupTimeout(container.startupTimeoutMs)
    .start();
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, started.getKubeConfig(), { mode: 0o600 });
  const cluster = new StartedK3sCluster(name, kubeconfigPath, started);
  try {
    const inContainer = '/tmp/portcullis-images.tar';
    await started.copyFilesToContainer([{ source: archive, target: inContainer }]);
    const imported = await started.exec(importImagesExec(inContainer));
    if (imported.exitCode !== 0) throw new PortcullisError('IMAGE_IMPORT_FAILED', `importing our images into K3s failed (${imported.output.trim().split('\n').at(-1)}): check the archive ${archive}`);
    await installPortcullis(cluster.kubeConfig(), { gatewayApiVersion: options.gatewayApiVersion, channel: options.channel, progress: options.progress });
    return cluster;
  } catch (err) {
    if (!options.keepCluster) await cluster.down().catch(() => {});
    throw err;
  }
}
