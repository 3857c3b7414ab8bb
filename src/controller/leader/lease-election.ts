// Leader election with a coordination.k8s.io/v1 Lease, the way client-go's
// leaderelection package does it (no Node library for it is kept up): the holder renews
// spec.renewTime every retry period; a candidate takes the Lease over only after it has
// seen the same record unchanged for a whole lease duration, measured on its OWN clock
// (so clock skew between nodes does not matter), and every write carries the
// resourceVersion it read, so two candidates can never both win (the loser gets 409).
// A leader that cannot renew within the renew deadline steps down before anyone else
// may take over (renewDeadline < leaseDuration).
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.js';
import { isConflict, isNotFound } from '../../lib/kube.js';
import type { Logger } from '../../lib/log.js';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  log: Logger;
  namespace: string;
  name: string;
  /** Unique per replica: the Pod name in a cluster, host and pid locally. */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private lastRenewal = 0;
  /** The record last seen and when (our clock) it was first seen like that. */
  private observed?: { key: string; at: number };
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.api = options.kc.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = (options.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.retryPeriodMs = (options.retryPeriodSeconds ?? 2) * 1000;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error('leader election needs retry period < renew deadline < lease duration');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops campaigning; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
      await this.api.replaceNamespacedLease({ name: this.options.name, namespace: this.options.namespace, body: lease });
      this.options.log.info('leader election: released the lease', { lease: this.leaseName() });
    } catch (err) {
      this.options.log.warn('leader election: could not release the lease; another replica takes over when it expires', { lease: this.leaseName(), err: errorMessage(err) });
    }
  }

  private leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let renewed = false;
    try {
      renewed = await this.tryAcquireOrRenew();
    } catch (err) {
      this.options.log.warn('leader election: lease request failed', { lease: this.leaseName(), err: errorMessage(err) });
    }
    if (this.stopped) return;
    if (renewed) {
      this.lastRenewal = Date.now();
      this.setLeading(true);
    } else if (this.leading && Date.now() - this.lastRenewal > this.renewDeadlineMs) {
      this.options.log.warn('leader election: could not renew the lease within the renew deadline; stepping down', { lease: this.leaseName() });
      this.setLeading(false);
    }
    this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.log.info(leading ? 'leader election: became the leader' : 'leader election: no longer the leader', { lease: this.leaseName(), identity: this.options.identity });
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  /** True when we hold the Lease after this call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    const mine = { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationMs / 1000, renewTime: now };
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: { ...mine, acquireTime: now, leaseTransitions: 0 } } });
        return true;
      } catch (createErr) {
        if (isConflict(createErr)) return false; // another replica created it first
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${spec.renewTime ? new Date(spec.renewTime).getTime() : ''}|${lease.metadata?.resourceVersion}`;
    if (this.observed?.key !== key) this.observed = { key, at: Date.now() };
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseDurationMs / 1000) * 1000;
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && Date.now() - this.observed.at < durationMs) return false;
    const takingOver = holder !== identity;
    lease.spec = {
      ...spec,
      ...mine,
      acquireTime: takingOver ? now : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    if (takingOver) this.options.log.info('leader election: acquired the lease', { lease: this.leaseName(), previousHolder: holder || null });
    return true;
  }
}
