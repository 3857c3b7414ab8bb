// One process's data plane: the configuration it serves and the sockets it listens on.
// Applying a config is prepare (compile, bind new ports) then commit (swap, retire the
// old generation) or rollback — the two steps let the primary of several workers commit
// only once every worker prepared successfully.
import type { ProxyConfig } from '../ir/types.js';
import { PortcullisError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { compileConfig, SecureContextCache, type RuntimeConfig } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import { ListenerBindError, ListenerManager, type BindFailure, type PreparedListeners } from './listener-manager.js';
import type { MetricsSnapshot } from '../lib/metrics.js';
import { UpstreamRegistry } from './upstream-pools.js';

/** Why a prepare failed, as the admin API reports it. */
export type PrepareFailure =
  | { error: 'LISTENER_BIND_FAILED'; message: string; listeners: BindFailure[] }
  | { error: 'CONFIG_BUILD_FAILED'; message: string; code: string }
  | { error: 'WORKER_UNAVAILABLE'; message: string };

export type PrepareResult = { ok: true } | { ok: false; failure: PrepareFailure };

export class DataPlane {
  private current: RuntimeConfig | undefined;
  private pending: PreparedListeners | undefined;
  private readonly contexts: SecureContextCache;
  private readonly upstreams: UpstreamRegistry;
  private readonly listeners: ListenerManager;
  private readonly log: Logger;
  /** Committed configs whose generation still has connections (the newest included). */
  private readonly live = new Set<RuntimeConfig>();

  constructor(private readonly context: DataPlaneContext) {
    this.contexts = new SecureContextCache(context.options.ticketKeys);
    this.upstreams = new UpstreamRegistry(context.options);
    this.listeners = new ListenerManager(context);
    this.log = context.log;
  }

  get version(): string | undefined {
    return this.current?.version;
  }

  /** The committed config's IR: what a diff from the primary builds on. */
  get config(): ProxyConfig | undefined {
    return this.current?.ir;
  }

  async prepare(config: ProxyConfig): Promise<PrepareResult> {
    if (this.pending) this.rollback();
    let runtime: RuntimeConfig;
    try {
      runtime = compileConfig(config, { contexts: this.contexts, upstreams: this.upstreams, options: this.context.options }, this.current);
    } catch (error) {
      const code = error instanceof PortcullisError ? error.code : 'ERR_BUILD';
      return { ok: false, failure: { error: 'CONFIG_BUILD_FAILED', code, message: errorMessage(error) } };
    }
    try {
      this.pending = await this.listeners.prepare(runtime);
      return { ok: true };
    } catch (error) {
      runtime.generation.retire(); // releases what compile acquired
      if (error instanceof ListenerBindError) return { ok: false, failure: { error: 'LISTENER_BIND_FAILED', message: error.message, listeners: error.failures } };
      return { ok: false, failure: { error: 'CONFIG_BUILD_FAILED', code: 'ERR_PREPARE', message: errorMessage(error) } };
    }
  }

  commit(): string | undefined {
    const prepared = this.pending;
    if (!prepared) return this.current?.version;
    this.pending = undefined;
    this.listeners.commit(prepared);
    this.contexts.adopt(prepared.config.secureContexts);
    const previous = this.current;
    this.current = prepared.config;
    this.live.add(prepared.config);
    prepared.config.generation.onDispose(() => this.live.delete(prepared.config));
    previous?.generation.retire();
    const staleKeepAlive = previous?.closeStaleConnectionsWhenIdle(prepared.config) ?? 0;
    this.context.metrics.configVersion.clear();
    this.context.metrics.configVersion.set([prepared.config.version], 1);
    this.log.info('configuration applied', {
      version: prepared.config.version,
      previousVersion: previous?.version,
      listeners: prepared.config.ir.listeners.map((l) => `${l.name} ${l.protocol} ${l.address}:${l.port}`),
      retiredConnections: previous?.generation.openConnections ?? 0,
      reused: prepared.config.reuse,
      staleKeepAliveConnections: staleKeepAlive,
      pid: process.pid,
    });
    return prepared.config.version;
  }

  rollback(): void {
    const prepared = this.pending;
    if (!prepared) return;
    this.pending = undefined;
    this.listeners.rollback(prepared);
    prepared.config.generation.retire();
  }

  metrics(): MetricsSnapshot {
    return this.context.metrics.snapshot();
  }

  /**
   * Graceful shutdown: stop accepting, ask every client to move on (HTTP/2 GOAWAY,
   * `Connection: close` on the next HTTP/1.1 answer, idle keep-alive connections closed
   * after a short grace, HttpFrontend.closeWhenIdle), let requests and streams in flight finish for up to `timeoutMs`, then cut
   * whatever is left. Resolves with how many connections had to be cut.
   */
  async drain(timeoutMs: number): Promise<{ cut: number }> {
    this.rollback();
    this.listeners.closeAll();
    this.current?.generation.retire();
    for (const config of this.live) config.closeAllConnectionsWhenIdle();
    const deadline = performance.now() + timeoutMs;
    while (this.listeners.openConnections > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, deadline - performance.now()))));
    }
    const cut = this.listeners.openConnections;
    this.listeners.destroyOpenConnections();
    return { cut };
  }

  close(): void {
    this.rollback();
    this.listeners.closeAll();
    this.current?.generation.retire();
  }
}
