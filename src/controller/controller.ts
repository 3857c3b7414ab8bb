// The control loop: caches change → (debounced) snapshot → translate → program the
// proxy → hand the statuses to the status lane. One pass at a time; changes during a
// pass cause one more. Status writes run beside the passes, not inside them: a change
// that arrives while statuses are being written is programmed at once instead of
// waiting for them (a round of writes takes ≈ 10 ms per object PATCHed), and the lane
// writes only the newest pass's statuses once it is free.
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { createSelfSignedCertificate } from '../lib/certs.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { MetricsSnapshot } from '../lib/metrics.js';
import type { TlsCertificate } from '../ir/types.js';
import { LoopbackAddressPool, anyAddress, publishOnService, serviceAddresses } from './addresses.js';
import type { Snapshot } from './gatewayapi-types.js';
import type { Translation } from './translate/model.js';
import { LeaderElector } from './leader/lease-election.js';
import { programProxy, serializeConfig } from './program/proxy-client.js';
import { EventRecorder } from './status/events.js';
import { StatusWriter, type ProgrammingState } from './status/writer.js';
import { translate, type TranslateOptions } from './translate/index.js';
import { ClusterCaches, type ChangeKind } from './watch/informers.js';
import { supportedFeatures } from './features.js';
import type { ControllerHealth } from './health-server.js';
import { ControllerMetrics } from './metrics.js';

/**
 * - `loopback` (the local provider): each Gateway its own loopback address from `cidr`.
 * - `service` (in a cluster): the proxy binds 0.0.0.0; status publishes the address of
 *   the proxy Service `namespace/name`.
 */
export type AddressMode = { kind: 'loopback'; cidr: string } | { kind: 'service'; namespace: string; name: string };

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

/** Which objects are ours: several installs can share a cluster under different names. */
export interface ServedClasses {
  gatewayControllerName: string;
  ingressClassName: string;
  ingressControllerName: string;
}

export interface ControllerOptions {
  kc: KubeConfig;
  log: Logger;
  proxyAdminUrl: string;
  addressMode: AddressMode;
  classes: ServedClasses;
  /** Where Ingresses are served: 80 and 443 unless told otherwise. */
  ingressPorts?: { http: number; https: number };
  /** Absent: this is the only replica, and always writes status. */
  leaderElection?: LeaderElectionSettings;
  debounceMs?: number;
}

/**
 * How long a pass waits after a change for more changes to come with it. Short: it is
 * part of every change's time to be served (bench measurement 5), and a burst that
 * outlasts it costs one more pass at most (changes during a pass make one more).
 */
const DEBOUNCE_MS = 10;

/** How many changed objects a pass's debug line names, of each kind of change. */
const MAX_NAMED_CHANGES = 20;

/** What of a translation the status lane uses (not the IR, which can be megabytes of PEM). */
type StatusesOf = Pick<Translation, 'statuses' | 'warnings'>;

/** What one pass decided about statuses, waiting for the status lane. */
interface StatusRound {
  snapshot: Snapshot;
  decided: StatusesOf;
  versions: Partial<Record<keyof Snapshot, string>>;
  programming: ProgrammingState;
}

export class Controller implements ControllerHealth {
  private readonly caches: ClusterCaches;
  private readonly counters = new ControllerMetrics();
  private readonly writer: StatusWriter;
  private readonly events: EventRecorder;
  private readonly pool?: LoopbackAddressPool;
  private readonly elector?: LeaderElector;
  private defaultCertificate?: TlsCertificate;
  private lastApplied?: string;
  private programming: ProgrammingState = { applied: false };
  private timer?: NodeJS.Timeout;
  /** performance.now() of the first change not yet taken by a pass. */
  private changedAt?: number;
  /** A change not yet taken by a pass needs a new translation (not only a status look). */
  private specChanged = true;
  /** The objects changed since the last pass, as the pass's debug line names them. */
  private changes = { spec: new Set<string>(), status: new Set<string>() };
  /** The last translation's statuses, which a pass for status changes alone reuses. */
  private lastDecided?: StatusesOf;
  private running = false;
  private again = false;
  private stopped = false;
  /** Set once every watched kind has listed (ClusterCaches.start): no pass before. */
  private cachesListed = false;
  private watchdog?: NodeJS.Timeout;
  /** The newest pass's statuses not yet being written; a newer pass replaces them. */
  private pendingStatuses?: StatusRound;
  private writingStatuses = false;
  private statusLane: Promise<void> = Promise.resolve();

