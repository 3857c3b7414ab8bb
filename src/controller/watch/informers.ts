// List-then-watch caches of every watched resource, through client-node informers
// (which relist on 410 Gone). A resource whose API is not served yet is looked for
// again periodically, so CRDs installed after the controller starts are picked up.
import { createHash } from 'node:crypto';
import { KubernetesObjectApi, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.js';
import { rawGet } from '../../lib/kube.js';
import type { Logger } from '../../lib/log.js';
import type { Snapshot } from '../gatewayapi-types.js';
import { apiVersionOf, collectionPath, watchedResources, type WatchedResource } from './resources.js';

type Cache = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

interface Watch {
  resource: WatchedResource;
  version: string;
  cache: Cache;
  synced: boolean;
}

const rediscoverMs = 10_000;
const maxBackoffMs = 30_000;

/**
 * What a change can move: `spec`, anything translation reads (an object added or
 * deleted, its spec, labels, annotations, data); `status`, only the status of a kind
 * whose status the controller writes (WatchedResource.statusWritten) — above all the echo
 * of our own status writes, which needs no new translation, only a look at whether the
 * statuses are still ours.
 */
export type ChangeKind = 'spec' | 'status';

/** A digest of what translation can read of an object: all but bookkeeping, and the status if ours. */
function specDigest(object: KubernetesObject & { status?: unknown }, statusWritten: boolean): string {
  const { status, ...rest } = object;
  const { resourceVersion: _version, managedFields: _fields, ...metadata } = object.metadata ?? {};
  return createHash('sha1').update(JSON.stringify({ ...rest, metadata, status: statusWritten ? undefined : status })).digest('base64');
}

export class ClusterCaches {
  private readonly watches = new Map<keyof Snapshot, Watch>();
  private readonly objects: KubernetesObjectApi;
  /** specDigest of every cached object, by "Kind namespace/name". */
  private readonly digests = new Map<string, string>();
  private discoveryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly kc: KubeConfig, private readonly log: Logger, private readonly onChange: (change: ChangeKind, object?: string) => void) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  /** Starts every served resource's watch and resolves once each has listed. */
  async start(): Promise<void> {
    await this.discover();
    this.discoveryTimer = setInterval(() => void this.discover().catch((err) => this.log.warn('API discovery failed', { err: errorMessage(err) })), rediscoverMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.discoveryTimer);
    await Promise.allSettled([...this.watches.values()].map((w) => w.cache.stop()));
  }

  /** Which version of each kind is watched (absent: not served by this cluster). */
  servedVersions(): Partial<Record<keyof Snapshot, string>> {
    return Object.fromEntries([...this.watches].map(([key, watch]) => [key, watch.version]));
  }

  snapshot(): Snapshot {
    const list = <K extends keyof Snapshot>(key: K) => (this.watches.get(key)?.cache.list() ?? []) as unknown as Snapshot[K];
    return Object.fromEntries(watchedResources.map((r) => [r.key, list(r.key)])) as unknown as Snapshot;
  }

  private async servedVersionsOf(group: string): Promise<Set<string>> {
    const response = await rawGet(this.kc, group ? `/apis/${group}` : '/api');
    if (response.status === 404) return new Set();
    if (response.status !== 200) throw new Error(`discovery of ${group || 'core'} answered ${response.status}`);
    const body = JSON.parse(response.body) as { versions: (string | { version: string })[] };
    return new Set(body.versions.map((v) => (typeof v === 'string' ? v : v.version)));
  }

  /** The resources (plurals) a group version serves. */
  private async servedResourcesOf(group: string, version: string): Promise<Set<string>> {
    const response = await rawGet(this.kc, group ? `/apis/${group}/${version}` : `/api/${version}`);
    if (response.status === 404) return new Set();
    if (response.status !== 200) throw new Error(`discovery of ${group || 'core'}/${version} answered ${response.status}`);
    return new Set((JSON.parse(response.body) as { resources: { name: string }[] }).resources.map((r) => r.name));
  }

  private async discover(): Promise<void> {
    const groups = new Map<string, Set<string>>();
    const groupVersions = new Map<string, Set<string>>();
    // A group version may serve some kinds and not others (Gateway API v1.1.0 serves
    // Gateway at v1 but ReferenceGrant only at v1beta1): ask each version for its resources.
    const serves = async (resource: WatchedResource, version: string) => {
      if (!groups.get(resource.group)!.has(version)) return false;
      const key = `${resource.group}/${version}`;
      if (!groupVersions.has(key)) groupVersions.set(key, await this.servedResourcesOf(resource.group, version));
      return groupVersions.get(key)!.has(resource.plural);
    };
    for (const resource of watchedResources) {
      if (!groups.has(resource.group)) groups.set(resource.group, await this.servedVersionsOf(resource.group));
      let version: string | undefined;
      for (const candidate of resource.versions) {
        if (await serves(resource, candidate)) {
          version = candidate;
          break;
        }
      }
      const current = this.watches.get(resource.key);
      if (current && current.version === version) continue;
      if (current) {
        this.log.info('API version of a watched kind changed', { kind: resource.kind, from: current.version, to: version ?? 'none' });
        await current.cache.stop();
        this.watches.delete(resource.key);
        for (const key of this.digests.keys()) if (key.startsWith(`${resource.kind} `)) this.digests.delete(key);
        this.onChange('spec');
      }
      if (version) await this.watch(resource, version);
    }
  }

  private async watch(resource: WatchedResource, version: string): Promise<void> {
    const apiVersion = apiVersionOf(resource, version);
    const cache = makeInformer(this.kc, collectionPath(resource, version), () => this.objects.list(apiVersion, resource.kind)) as Cache;
    const watch: Watch = { resource, version, cache, synced: false };
    let backoff = 500;
    // "HTTPRoute ns/name", as logs name objects.
    const keyOf = (object: KubernetesObject) => `${resource.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? ''}`;
    cache.on('add', (object) => {
      const key = keyOf(object);
      this.digests.set(key, specDigest(object, resource.statusWritten === true));
      this.onChange('spec', key);
    });
    cache.on('update', (object) => {
      const key = keyOf(object);
      const digest = specDigest(object, resource.statusWritten === true);
      const before = this.digests.get(key);
      this.digests.set(key, digest);
      this.onChange(before === digest ? 'status' : 'spec', key);
    });
    cache.on('delete', (object) => {
      const key = keyOf(object);
      this.digests.delete(key);
      this.onChange('spec', key);
    });
    cache.on('connect', () => (backoff = 500));
    cache.on('error', (err) => {
      if (this.stopped || this.watches.get(resource.key) !== watch) return;
      this.log.warn('watch failed; restarting it', { kind: resource.kind, version, err: errorMessage(err), retryInMs: backoff });
      setTimeout(() => {
        if (!this.stopped && this.watches.get(resource.key) === watch) void cache.start().catch(() => {});
      }, backoff);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    });
    this.watches.set(resource.key, watch);
    await cache.start();
    watch.synced = true;
    this.log.info('watching', { kind: resource.kind, apiVersion });
    this.onChange('spec');
  }
}
