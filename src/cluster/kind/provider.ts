// The `kind` provider: a kind cluster from a rendered config on the pinned node image
// of --k8s-version, our images built from the repository's Dockerfile and loaded onto
// the node, cloud-provider-kind giving LoadBalancer Services (the Gateways) an address,
// then the CRDs and Portcullis installed. `kind export logs` on failure; `down()` deletes it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { PortcullisError } from '../../lib/errors.js';
import { loadKubeConfig } from '../../lib/kube.js';
import { packageRoot, stateRoot } from '../../lib/paths.js';
import { commandExists, runCommand } from '../../lib/process.js';
import type { GatewayApiChannel } from '../local/state.js';
import {
  allowLoadBalancersOnControlPlaneCommand, buildPortcullisImagesCommands, cloudProviderKindCommand, createClusterCommand, deleteClusterCommand, exportLogsCommand,
  formatCommand, loadImagesCommands, portcullisImages, type CommandLine, type ContainerEngine,
} from './commands.js';
import { renderKindConfig } from './config.js';
import { requireKindEnvironment } from './detect.js';
import { installPortcullis } from './install.js';
import { defaultKindNodeImage, nodeImageFor } from './node-images.js';

export interface KindPlanInput {
  name: string;
  /** `--k8s-version`; the pinned release's newest image when absent. */
  kubernetesVersion?: string;
  engine: ContainerEngine;
  stateDir: string;
  repositoryRoot: string;
}

export interface KindPlan {
  configPath: string;
  kubeconfigPath: string;
  /** The kind config file's contents. */
  config: string;
  nodeImage: string;
  /** Run in order; then cloudProvider in the background. */
  commands: { step: string; line: CommandLine }[];
  cloudProvider: CommandLine;
}

/** Everything the provider will run, as data (unit-tested; kind cannot run on our machines). */
export function kindPlan(input: KindPlanInput): KindPlan {
  const node = input.kubernetesVersion ? nodeImageFor(input.kubernetesVersion) : defaultKindNodeImage;
  const configPath = join(input.stateDir, 'kind.yaml');
  const kubeconfigPath = join(input.stateDir, 'kubeconfig');
  const images = portcullisImages.map((image) => image.tag);
  return {
    configPath,
    kubeconfigPath,
    config: renderKindConfig({ name: input.name, nodeImage: node.image }),
    nodeImage: node.image,
    commands: [
      { step: `creating kind cluster "${input.name}" (Kubernetes ${node.kubernetesVersion})`, line: createClusterCommand({ name: input.name, configPath, kubeconfigPath, engine: input.engine }) },
      ...buildPortcullisImagesCommands(input.repositoryRoot, input.engine).map((line, i) => ({ step: `building image ${images[i]}`, line })),
      ...loadImagesCommands(input.name, images, input.engine, join(input.stateDir, 'images.tar')).map((line) => ({ step: 'loading the images onto the node', line })),
      { step: 'letting LoadBalancer Services use the control-plane node', line: allowLoadBalancersOnControlPlaneCommand(input.name, kubeconfigPath) },
    ],
    cloudProvider: cloudProviderKindCommand(),
  };
}

/** Runs a built command line; a missing program or a non-zero exit is one line naming the command. */
export async function runCommandLine(line: CommandLine, provider = 'kind'): Promise<void> {
  const result = await runCommand(line.command, line.args, { env: { ...process.env, ...line.env } }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new PortcullisError('MISSING_TOOL', `\`${line.command}\` is not on PATH: install it to use --provider ${provider}, or use --provider local`);
    throw err;
  });
  if (result.code !== 0) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new PortcullisError('COMMAND_FAILED', `\`${formatCommand(line)}\` exited with ${result.code}: ${detail}`);
  }
}

export interface KindProviderOptions {
  name?: string;
  kubernetesVersion?: string;
  gatewayApiVersion: string;
  channel: GatewayApiChannel;
  /** Keep the cluster when set-up fails, to look at it. */
  keepCluster?: boolean;
  progress: (line: string) => void;
}

export class StartedKindCluster implements AsyncDisposable {
  constructor(
    readonly name: string,
    readonly kubeconfigPath: string,
    private readonly engine: ContainerEngine,
    private cloudProvider?: ChildProcess,
  ) {}

  kubeConfig(): KubeConfig {
    return loadKubeConfig(this.kubeconfigPath);
  }

  /** cloud-provider-kind, started once the node is set up; stopped by down(). */
  startCloudProvider(line: CommandLine, logFd: number): void {
    this.cloudProvider = spawn(line.command, line.args, { stdio: ['ignore', logFd, logFd], env: { ...process.env, KUBECONFIG: this.kubeconfigPath } });
  }

  /** Node, container and component logs into `dir`, for a failed run. */
  async exportLogs(dir: string): Promise<void> {
    await runCommandLine(exportLogsCommand(this.name, dir, this.engine));
  }

  async down(): Promise<void> {
    this.cloudProvider?.kill('SIGTERM');
    this.cloudProvider = undefined;
    await runCommandLine(deleteClusterCommand(this.name, this.kubeconfigPath, this.engine));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

export async function startKindCluster(options: KindProviderOptions): Promise<StartedKindCluster> {
  const environment = await requireKindEnvironment();
  const name = options.name ?? 'portcullis-conformance';
  const plan = kindPlan({ name, kubernetesVersion: options.kubernetesVersion, engine: environment.engine, stateDir: join(stateRoot(), `kind-${name}`), repositoryRoot: packageRoot });
  if (!(await commandExists(plan.cloudProvider.command))) {
    throw new PortcullisError('MISSING_TOOL', '`cloud-provider-kind` is not on PATH (it gives Gateways their LoadBalancer address): `go install sigs.k8s.io/cloud-provider-kind@v0.11.1`, or use --provider local');
  }
  mkdirSync(join(stateRoot(), `kind-${name}`), { recursive: true });
  writeFileSync(plan.configPath, plan.config);
  options.progress(`kind ${environment.kindVersion} on ${environment.engine}; node image ${plan.nodeImage}`);
  const [create, ...rest] = plan.commands;
  options.progress(create!.step);
  await runCommandLine(create!.line);
  const log = openSync(join(stateRoot(), `kind-${name}`, 'cloud-provider-kind.log'), 'a');
  const cluster = new StartedKindCluster(name, plan.kubeconfigPath, environment.engine);
  try {
    for (const { step, line } of rest) {
      options.progress(step);
      await runCommandLine(line);
    }
    options.progress(`starting ${formatCommand(plan.cloudProvider)} (log: ${join(stateRoot(), `kind-${name}`, 'cloud-provider-kind.log')})`);
    cluster.startCloudProvider(plan.cloudProvider, log);
    await installPortcullis(cluster.kubeConfig(), { gatewayApiVersion: options.gatewayApiVersion, channel: options.channel, progress: options.progress });
    return cluster;
  } catch (err) {
    const logs = join(packageRoot, 'reports', 'kind-logs');
    options.progress(`setting up the kind cluster failed; its logs go to ${logs}`);
    await cluster.exportLogs(logs).catch(() => {});
    if (!options.keepCluster) await cluster.down().catch(() => {});
    throw err;
  } finally {
    closeSync(log);
  }
}
