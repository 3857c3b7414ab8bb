// Prometheus metrics of the proxy: counters and gauges with labels, kept as plain maps
// so a worker can ship a snapshot to the primary over IPC and the primary can sum them
// (node:cluster workers each count their own connections). Text exposition format
// 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Label values are bounded by the configuration (listener names) or by fixed reason
// strings; never put a client-supplied value (Host, SNI, path) in a label.
import v8 from 'node:v8';

export type MetricType = 'counter' | 'gauge';

/** One metric family as shipped between processes: label values joined by NUL → value. */
export interface MetricFamilySnapshot {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  samples: [labelKey: string, value: number][];
}

export type MetricsSnapshot = MetricFamilySnapshot[];

const LABEL_SEPARATOR = '\u0000';

abstract class MetricFamily {
  protected readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
  ) {}

  protected keyOf(labelValues: readonly string[]): string {
    return labelValues.length === 1 ? labelValues[0]! : labelValues.join(LABEL_SEPARATOR);
  }

  snapshot(): MetricFamilySnapshot {
    return { name: this.name, help: this.help, type: this.type, labelNames: this.labelNames, samples: [...this.values] };
  }
}

export class Counter extends MetricFamily {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'counter', labelNames);
  }

  inc(labelValues: readonly string[], by = 1): void {
    const key = this.keyOf(labelValues);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** inc([first, second]) without the array, for counters bumped on every request. */
  incPair(first: string, second: string, by = 1): void {
    const key = first + LABEL_SEPARATOR + second;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

export class Gauge extends MetricFamily {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'gauge', labelNames);
  }

  set(labelValues: readonly string[], value: number): void {
    this.values.set(this.keyOf(labelValues), value);
  }

  add(labelValues: readonly string[], by: number): void {
    const key = this.keyOf(labelValues);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** Drops every sample (e.g. the config version info when a new version replaces it). */
  clear(): void {
    this.values.clear();
  }
}

export class MetricsRegistry {
  private readonly families: MetricFamily[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const counter = new Counter(name, help, labelNames);
    this.families.push(counter);
    return counter;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    const gauge = new Gauge(name, help, labelNames);
    this.families.push(gauge);
    return gauge;
  }

  snapshot(): MetricsSnapshot {
    return this.families.map((family) => family.snapshot());
  }
}

/**
 * Sums snapshots of the same families (one per worker, plus the primary's own):
 * counters and gauges alike, since every gauge here is a per-process count
 * (active connections) or identical in every process (config info).
 */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[], sumGauges: ReadonlySet<string> = new Set()): MetricsSnapshot {
  const merged = new Map<string, { family: MetricFamilySnapshot; values: Map<string, number> }>();
  for (const snapshot of snapshots) {
    for (const family of snapshot) {
      let entry = merged.get(family.name);
      if (!entry) {
        entry = { family, values: new Map() };
        merged.set(family.name, entry);
      }
      const summed = family.type === 'counter' || sumGauges.has(family.name);
      for (const [key, value] of family.samples) {
        entry.values.set(key, summed ? (entry.values.get(key) ?? 0) + value : value);
      }
    }
  }
  return [...merged.values()].map(({ family, values }) => ({ ...family, samples: [...values] }));
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Prometheus text exposition format 0.0.4. Families without samples still get HELP and TYPE. */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const family of snapshot) {
    lines.push(`# HELP ${family.name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    const samples = [...family.samples].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key, value] of samples) {
      if (family.labelNames.length === 0) {
        lines.push(`${family.name} ${formatValue(value)}`);
        continue;
      }
      const labelValues = family.labelNames.length === 1 ? [key] : key.split(LABEL_SEPARATOR);
      const labels = family.labelNames.map((name, i) => `${name}="${escapeLabelValue(labelValues[i] ?? '')}"`).join(',');
      lines.push(`${family.name}{${labels}} ${formatValue(value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

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
  for (const space of v8.getHeapSpaceStatistics()) heap.add([role, YOUNG_SPACES.has(space.space_name) ? 'young' : 'old'], space.space_used_size);
  return registry.snapshot();
}

const YOUNG_SPACES: ReadonlySet<string> = new Set(['new_space', 'new_large_object_space']);

/** Gauges that are per-process counts and must be summed across workers. */
export const SUMMED_GAUGES: ReadonlySet<string> = new Set(['portcullis_connections_active', RESIDENT_MEMORY, HEAP_USED]);

/** The control side's metrics (admin API process): config applies and rejections. */
export class ControlMetrics {
  readonly registry = new MetricsRegistry();

  readonly configApplies = this.registry.counter('portcullis_config_applies_total', 'Configurations applied (PUT /config answered 200).');
  readonly configRejections = this.registry.counter('portcullis_config_rejections_total', 'Configurations rejected, by reason (invalid, bind-failed, build-failed, ...).', ['reason']);
  readonly configVersion = this.registry.gauge('portcullis_config_version_info', 'The configuration version being served (value 1).', ['version']);
  readonly configLastApply = this.registry.gauge('portcullis_config_last_apply_timestamp_seconds', 'When the serving configuration was applied (Unix time).');
  readonly configApplyDuration = this.registry.gauge('portcullis_config_last_apply_duration_seconds', 'How long the last successful PUT /config took, validation to answer.');
  readonly workers = this.registry.gauge('portcullis_workers', 'Worker processes serving traffic.');

  snapshot(): MetricsSnapshot {
    return this.registry.snapshot();
  }
}
