// Prometheus metrics: counters and gauges with labels, kept as plain maps so a process
// can ship a snapshot to another over IPC and the receiver can sum them (the proxy's
// node:cluster workers each count their own connections). Text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/). The proxy's families
// are in src/proxy/metrics.ts, the controller's in src/controller/metrics.ts.
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
 * Merges snapshots of the same families taken in several processes (e.g. the proxy's
 * workers and its primary): counters are summed; a gauge is summed when `sumGauges` names
 * it (a per-process count, such as active connections), else the last snapshot's value
 * stands (one every process reports alike, such as the config version).
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

const YOUNG_SPACES: ReadonlySet<string> = new Set(['new_space', 'new_large_object_space']);

/** The V8 heap in use by generation: young (new objects, mostly garbage until the next scavenge) and old (survivors, code, large objects). */
export function heapUsedByGeneration(): { young: number; old: number } {
  const used = { young: 0, old: 0 };
  for (const space of v8.getHeapSpaceStatistics()) used[YOUNG_SPACES.has(space.space_name) ? 'young' : 'old'] += space.space_used_size;
  return used;
}

/**
 * Samples of a Prometheus text exposition, by name with labels as written
 * (`portcullis_http_requests_total{listener="web",code="200"}`) — what renderPrometheus
 * writes, read back by the tests and the bench.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}