  constructor(private readonly options: ControllerOptions) {
    if (options.addressMode.kind === 'loopback') this.pool = new LoopbackAddressPool(options.addressMode.cidr);
    this.caches = new ClusterCaches(options.kc, options.log, (change, object) => {
      const seen = this.changes[change];
      if (object && seen.size < MAX_NAMED_CHANGES) seen.add(object);
      this.schedule(undefined, change);
    });
    this.writer = new StatusWriter(options.kc, options.log, options.classes.gatewayControllerName);
    this.events = new EventRecorder(options.kc, options.log, 'portcullis-controller');
    if (options.leaderElection) {
      this.elector = new LeaderElector({
        kc: options.kc,
        log: options.log,
        ...options.leaderElection,
        // The new leader writes every status that differs from what it would write.
        onStartedLeading: () => this.schedule(0),
        onStoppedLeading: () => {},
      });
    }
  }

  notReadyReason(): string | undefined {
    if (this.stopped) return 'the controller is stopping';
    return this.cachesListed ? undefined : 'the caches have not listed every watched kind yet';
  }

  proxyProgrammed(): boolean {
    return this.programming.applied;
  }

  metrics(): MetricsSnapshot {
    this.counters.writesStatus.set([], this.writesStatus ? 1 : 0);
    return this.counters.snapshot();
  }

