// The supervisor of one local cluster: a detached process that starts etcd, the
// API server, the controller manager and the node agent in order, waits for each
// to be ready, restarts what crashes (with capped backoff), reports what it sees
// in status.json, and on SIGTERM stops everything in reverse order.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { errorMessage } from '../../lib/errors.js';
import { loadKubeConfig, rawGet } from '../../lib/kube.js';
import { createLogger } from '../../lib/log.js';
import { sleep } from '../../lib/process.js';
import type { ComponentSpec } from './components.js';
import { pkiFiles } from './pki.js';
import { writeFileAtomic, type ClusterPaths, type SupervisorStatus } from './state.js';

const log = createLogger('supervisor');
/** A component that exits this many times in a row, each within `quickExitMs` of starting, is failed. */
const maxQuickExits = 4;
const quickExitMs = 10_000;
const readyTimeoutMs = 90_000;

interface RunningComponent {
  spec: ComponentSpec;
  child?: ChildProcess;
  restarts: number;
  quickExits: number;
  startedAt: number;
  exited?: Promise<void>;
}

export class Supervisor {
  private readonly components: RunningComponent[];
  private stopping = false;
  private readonly status: SupervisorStatus;

  constructor(private readonly paths: ClusterPaths, specs: ComponentSpec[]) {
    this.components = specs.map((spec) => ({ spec, restarts: 0, quickExits: 0, startedAt: 0 }));
    this.status = { pid: process.pid, phase: 'starting', components: {}, updatedAt: new Date().toISOString() };
  }

  async run(): Promise<void> {
    writeFileSync(this.paths.supervisorPid, `${process.pid}\n`);
    process.on('SIGTERM', () => void this.stop(0));
    process.on('SIGINT', () => void this.stop(0));
    this.writeStatus();
    for (const component of this.components) {
      this.start(component);
      try {
        await this.waitReady(component);
      } catch (err) {
        this.fail(component.spec.name, errorMessage(err));
        return;
      }
      log.info('component ready', { name: component.spec.name });
    }
    this.status.phase = 'running';
    this.writeStatus();
  }

  private start(component: RunningComponent): void {
    const { spec } = component;
    const logFile = openSync(join(this.paths.logs, `${spec.name}.log`), 'a');
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', logFile, logFile], env: process.env });
    closeSync(logFile);
    component.child = child;
    component.startedAt = Date.now();
    component.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => log.error('component could not start', { name: spec.name, err }));
    child.once('exit', (code, signal) => this.onExit(component, code, signal));
    this.status.components[spec.name] = { pid: child.pid, restarts: component.restarts, since: new Date().toISOString() };
    this.writeStatus();
  }

  private onExit(component: RunningComponent, code: number | null, signal: NodeJS.Signals | null): void {
    component.child = undefined;
    if (this.stopping) return;
    const { name } = component.spec;
    const quick = Date.now() - component.startedAt < quickExitMs;
    component.quickExits = quick ? component.quickExits + 1 : 0;
    log.warn('component exited', { name, code, signal, quickExits: component.quickExits });
    if (component.quickExits >= maxQuickExits) {
      this.fail(name, `${name} exited ${component.quickExits} times in a row right after starting (last exit code ${code ?? signal}); its log ends:\n${this.tail(name)}`);
      return;
    }
    component.restarts++;
    const delay = Math.min(30_000, 500 * 2 ** component.quickExits);
    setTimeout(() => {
      if (!this.stopping && !component.child) this.start(component);
    }, delay);
  }

  private async waitReady(component: RunningComponent): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    const url = component.spec.readyUrl;
    for (;;) {
      if (this.status.phase === 'failed') throw new Error(this.status.failure?.message ?? 'failed');
      if (!url) {
        if (component.child && Date.now() - component.startedAt > 1000) return;
      } else if (await this.isReady(url)) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`${component.spec.name} was not ready within ${readyTimeoutMs / 1000}s; its log ends:\n${this.tail(component.spec.name)}`);
      }
      await sleep(200);
    }
  }

  private async isReady(url: string): Promise<boolean> {
    try {
      if (url.startsWith('https:')) {
        const kc = loadKubeConfig(pkiFiles(this.paths.pki).kubeconfig('admin'));
        return (await rawGet(kc, new URL(url).pathname, 2000)).status === 200;
      }
      return await new Promise<boolean>((resolve) => {
        const request = http.get(url, { timeout: 2000 }, (response) => {
          response.resume();
          resolve(response.statusCode === 200);
        });
        request.on('timeout', () => request.destroy());
        request.on('error', () => resolve(false));
      });
    } catch {
      return false;
    }
  }

  private tail(name: string, lines = 8): string {
    try {
      const text = readFileSync(join(this.paths.logs, `${name}.log`), 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private fail(component: string, message: string): void {
    if (this.status.phase === 'failed') return;
    log.error('cluster failed', { component, message });
    this.status.phase = 'failed';
    this.status.failure = { component, message };
    this.writeStatus();
    void this.stop(1);
  }

  private async stop(exitCode: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.status.phase !== 'failed') this.status.phase = 'stopping';
    this.writeStatus();
    for (const component of [...this.components].reverse()) {
      await this.stopComponent(component);
    }
    log.info('all components stopped');
    process.exit(exitCode);
  }

  private async stopComponent(component: RunningComponent): Promise<void> {
    const child = component.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([component.exited!.then(() => true), sleep(component.spec.stopGraceSeconds * 1000).then(() => false)]);
    if (!killed) {
      log.warn('component did not stop in time; killing it', { name: component.spec.name });
      child.kill('SIGKILL');
      await component.exited;
    }
  }

  private writeStatus(): void {
    this.status.updatedAt = new Date().toISOString();
    writeFileAtomic(this.paths.status, JSON.stringify(this.status, null, 2) + '\n');
  }
}
