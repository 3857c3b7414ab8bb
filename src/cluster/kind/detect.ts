// Whether this machine can run the kind provider: a working container engine
// (`docker info`, else `podman info`) and the `kind` binary (`kind version`).
// `--provider auto` asks probeKindEnvironment; `--provider kind` asks
// requireKindEnvironment and stops with the one line that says what to install.
import { PortcullisError } from '../../lib/errors.js';
import { runCommand, type CommandResult } from '../../lib/process.js';
import type { ContainerEngine } from './commands.js';
import { pinnedKindVersion } from './node-images.js';

/** Runs a command and collects its output; rejects (ENOENT) when it is not installed. */
export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

export interface KindEnvironment {
  engine: ContainerEngine;
  /** e.g. `v0.33.0`, from `kind version`. */
  kindVersion: string;
}

export type KindProbe = { available: true; environment: KindEnvironment } | { available: false; error: PortcullisError };

type Attempt = { outcome: 'ok'; stdout: string } | { outcome: 'missing' } | { outcome: 'failed'; detail: string };

async function attempt(run: CommandRunner, command: string, args: string[]): Promise<Attempt> {
  try {
    const result = await run(command, args);
    if (result.code === 0) return { outcome: 'ok', stdout: result.stdout };
    const detail = (result.stderr || result.stdout).split('\n').map((line) => line.trim()).find(Boolean) ?? `exit code ${result.code}`;
    return { outcome: 'failed', detail };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'missing' };
    throw err;
  }
}

const fallback = 'or use --provider local';

async function findEngine(run: CommandRunner, provider = 'kind'): Promise<ContainerEngine | PortcullisError> {
  const failures: string[] = [];
  for (const engine of ['docker', 'podman'] as const) {
    const result = await attempt(run, engine, ['info']);
    if (result.outcome === 'ok') return engine;
    if (result.outcome === 'failed') failures.push(`\`${engine} info\` failed (${result.detail})`);
  }
  if (failures.length === 0) {
    return new PortcullisError('NO_CONTAINER_ENGINE', `the ${provider} provider needs Docker or Podman and neither is on PATH: install one, ${fallback}`);
  }
  return new PortcullisError('CONTAINER_ENGINE_NOT_RUNNING', `${failures.join('; ')}: start the engine's daemon or give your user access to it, ${fallback}`);
}

const install = `install kind ${pinnedKindVersion} (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)`;

async function findKind(run: CommandRunner): Promise<string | PortcullisError> {
  const result = await attempt(run, 'kind', ['version']);
  if (result.outcome === 'missing') return new PortcullisError('NO_KIND', `the kind binary is not on PATH: ${install}, ${fallback}`);
  if (result.outcome === 'failed') return new PortcullisError('KIND_BROKEN', `\`kind version\` failed (${result.detail}): ${install}, ${fallback}`);
  // `kind version` prints e.g. "kind v0.33.0 go1.25.4 linux/amd64".
  const version = /^kind (v\d+\.\d+\.\d+\S*)/.exec(result.stdout.trim())?.[1];
  if (!version) return new PortcullisError('KIND_BROKEN', `\`kind version\` printed "${result.stdout.trim()}", not a kind version: ${install}, ${fallback}`);
  return version;
}

export async function probeKindEnvironment(run: CommandRunner = runCommand): Promise<KindProbe> {
  const engine = await findEngine(run);
  if (engine instanceof PortcullisError) return { available: false, error: engine };
  const kindVersion = await findKind(run);
  if (kindVersion instanceof PortcullisError) return { available: false, error: kindVersion };
  return { available: true, environment: { engine, kindVersion } };
}

export async function requireKindEnvironment(run: CommandRunner = runCommand): Promise<KindEnvironment> {
  const probe = await probeKindEnvironment(run);
  if (!probe.available) throw probe.error;
  return probe.environment;
}

/** The container engine for a provider that needs one but not kind (k3s through testcontainers). */
export async function requireContainerEngine(provider: string, run: CommandRunner = runCommand): Promise<ContainerEngine> {
  const engine = await findEngine(run, provider);
  if (engine instanceof PortcullisError) throw engine;
  return engine;
}
