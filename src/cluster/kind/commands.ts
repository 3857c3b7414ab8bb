// The exact command lines the kind provider runs, as data: built here, run by the
// provider with runCommand, printed with formatCommand. Flags are those of kind's
// own commands (pkg/cmd/kind/{create,load,export,delete}) and of cloud-provider-kind.
export type ContainerEngine = 'docker' | 'podman';

export interface CommandLine {
  command: string;
  args: string[];
  /** Variables to add to the inherited environment. */
  env?: Record<string, string>;
}

/** kind drives Docker unless told otherwise; Podman is its experimental provider. */
function kindEnv(engine: ContainerEngine): Record<string, string> | undefined {
  return engine === 'podman' ? { KIND_EXPERIMENTAL_PROVIDER: 'podman' } : undefined;
}

function kind(args: string[], engine: ContainerEngine): CommandLine {
  const env = kindEnv(engine);
  return env ? { command: 'kind', args, env } : { command: 'kind', args };
}

export interface CreateClusterOptions {
  name: string;
  configPath: string;
  kubeconfigPath: string;
  /** How long kind waits for the control plane to be Ready (a Go duration). */
  wait?: string;
  engine?: ContainerEngine;
}

export function createClusterCommand(options: CreateClusterOptions): CommandLine {
  return kind(
    ['create', 'cluster', '--name', options.name, '--config', options.configPath, '--wait', options.wait ?? '5m', '--kubeconfig', options.kubeconfigPath],
    options.engine ?? 'docker',
  );
}

export function deleteClusterCommand(name: string, kubeconfigPath: string, engine: ContainerEngine = 'docker'): CommandLine {
  return kind(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfigPath], engine);
}

/** Collects node, container and component logs into `dir` (on failure, before delete). */
export function exportLogsCommand(name: string, dir: string, engine: ContainerEngine = 'docker'): CommandLine {
  return kind(['export', 'logs', dir, '--name', name], engine);
}

export interface BuildImageOptions {
  tag?: string;
  /** A stage of a multi-stage Dockerfile (`--target`). */
  target?: string;
  dockerfile?: string;
  context?: string;
  engine?: ContainerEngine;
}

export function buildImageCommand(options: BuildImageOptions = {}): CommandLine {
  const target = options.target ? ['--target', options.target] : [];
  return { command: options.engine ?? 'docker', args: ['build', ...target, '-t', options.tag ?? 'portcullis:dev', '-f', options.dockerfile ?? 'Dockerfile', options.context ?? '.'] };
}

/** The images a container-based provider builds from the repository's Dockerfile: its stage and its tag. */
export const portcullisImages = [
  { target: 'portcullis', tag: 'portcullis/portcullis:dev' },
  { target: 'echo', tag: 'portcullis/echo:dev' },
] as const;

/** Manifests name the echo image without a tag (the local node maps it to a program); clusters run the built one. */
export const scenarioImageOverrides: Record<string, string> = { 'portcullis/echo': 'portcullis/echo:dev' };

/** `docker build --target <stage> -t <tag>` for each image, from the repository root. */
export function buildPortcullisImagesCommands(repositoryRoot: string, engine: ContainerEngine = 'docker'): CommandLine[] {
  return portcullisImages.map((image) => buildImageCommand({ engine, target: image.target, tag: image.tag, dockerfile: `${repositoryRoot.replace(/\/$/, '')}/Dockerfile`, context: repositoryRoot }));
}

/**
 * Puts locally built images on every node. `kind load docker-image` reads images
 * with the `docker` CLI whatever the provider, so with Podman the images are saved
 * to an archive first and loaded with `kind load image-archive`.
 */
export function loadImagesCommands(name: string, images: string[], engine: ContainerEngine = 'docker', archivePath = 'portcullis-images.tar'): CommandLine[] {
  if (engine === 'docker') return [kind(['load', 'docker-image', '--name', name, ...images], engine)];
  return [
    { command: 'podman', args: ['save', '-o', archivePath, ...images] },
    kind(['load', 'image-archive', '--name', name, archivePath], engine),
  ];
}

/**
 * cloud-provider-kind gives LoadBalancer Services (our Gateways) an address. It ships
 * its own Gateway API controller and a default Ingress controller; both are turned
 * off so the implementation under test is the only one answering.
 */
export function cloudProviderKindCommand(): CommandLine {
  return { command: 'cloud-provider-kind', args: ['--gateway-channel', 'disabled', '--enable-default-ingress=false'] };
}

/**
 * kubeadm labels the control plane as excluded from external load balancers; with no
 * workers our Gateways run there, so the label is removed (cloud-provider-kind README).
 */
export function allowLoadBalancersOnControlPlaneCommand(name: string, kubeconfigPath: string): CommandLine {
  return { command: 'kubectl', args: ['--kubeconfig', kubeconfigPath, 'label', 'node', `${name}-control-plane`, 'node.kubernetes.io/exclude-from-external-load-balancers-'] };
}

/** A command line as a person would type it, for progress lines and error messages. */
export function formatCommand(line: CommandLine): string {
  const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
  const env = Object.entries(line.env ?? {}).map(([name, value]) => `${name}=${quote(value)}`);
  return [...env, line.command, ...line.args].map((word, index) => (index < env.length ? word : quote(word))).join(' ');
}
