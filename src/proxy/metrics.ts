// Prometheus metrics of the proxy (the generic parts are src/lib/metrics.ts): the data
// plane's, which every worker keeps and the primary sums, and the admin API's own.
import { heapUsedByGeneration, MetricsRegistry, type MetricsSnapshot } from '../lib/metrics.js';

/** The data plane's metrics: one instance per process that serves traffic. */
export class ProxyMetrics {
  readonly registry = new MetricsRegistry();

  readonly connectionsAccepted = this.registry.counter('portcullis_connections_accepted_total', 'Connections accepted, by listener.', ['listener']);
  readonly connectionsActive = this.registry.gauge('portcullis_connections_active', 'Connections open now, by listener.', ['listener']);
  readonly connectionsRejected = this.registry.counter(
    'portcullis_connections_rejected_total',
    'Connections the proxy closed before serving them, by listener and reason (bad ClientHello, unknown SNI, no route, upstream unreachable, ...).',
    ['listener', 'reason'],
  );
  readonly connectionErrors = this.registry.counter('portcullis_connection_errors_total', 'Socket errors on client connections (resets, broken pipes), by listener and code.', ['listener', 'code']);
  readonly tlsHandshakes = this.registry.counter(
    'portcullis_tls_handshakes_total',
    'TLS connections dispatched: mode="terminate" counts completed handshakes, mode="passthrough" ClientHellos forwarded to a backend.',
    ['listener', 'mode'],
  );
  readonly tlsHandshakeFailures = this.registry.counter(
    'portcullis_tls_handshake_failures_total',
    'TLS connections that failed before the handshake completed or before passthrough, by listener and reason.',
    ['listener', 'reason'],
  );
  readonly httpRequests = this.registry.counter('portcullis_http_requests_total', 'HTTP requests answered, by listener and status code.', ['listener', 'code']);
  readonly httpClientErrors = this.registry.counter(
    'portcullis_http_client_errors_total',
    'HTTP connections closed for a protocol error before a request was routed (headers timeout, header overflow, parse errors), by listener and reason.',
    ['listener', 'reason'],
  );
  readonly upstreamFailures = this.registry.counter('portcullis_upstream_failures_total', 'Failed attempts to reach a backend endpoint, by listener and reason.', ['listener', 'reason']);
  readonly streamConnections = this.registry.counter('portcullis_stream_connections_total', 'TCP and TLS passthrough streams relayed to a backend, by listener and kind.', ['listener', 'kind']);
  readonly streamBytes = this.registry.counter('portcullis_stream_bytes_total', 'Bytes relayed by TCP and passthrough streams, by listener and direction.', ['listener', 'direction']);
  readonly configVersion = this.registry.gauge('portcullis_worker_config_version_info', 'The configuration version this process serves (value 1).', ['version']);

  snapshot(): MetricsSnapshot {
    return this.registry.snapshot();
  }
}

const RESIDENT_MEMORY = 'portcullis_process_resident_memory_bytes';
const HEAP_USED = 'portcullis_process_heap_used_bytes';

/**
 * The memory of the process that answers, read when metrics are asked for: the primary
 * (the admin API, and the data plane too with --workers 1) as process="primary", each
 * worker as process="worker" (summed over the workers). RSS includes the node binary's
 * shared pages and V8's unused reserve. The V8 heap in use is split by generation: the
 * young one is new objects, mostly garbage until the next scavenge (up to a few MiB, which
 * an idle process may keep for a long time); the old one is what survived, plus garbage
 * until the next full collection: an upper bound on what the process holds. (The bench
 * reads the exact figure after forcing a collection: bench/lib/live-heap.ts.)
 */
export function processMemorySnapshot(role: 'primary' | 'worker'): MetricsSnapshot {
  const registry = new MetricsRegistry();
  registry.gauge(RESIDENT_MEMORY, 'Resident memory (RSS) of the proxy, by process: "primary" (the admin API; with --workers 1 also the data plane) and "worker" (summed over the worker processes).', ['process']).set([role], process.memoryUsage.rss());
  const heap = registry.gauge(HEAP_USED, 'V8 heap in use (live objects and garbage not yet collected) of the proxy, by process as in portcullis_process_resident_memory_bytes and by generation (young: new objects; old: survivors, code and large objects).', ['process', 'generation']);
  const used = heapUsedByGeneration();
  heap.set([role, 'young'], used.young);
  heap.set([role, 'old'], used.old);
  return registry.snapshot();
}

/** Gauges that are per-process counts and must be summed across workers. */
export const SUMMED_GAUGES: ReadonlySet<string> = new Set(['portcullis_connections_active', RESIDENT_MEMORY, HEAP_USED]);

/** The two steps of applying a configuration, as portcullis_config_apply_phase_seconds_total names them. */
export const applyPhases = ['validate', 'serve'] as const;
export type ApplyPhase = (typeof applyPhases)[number];

/** The control side's metrics (admin API process): config applies and rejections. */
export class ControlMetrics {
  readonly registry = new MetricsRegistry();

  readonly configApplies = this.registry.counter('portcullis_config_applies_total', 'Configurations applied (PUT /config answered 200).');
  readonly configRejections = this.registry.counter('portcullis_config_rejections_total', 'Configurations rejected, by reason (invalid, bind-failed, build-failed, ...).', ['reason']);
  readonly configVersion = this.registry.gauge('portcullis_config_version_info', 'The configuration version being served (value 1).', ['version']);
  readonly configLastApply = this.registry.gauge('portcullis_config_last_apply_timestamp_seconds', 'When the serving configuration was applied (Unix time).');
  readonly configApplyDuration = this.registry.gauge('portcullis_config_last_apply_duration_seconds', 'How long the last successful PUT /config took, validation to answer.');
  readonly applyPhaseSeconds = this.registry.counter(
    'portcullis_config_apply_phase_seconds_total',
    'Seconds spent on the applied configurations, summed, by phase: validate (the admin API parses and checks the IR) and serve (the admin API finds what changed since the serving configuration, then every data plane prepares and commits it: each worker compiles what changed and binds new ports).',
    ['phase'],
  );
  readonly workers = this.registry.gauge('portcullis_workers', 'Worker processes serving traffic.');

  snapshot(): MetricsSnapshot {
    return this.registry.snapshot();
  }
}
