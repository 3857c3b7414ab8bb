// One container of a Pod, run as a process inside the Pod's network namespace with a
// private mount namespace where its volumes are bind-mounted at their mountPaths.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { ContainerCommand } from './images.js';
import type { ProbeCheck } from './probes.js';

const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export interface ContainerLaunch {
  pod: V1Pod;
  container: V1Container;
  program: ContainerCommand;
  env: Record<string, string>;
  netns: string;
  volumes: Map<string, string>;
  logFile: string;
}

/** The shell prologue that mounts the volumes, then execs the program (so signals reach it). */
function mountScript(launch: ContainerLaunch): string {
  const lines = ['set -e'];
  for (const mount of launch.container.volumeMounts ?? []) {
    const base = launch.volumes.get(mount.name);
    if (!base) continue;
    const source = mount.subPath ? join(base, mount.subPath) : base;
    const target = shellQuote(mount.mountPath);
    lines.push(`if [ -d ${shellQuote(source)} ]; then mkdir -p ${target}; else mkdir -p "$(dirname ${target})"; [ -e ${target} ] || touch ${target}; fi`);
    lines.push(`mount --bind ${shellQuote(source)} ${target}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  }
  lines.push('exec "$@"');
  return lines.join('\n');
}

export type ContainerPhase =
  | { state: 'waiting'; reason: string; message?: string }
  | { state: 'running'; startedAt: string }
  | { state: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string; signal?: string };

export class ContainerProcess {
  phase: ContainerPhase = { state: 'waiting', reason: 'ContainerCreating' };
  lastTermination?: ContainerPhase;
  restartCount = 0;
  ready = false;
  private child?: ChildProcess;
  private exitWaiters: (() => void)[] = [];

  constructor(readonly name: string, readonly image: string, readonly readiness: ProbeCheck | undefined) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(launch: ContainerLaunch, onExit: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    mkdirSync(join(launch.logFile, '..'), { recursive: true });
    const log = openSync(launch.logFile, 'a');
    const argv = [launch.program.command, ...launch.program.args];
    const child = spawn('ip', ['netns', 'exec', launch.netns, 'sh', '-c', mountScript(launch), 'container', ...argv], {
      stdio: ['ignore', log, log],
      cwd: launch.container.workingDir ?? tmpdir(),
      env: { ...launch.env, ...launch.program.env },
    });
    closeSync(log);
    const startedAt = new Date().toISOString();
    this.child = child;
    this.ready = false;
    this.phase = { state: 'running', startedAt };
    child.once('exit', (code, signal) => {
      this.child = undefined;
      this.ready = false;
      this.phase = {
        state: 'terminated',
        exitCode: code ?? 128 + (signal ? 9 : 0),
        reason: code === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt: new Date().toISOString(),
        ...(signal ? { signal } : {}),
      };
      for (const resolve of this.exitWaiters.splice(0)) resolve();
      onExit(code, signal);
    });
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`. Resolves once the process is gone. */
  async stop(graceSeconds: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceSeconds) * 1000);
    await exited;
    clearTimeout(timer);
  }

  status(): V1ContainerStatus {
    return {
      name: this.name,
      image: this.image,
      imageID: `portcullis-local://${this.image}`,
      containerID: this.child?.pid ? `portcullis-local://${this.child.pid}` : undefined,
      ready: this.ready,
      started: this.phase.state === 'running',
      restartCount: this.restartCount,
      state: toState(this.phase),
      lastState: this.lastTermination ? toState(this.lastTermination) : {},
    };
  }
}

function toState(phase: ContainerPhase): V1ContainerState {
  switch (phase.state) {
    case 'waiting':
      return { waiting: { reason: phase.reason, message: phase.message } };
    case 'running':
      return { running: { startedAt: new Date(phase.startedAt) } };
    case 'terminated':
      return {
        terminated: {
          exitCode: phase.exitCode,
          reason: phase.reason,
          startedAt: new Date(phase.startedAt),
          finishedAt: new Date(phase.finishedAt),
          ...(phase.signal ? { signal: 0, message: `killed by ${phase.signal}` } : {}),
        },
      };
  }
}
