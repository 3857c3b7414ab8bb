// Everything the local node runs for one Pod: its network namespace and address,
// its volumes, its containers with restarts and readiness, and the Pod status
// that follows from them.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1EnvVar, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';
import { errorMessage } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import { clusterDirEnv, podUidEnv } from '../cleanup.js';
import type { LocalClusterConfig } from '../state.js';
import { ContainerProcess } from './container.js';
import { knownImages, resolveImage } from './images.js';
import { createPodNetwork, deletePodNetwork, type AddressPool, type PodNetwork } from './network.js';
import { readinessCheck } from './probes.js';
import { fieldValue, materializeVolumes, type VolumeSources } from './volumes.js';

export interface SandboxContext {
  config: LocalClusterConfig;
  clusterDir: string;
  volumesRoot: string;
  logsRoot: string;
  addresses: AddressPool;
  sources: VolumeSources;
  log: Logger;
  /** Called whenever something the Pod status shows has changed. */
  changed: (sandbox: PodSandbox) => void;
}

const fastProbeMs = 500;

export class PodSandbox {
  network?: PodNetwork;
  /** Why the Pod cannot start (unknown image, volume failure), shown in its status. */
  blocked?: { reason: string; message: string };
  readonly containers: ContainerProcess[];
  private volumes = new Map<string, string>();
  private stopped = false;
  private timers = new Set<NodeJS.Timeout>();
  private readonly startTime = new Date();

