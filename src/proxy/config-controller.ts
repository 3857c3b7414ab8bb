// The admin API's side of PUT /config: parse, validate (src/ir/validate.ts), then have
// every data plane prepare the config, and commit only if all of them could — else roll
// all of them back, so the last good config keeps serving everywhere. One apply at a
// time: a second PUT waits for the first.
import { validateConfig } from '../ir/validate.js';
import type { ProxyConfig } from '../ir/types.js';
import type { Logger } from '../lib/log.js';
import { redactConfig } from './config-state.js';
import { reuseUnchanged } from './config-delta.js';
import type { PrepareFailure, PrepareResult } from './data-plane.js';
import type { MetricsSnapshot } from '../lib/metrics.js';
import type { ControlMetrics } from './metrics.js';

/** The data planes one admin API drives: this process, or every cluster worker. */
export interface DataPlaneGroup {
  /**
   * Prepares `config` on every member, then commits on all of them — or, if any member
   * failed, rolls all of them back and reports the first failure. `json` is the same
   * config as the PUT carried it (already validated): what worker processes are sent.
   */
  apply(config: ProxyConfig, json: string): Promise<PrepareResult>;
  metrics(): Promise<MetricsSnapshot[]>;
  /** Members currently able to serve (workers alive). */
  readonly size: number;
}

export interface ApplyAnswer {
  status: number;
  body: Record<string, unknown>;
}

const FAILURE_STATUS: Record<PrepareFailure['error'], number> = {
  LISTENER_BIND_FAILED: 409,
  CONFIG_BUILD_FAILED: 400,
  WORKER_UNAVAILABLE: 503,
};

const FAILURE_METRIC: Record<PrepareFailure['error'], string> = {
  LISTENER_BIND_FAILED: 'bind-failed',
  CONFIG_BUILD_FAILED: 'build-failed',
  WORKER_UNAVAILABLE: 'worker-unavailable',
};

export class ConfigController {
  private applied: { config: ProxyConfig; appliedAt: Date } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly group: DataPlaneGroup,
    private readonly metrics: ControlMetrics,
    private readonly log: Logger,
  ) {}

  /** The serving config, private keys redacted; undefined before the first apply. */
  currentRedacted(): { config: ProxyConfig; appliedAt: Date } | undefined {
    return this.applied ? { config: redactConfig(this.applied.config), appliedAt: this.applied.appliedAt } : undefined;
  }

  /** The serving config as applied (workers that restart get it). */
  current(): ProxyConfig | undefined {
    return this.applied?.config;
  }

  get ready(): boolean {
    return this.applied !== undefined && this.group.size > 0;
  }

  apply(body: string): Promise<ApplyAnswer> {
    const run = this.queue.then(() => this.applyNow(body));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(body: string): Promise<ApplyAnswer> {
    const started = performance.now();
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      return this.reject('invalid-json', 400, { error: 'INVALID_JSON', message: `the body is not JSON: ${(error as Error).message}` });
    }
    const validation = validateConfig(parsed);
    if (!validation.ok) {
      return this.reject('invalid', 400, {
        error: 'IR_INVALID',
        message: `the proxy configuration is invalid (${validation.problems.length} problem${validation.problems.length === 1 ? '' : 's'}); the previous configuration keeps serving`,
        problems: validation.problems.map((problem) => problem.toJSON()),
      });
    }
    const config = validation.config;
    const validated = performance.now();
    const prepared = await this.group.apply(config, body);
    if (!prepared.ok) {
      const { failure } = prepared;
      return this.reject(FAILURE_METRIC[failure.error], FAILURE_STATUS[failure.error], { ...failure });
    }
    this.applied = { config, appliedAt: new Date() };
    const done = performance.now();
    const seconds = (done - started) / 1000;
    this.metrics.configApplies.inc([]);
    this.metrics.applyPhaseSeconds.inc(['validate'], (validated - started) / 1000);
    this.metrics.applyPhaseSeconds.inc(['serve'], (done - validated) / 1000);
    this.metrics.configVersion.clear();
    this.metrics.configVersion.set([config.version], 1);
    this.metrics.configLastApply.set([], Math.round(Date.now() / 1000));
    this.metrics.configApplyDuration.set([], seconds);
    this.log.info('configuration accepted', { version: config.version, listeners: config.listeners.length, applyMs: Math.round(seconds * 1000), validateMs: Math.round(validated - started) });
    return {
      status: 200,
      body: {
        version: config.version,
        appliedAt: this.applied.appliedAt.toISOString(),
        listeners: config.listeners.map((l) => ({ name: l.name, address: l.address, port: l.port, protocol: l.protocol })),
      },
    };
  }

  private reject(reason: string, status: number, body: Record<string, unknown>): ApplyAnswer {
    this.metrics.configRejections.inc([reason]);
    this.log.warn('configuration rejected', { reason, status, message: body['message'], servingVersion: this.applied?.config.version });
    return { status, body: { ...body, servingVersion: this.applied?.config.version ?? null } };
  }
}

/** The single-process group: this process's own data plane. */
export class LocalDataPlaneGroup implements DataPlaneGroup {
  readonly size = 1;

  constructor(private readonly dataPlane: { readonly config: ProxyConfig | undefined; prepare(config: ProxyConfig): Promise<PrepareResult>; commit(): unknown; rollback(): void; metrics(): MetricsSnapshot }) {}

  async apply(config: ProxyConfig): Promise<PrepareResult> {
    // The serving config's objects where nothing changed, so compile reuses what it built for them.
    const prepared = await this.dataPlane.prepare(reuseUnchanged(config, this.dataPlane.config));
    if (prepared.ok) this.dataPlane.commit();
    else this.dataPlane.rollback();
    return prepared;
  }

  async metrics(): Promise<MetricsSnapshot[]> {
    return [this.dataPlane.metrics()];
  }
}