  /** Only the leader writes status and Events; every replica programs its own proxy. */
  get writesStatus(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  async start(): Promise<void> {
    const material = await createSelfSignedCertificate({ commonName: 'portcullis-default', dnsNames: ['portcullis.invalid'], algorithm: 'ecdsa-p256' });
    this.defaultCertificate = { id: 'portcullis-default', source: 'the controller default certificate', keyType: 'ECDSA', certificateChainPem: material.certPem, privateKeyPem: material.keyPem };
    await this.caches.start();
    this.cachesListed = true;
    this.watchdog = setInterval(() => void this.checkProxy(), 2000);
    this.elector?.start();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    this.pendingStatuses = undefined;
    await this.statusLane;
    await this.elector?.stop();
    await this.caches.stop();
  }

  private schedule(delayMs = this.options.debounceMs ?? DEBOUNCE_MS, change: ChangeKind = 'spec'): void {
    // Not before every kind has listed: a pass over a partial snapshot (Gateways known,
    // their Secrets or EndpointSlices not yet) would program the proxy with listeners
    // missing and backends empty, a traffic gap each time the controller restarts.
    if (this.stopped || !this.cachesListed) return;
    this.changedAt ??= performance.now();
    if (change === 'spec') this.specChanged = true;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), delayMs);
  }

  /** A restarted proxy has no configuration: send it again. */
  private async checkProxy(): Promise<void> {
    // During a pass the proxy may already serve a version lastApplied does not name yet.
    const expected = this.lastApplied;
    if (!expected || this.running) return;
    try {
      // /readyz names the applied version, ready or not; /config would send the whole IR every 2 s.
      const response = await request(new URL('/readyz', this.options.proxyAdminUrl), { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = (await response.body.json()) as { version?: string };
      // A pass that ran meanwhile programmed the proxy itself: this answer is stale.
      if (this.running || this.lastApplied !== expected) return;
      if (body.version !== expected) {
        this.options.log.warn('the proxy does not serve the last configuration (restarted?); programming it again', { serving: body.version ?? null });
        this.lastApplied = undefined;
        this.schedule(0);
      }
    } catch {
      // unreachable for now: the next check, or the next pass, will tell
    }
  }

  private translateOptions(snapshot: Snapshot): TranslateOptions {
    const { classes, addressMode } = this.options;
    const ports = this.options.ingressPorts ?? { http: 80, https: 443 };
    const ingress = { className: classes.ingressClassName, controller: classes.ingressControllerName, httpPort: ports.http, httpsPort: ports.https, defaultCertificate: this.defaultCertificate };
    if (addressMode.kind === 'loopback') {
      const pool = this.pool!;
      pool.retain(snapshot.gateways);
      return {
        gateway: { controllerName: classes.gatewayControllerName, supportedFeatures, gatewayAddress: (gateway) => pool.assign(gateway) },
        ingress: { ...ingress, address: pool.ingressAddress() },
      };
    }
    const serviceName = `${addressMode.namespace}/${addressMode.name}`;
    const service = snapshot.services.find((s) => s.metadata?.namespace === addressMode.namespace && s.metadata?.name === addressMode.name);
    return {
      gateway: { controllerName: classes.gatewayControllerName, supportedFeatures, gatewayAddress: (gateway) => publishOnService(gateway, service, serviceName) },
      ingress: { ...ingress, address: anyAddress, publishedAddresses: service ? serviceAddresses(service).map((a) => a.value) : [] },
    };
  }

  private async pass(): Promise<void> {
    this.running = true;
    this.again = false;
    const { log } = this.options;
    const started = performance.now();
    const waited = started - (this.changedAt ?? started);
    this.changedAt = undefined;
    // Only statuses moved (mostly our own writes coming back): the last translation still
    // holds, and translating 1,000 routes again would hold up the next real change.
    const retranslate = this.specChanged || !this.lastDecided;
    this.specChanged = false;
    const changes = this.changes;
    this.changes = { spec: new Set(), status: new Set() };
    try {
      const snapshot = this.caches.snapshot();
      this.counters.passes.inc([retranslate ? 'translate' : 'status']);
      this.counters.countWatched(snapshot);
      let statuses = this.lastDecided!;
      if (retranslate) {
        const translation = translate(snapshot, this.translateOptions(snapshot));
        statuses = this.lastDecided = { statuses: translation.statuses, warnings: translation.warnings };
        await this.program(translation, started, waited);
        if (this.writesStatus) for (const warning of translation.warnings) log.warn('translation warning', { ...warning });
      }
      if (!this.writesStatus) return;
      this.queueStatuses({ snapshot, decided: statuses, versions: this.caches.servedVersions(), programming: this.programming });
    } catch (err) {
      // One broken object must not stop the others: the proxy keeps its last good configuration.
      this.counters.passFailures.inc([]);
      log.error('reconcile failed; the proxy keeps its last good configuration', { err: errorMessage(err) });
      setTimeout(() => this.schedule(0), 2000);
    } finally {
      log.debug('pass', { translated: retranslate, ms: Math.round(performance.now() - started), specChanges: [...changes.spec], statusChanges: [...changes.status] });
      this.running = false;
      // The changes that came during the pass have already said whether they need a translation.
      if (this.again) this.schedule(undefined, 'status');
    }
  }

  /** Sends the translation to the proxy unless it already serves it. */
  private async program(translation: Translation, started: number, waited: number): Promise<void> {
    const { log } = this.options;
    const translated = performance.now();
    const serialized = serializeConfig(translation.listeners);
    const { version } = serialized;
    if (version === this.lastApplied) return;
    const sending = performance.now();
    const result = await programProxy(this.options.proxyAdminUrl, serialized);
    if (result.kind === 'applied') {
      this.lastApplied = version;
      this.programming = { applied: true };
      // Where a change's time to be served goes, for whoever reads the log or the metrics.
      const phases = { wait: waited, translate: translated - started, serialize: sending - translated, program: performance.now() - sending };
      this.counters.programmed(version, phases);
      log.info('proxy programmed', { version, listeners: translation.listeners.length, waitedMs: Math.round(phases.wait), translateMs: Math.round(phases.translate), serializeMs: Math.round(phases.serialize), programMs: Math.round(phases.program), bytes: serialized.body.length });
    } else {
      this.counters.programFailed(result.kind);
      this.programming = { applied: false, message: result.kind === 'rejected' ? `the proxy rejected configuration ${version}: ${result.message}` : `the proxy is not reachable: ${result.message}` };
      log.warn('programming the proxy failed', { version, result: result.kind, message: result.message });
      setTimeout(() => this.schedule(0), 1000);
    }
  }

  private queueStatuses(round: StatusRound): void {
    this.pendingStatuses = round;
    if (this.writingStatuses) return;
    this.writingStatuses = true;
    this.statusLane = this.writeStatuses();
  }

  /** The status lane: writes the newest pending round until none is left. */
  private async writeStatuses(): Promise<void> {
    const { log } = this.options;
    try {
      for (let round = this.pendingStatuses; round; round = this.pendingStatuses) {
        this.pendingStatuses = undefined;
        // Leadership may have moved while the round waited.
        if (this.stopped || !this.writesStatus) continue;
        const { snapshot, decided, versions, programming } = round;
        try {
          const uids = new Map(snapshot.ingresses.map((i) => [`Ingress/${i.metadata?.namespace}/${i.metadata?.name}`, i.metadata?.uid]));
          await this.events.warn(decided.warnings, (object) => uids.get(object));
          const patched = await this.writer.write(snapshot, decided.statuses, versions, programming, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
          this.counters.statusPatches.inc([], patched);
          log.debug('statuses written', { patched });
        } catch (err) {
          log.error('writing statuses failed; trying again', { err: errorMessage(err) });
          setTimeout(() => this.schedule(0), 2000);
        }
      }
    } finally {
      // Synchronously after the last look at pendingStatuses: a round queued from now on starts a new lane.
      this.writingStatuses = false;
    }
  }
}
