// The controller's Prometheus metrics (families and text format: src/lib/metrics.ts),
// served on --metrics-address with /healthz and /readyz (health-server.ts).
//
// A change's time to be served is split the way the "proxy programmed" log line splits
// it: waiting for the pass (debounce, or a pass already running), translating, serializing
// and programming the proxy (its PUT /config, which answers once every worker serves the
// configuration). The *_seconds_total counters sum each phase over the programs that
// applied, so rate(phase) / rate(programs) is the mean time of that phase.
import { heapUsedByGeneration, MetricsRegistry, type MetricsSnapshot } from '../lib/metrics.js';
import type { Snapshot } from './gatewayapi-types.js';

export const programPhases = ['wait', 'translate', 'serialize', 'program'] as const;
export type ProgramPhase = (typeof programPhases)[number];
export type ProgramResultKind = 'applied' | 'rejected' | 'unreachable';

/** The snapshot's lists, by the kind a person would name them. */
const WATCHED_KINDS: Record<keyof Snapshot, string> = {
  gatewayClasses: 'GatewayClass',
  gateways: 'Gateway',
  httpRoutes: 'HTTPRoute',
  grpcRoutes: 'GRPCRoute',
  tlsRoutes: 'TLSRoute',
  tcpRoutes: 'TCPRoute',
  referenceGrants: 'ReferenceGrant',
  backendTlsPolicies: 'BackendTLSPolicy',
  ingresses: 'Ingress',
  ingressClasses: 'IngressClass',
  services: 'Service',
  endpointSlices: 'EndpointSlice',
  secrets: 'Secret',
  configMaps: 'ConfigMap',
  namespaces: 'Namespace',
};

export class ControllerMetrics {
  private readonly registry = new MetricsRegistry();

  readonly passes = this.registry.counter('portcullis_controller_passes_total', 'Reconcile passes, by kind: "translate" (a spec changed) or "status" (only statuses moved; the last translation is reused).', ['kind']);
  readonly passFailures = this.registry.counter('portcullis_controller_pass_failures_total', 'Reconcile passes that failed (the proxy keeps its last good configuration; the pass is retried).');
  readonly programs = this.registry.counter('portcullis_controller_programs_total', 'Configurations sent to the proxy, by result: applied, rejected (the proxy answered with an error) or unreachable.', ['result']);
  readonly phaseSeconds = this.registry.counter(
    'portcullis_controller_program_phase_seconds_total',
    'Seconds spent, summed over the applied programs, by phase: wait (from the first change to its pass), translate, serialize, program (the proxy\'s PUT /config).',
    ['phase'],
  );
  readonly lastPhaseSeconds = this.registry.gauge('portcullis_controller_last_program_phase_seconds', 'The phases of the last applied program, in seconds (see portcullis_controller_program_phase_seconds_total).', ['phase']);
  readonly proxyVersion = this.registry.gauge('portcullis_controller_proxy_config_version_info', 'The configuration version the proxy was last programmed with (value 1).', ['version']);
  readonly proxyProgrammed = this.registry.gauge('portcullis_controller_proxy_programmed', '1 if the last attempt to program the proxy succeeded, else 0.');
  readonly statusPatches = this.registry.counter('portcullis_controller_status_patches_total', 'Status subresources patched.');
  readonly writesStatus = this.registry.gauge('portcullis_controller_writes_status', '1 if this replica writes status (the only replica, or the leader), else 0.');
  readonly watched = this.registry.gauge('portcullis_controller_watched_objects', 'Objects in the controller\'s caches at its last pass, by kind.', ['kind']);
  private readonly residentMemory = this.registry.gauge('portcullis_controller_resident_memory_bytes', 'Resident memory (RSS) of the controller process.');
  private readonly heapUsed = this.registry.gauge('portcullis_controller_heap_used_bytes', 'V8 heap in use by the controller (live objects and garbage not yet collected), by generation (young: new objects; old: survivors, code and large objects).', ['generation']);

  /** One applied program's phases, in milliseconds. */
  programmed(version: string, phasesMs: Record<ProgramPhase, number>): void {
    this.programs.inc(['applied']);
    for (const [phase, ms] of Object.entries(phasesMs)) {
      this.phaseSeconds.inc([phase], ms / 1000);
      this.lastPhaseSeconds.set([phase], ms / 1000);
    }
    this.proxyVersion.clear();
    this.proxyVersion.set([version], 1);
    this.proxyProgrammed.set([], 1);
  }

  programFailed(result: Exclude<ProgramResultKind, 'applied'>): void {
    this.programs.inc([result]);
    this.proxyProgrammed.set([], 0);
  }

  countWatched(snapshot: Snapshot): void {
    for (const [list, kind] of Object.entries(WATCHED_KINDS)) this.watched.set([kind], snapshot[list as keyof Snapshot].length);
  }

  snapshot(): MetricsSnapshot {
    this.residentMemory.set([], process.memoryUsage.rss());
    const used = heapUsedByGeneration();
    this.heapUsed.set(['young'], used.young);
    this.heapUsed.set(['old'], used.old);
    return this.registry.snapshot();
  }
}