  constructor(public pod: V1Pod, private readonly ctx: SandboxContext) {
    const containers = pod.spec?.containers ?? [];
    this.containers = containers.map((c) => new ContainerProcess(c.name, c.image ?? '', undefined));
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  get key(): string {
    return `${this.pod.metadata!.namespace}/${this.pod.metadata!.name}`;
  }

  private get volumesDir(): string {
    return join(this.ctx.volumesRoot, this.uid);
  }

  /** First start: images, volumes, network, then every container. */
  async start(): Promise<void> {
    const specs = this.pod.spec?.containers ?? [];
    const unknown = specs.filter((c) => !resolveImage(c));
    if (unknown.length > 0) {
      const message = `image ${unknown.map((c) => `"${c.image}"`).join(', ')} is not in the local node's image table (known: ${knownImages().join(', ')}); add it to src/cluster/local/node-agent/images.ts or use a known image`;
      this.block('ErrImagePull', message);
      return;
    }
    if (!(await this.syncVolumes())) return;
    const preferred = this.pod.status?.podIP;
    const address = this.ctx.addresses.allocate(preferred);
    try {
      this.network = await createPodNetwork(this.ctx.config, this.uid, address);
    } catch (err) {
      this.ctx.addresses.release(address);
      this.block('CreatePodSandboxError', errorMessage(err));
      return;
    }
    this.blocked = undefined;
    specs.forEach((spec, index) => this.startContainer(spec, this.containers[index]!));
    this.ctx.changed(this);
  }

  /** Rewrites the Pod's volumes from the current Secrets and ConfigMaps; false when one cannot be set up. */
  async syncVolumes(): Promise<boolean> {
    try {
      this.volumes = await materializeVolumes(this.pod, this.volumesDir, this.ctx.sources);
      if (this.blocked?.reason === 'ContainerCreating') {
        this.blocked = undefined;
      }
      return true;
    } catch (err) {
      this.block('ContainerCreating', errorMessage(err));
      return false;
    }
  }

  get started(): boolean {
    return this.network !== undefined;
  }

  private block(reason: string, message: string): void {
    const changed = this.blocked?.message !== message;
    this.blocked = { reason, message };
    for (const container of this.containers) container.phase = { state: 'waiting', reason, message };
    if (changed) {
      this.ctx.log.warn('pod cannot start', { pod: this.key, reason, message });
      this.ctx.changed(this);
    }
  }

  private environment(spec: V1Container): Record<string, string> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      HOSTNAME: this.pod.metadata!.name!,
      [clusterDirEnv]: this.ctx.clusterDir,
      [podUidEnv]: this.uid,
    };
    const namespace = this.pod.metadata!.namespace!;
    for (const source of spec.envFrom ?? []) {
      const data = source.secretRef
        ? Object.fromEntries(Object.entries(this.ctx.sources.secret(namespace, source.secretRef.name!)?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
        : (this.ctx.sources.configMap(namespace, source.configMapRef?.name ?? '')?.data ?? {});
      for (const [key, value] of Object.entries(data)) env[(source.prefix ?? '') + key] = value;
    }
    for (const variable of spec.env ?? []) env[variable.name] = this.envValue(variable, env);
    return env;
  }

  private envValue(variable: V1EnvVar, env: Record<string, string>): string {
    if (variable.value !== undefined) return expandReferences(variable.value, env);
    const from = variable.valueFrom;
    const namespace = this.pod.metadata!.namespace!;
    if (from?.fieldRef) return fieldValue(this.podWithAddress(), from.fieldRef.fieldPath);
    if (from?.secretKeyRef) {
      const value = this.ctx.sources.secret(namespace, from.secretKeyRef.name!)?.data?.[from.secretKeyRef.key];
      return value === undefined ? '' : Buffer.from(value, 'base64').toString();
    }
    if (from?.configMapKeyRef) return this.ctx.sources.configMap(namespace, from.configMapKeyRef.name!)?.data?.[from.configMapKeyRef.key] ?? '';
    return '';
  }

  private podWithAddress(): V1Pod {
    return { ...this.pod, status: { ...this.pod.status, podIP: this.network?.address, hostIP: this.ctx.config.bridgeAddress } };
  }

  private startContainer(spec: V1Container, container: ContainerProcess): void {
    if (this.stopped || !this.network) return;
    const program = resolveImage(spec)!;
    const env = this.environment(spec);
    const args = program.args.map((arg) => expandReferences(arg, env));
    const logFile = join(this.ctx.logsRoot, `${this.pod.metadata!.namespace}_${this.pod.metadata!.name}_${spec.name}.log`);
    const probe = readinessCheck(spec, this.network.address);
    container.start({ pod: this.pod, container: spec, program: { ...program, args }, env, netns: this.network.netns, volumes: this.volumes, logFile }, (code) =>
      this.onContainerExit(spec, container, code),
    );
    if (!probe) container.ready = true;
    else this.probeUntilReady(container, probe, spec.readinessProbe?.periodSeconds ?? 10);
    this.ctx.changed(this);
  }

  /**
   * Probes every half second until the first success (the kubelet would wait a whole
   * period), then every periodSeconds; failureThreshold failures in a row mark it unready.
   */
  private probeUntilReady(container: ContainerProcess, probe: () => Promise<boolean>, periodSeconds: number): void {
    let failures = 0;
    const failureThreshold = 3;
    const tick = async () => {
      if (this.stopped || !container.running) return;
      const ok = await probe();
      if (this.stopped || !container.running) return;
      failures = ok ? 0 : failures + 1;
      const ready = ok || (container.ready && failures < failureThreshold);
      if (ready !== container.ready) {
        container.ready = ready;
        this.ctx.changed(this);
      }
      this.schedule(tick, container.ready ? periodSeconds * 1000 : fastProbeMs);
    };
    this.schedule(tick, 0);
  }

  private schedule(fn: () => Promise<void> | void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void fn();
    }, ms);
    this.timers.add(timer);
  }

  private onContainerExit(spec: V1Container, container: ContainerProcess, code: number | null): void {
    if (this.stopped) return;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const restart = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
    this.ctx.log.info('container exited', { pod: this.key, container: spec.name, code, restart });
    if (restart) {
      container.lastTermination = container.phase;
      container.restartCount++;
      const backoff = Math.min(30_000, 1000 * 2 ** Math.min(container.restartCount - 1, 5));
      container.phase = { state: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${backoff / 1000}s restarting failed container=${spec.name} pod=${this.pod.metadata!.name}` };
      this.schedule(() => this.startContainer(spec, container), backoff);
    }
    this.ctx.changed(this);
  }

  /** Stops every container (SIGTERM, then SIGKILL after the grace period) and removes network and volumes. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.containers.map((c) => c.stop(graceSeconds)));
    if (this.network) {
      await deletePodNetwork(this.network.netns);
      this.ctx.addresses.release(this.network.address);
    }
    rmSync(this.volumesDir, { recursive: true, force: true });
  }

  status(): V1PodStatus {
    const statuses = this.containers.map((c) => c.status());
    const allTerminated = this.containers.every((c) => c.phase.state === 'terminated' && !c.running);
    const willRestart = (this.pod.spec?.restartPolicy ?? 'Always') === 'Always';
    let phase = 'Pending';
    if (this.started && !this.blocked) {
      phase = 'Running';
      if (allTerminated && !willRestart) {
        phase = this.containers.every((c) => c.phase.state === 'terminated' && c.phase.exitCode === 0) ? 'Succeeded' : 'Failed';
      }
    }
    const ready = this.started && !this.blocked && this.containers.every((c) => c.ready);
    const now = new Date();
    const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => ({
      type,
      status: ok ? 'True' : 'False',
      lastTransitionTime: this.previousTransition(type, ok) ?? now,
      ...(ok || !reason ? {} : { reason }),
    });
    return {
      phase,
      hostIP: this.ctx.config.bridgeAddress,
      hostIPs: [{ ip: this.ctx.config.bridgeAddress }],
      podIP: this.network?.address,
      podIPs: this.network ? [{ ip: this.network.address }] : [],
      startTime: this.pod.status?.startTime ?? this.startTime,
      conditions: [
        condition('PodReadyToStartContainers', this.started),
        condition('Initialized', true),
        condition('Ready', ready, 'ContainersNotReady'),
        condition('ContainersReady', ready, 'ContainersNotReady'),
        condition('PodScheduled', true),
      ],
      containerStatuses: statuses,
      message: this.blocked?.message,
      reason: undefined,
    };
  }

  /** Keeps lastTransitionTime stable while a condition does not change. */
  private previousTransition(type: string, ok: boolean): Date | undefined {
    const previous = this.pod.status?.conditions?.find((c) => c.type === type);
    if (previous && previous.status === (ok ? 'True' : 'False') && previous.lastTransitionTime) return new Date(previous.lastTransitionTime);
    return undefined;
  }
}

/** Expands $(VAR) references as Kubernetes does for env values, command and args; $$ escapes. */
export function expandReferences(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in env ? env[name]! : match;
  });
}
