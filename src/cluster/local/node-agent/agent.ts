// The local node agent: registers a Ready Node, binds unscheduled Pods to it (the
// local cluster has no scheduler), runs each bound Pod in a PodSandbox, reports Pod
// status so the real endpointslice controller fills EndpointSlices, keeps mounted
// Secrets and ConfigMaps current, and completes Pod deletion once the Pod is stopped.
import { cpus, hostname, release, totalmem } from 'node:os';
import {
  CoreV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1ConfigMap,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { errorMessage } from '../../../lib/errors.js';
import { isConflict, isNotFound, mergePatch } from '../../../lib/kube.js';
import { createLogger } from '../../../lib/log.js';

import type { LocalClusterConfig } from '../state.js';
import type { PkiFiles } from '../pki.js';
import { KUBELET_PORT, startKubeletApi, type KubeletApi } from './kubelet-api.js';
import { AddressPool, ensureBridge, removeLeftoverPods } from './network.js';
import { PodSandbox } from './pod-sandbox.js';
import { referencedObjects, type VolumeSources } from './volumes.js';

const log = createLogger('node-agent');
const heartbeatMs = 20_000;
const resyncMs = 30_000;

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface NodeAgentOptions {
  kc: KubeConfig;
  config: LocalClusterConfig;
  clusterDir: string;
  volumesRoot: string;
  logsRoot: string;
  /** The cluster's PKI, for the kubelet API (pod logs); absent: no kubelet API. */
  pki?: PkiFiles;
}

export class NodeAgent {
  private readonly core: CoreV1Api;
  private readonly sandboxes = new Map<string, PodSandbox>();
  private readonly queue = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly addresses: AddressPool;
  private readonly lastStatus = new Map<string, string>();
  private pods!: Watched<V1Pod>;
  private secrets!: Watched<V1Secret>;
  private configMaps!: Watched<V1ConfigMap>;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private kubeletApi: KubeletApi | undefined;

  constructor(private readonly options: NodeAgentOptions) {
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.addresses = new AddressPool(options.config);
  }

  private get nodeName(): string {
    return this.options.config.nodeName;
  }

  async start(): Promise<void> {
    await removeLeftoverPods(this.options.config, this.options.clusterDir);
    await ensureBridge(this.options.config);
    if (this.options.pki) {
      this.kubeletApi = await startKubeletApi(this.options.config.bridgeAddress, this.options.pki, this.options.logsRoot).catch((err: unknown) => {
        log.warn('the kubelet API could not start: pod logs are not served', { err: errorMessage(err) });
        return undefined;
      });
    }
    await this.registerNode();
    const { kc } = this.options;
    this.secrets = makeInformer(kc, '/api/v1/secrets', () => this.core.listSecretForAllNamespaces());
    this.configMaps = makeInformer(kc, '/api/v1/configmaps', () => this.core.listConfigMapForAllNamespaces());
    this.pods = makeInformer(kc, '/api/v1/pods', () => this.core.listPodForAllNamespaces());
    for (const [name, informer] of [['secrets', this.secrets], ['configmaps', this.configMaps], ['pods', this.pods]] as const) {
      (informer as Watched<KubernetesObject>).on('error', (err) => this.restartInformer(name, informer as Watched<KubernetesObject>, err));
    }
    const onReferenced = (kind: 'secrets' | 'configMaps') => (object: KubernetesObject) => this.resyncVolumesOf(kind, object);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.secrets.on(verb, onReferenced('secrets'));
      this.configMaps.on(verb, onReferenced('configMaps'));
      this.pods.on(verb, (pod) => this.enqueue(pod));
    }
    await this.secrets.start();
    await this.configMaps.start();
    await this.pods.start();
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatMs));
    this.timers.push(setInterval(() => this.resyncAll(), resyncMs));
    log.info('node agent started', { node: this.nodeName, podCIDR: this.options.config.podCIDR });
  }

  private restartInformer(name: string, informer: Watched<KubernetesObject>, err: unknown): void {
    if (this.stopping) return;
    log.warn('watch failed; restarting it', { resource: name, err: errorMessage(err) });
    setTimeout(() => void informer.start().catch((e) => this.restartInformer(name, informer, e)), 1000);
  }

  /** Stops every Pod (their processes must not outlive the agent). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([this.pods?.stop(), this.secrets?.stop(), this.configMaps?.stop(), this.kubeletApi?.close()]);
    await Promise.allSettled([...this.sandboxes.values()].map((sandbox) => sandbox.stop(5)));
    this.sandboxes.clear();
  }

  private nodeStatus() {
    const now = new Date();
    const quantity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '250', 'ephemeral-storage': '100Gi' };
    return {
      capacity: quantity,
      allocatable: quantity,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'portcullis local node agent is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
      ],
      addresses: [
        { type: 'InternalIP', address: this.options.config.bridgeAddress },
        { type: 'Hostname', address: this.nodeName },
      ],
      ...(this.kubeletApi ? { daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } } } : {}),
      nodeInfo: {
        machineID: hostname(), systemUUID: hostname(), bootID: String(process.pid),
        kernelVersion: release(), osImage: 'portcullis local node', containerRuntimeVersion: 'portcullis-local://0.1.0',
        kubeletVersion: this.options.config.kubernetesVersion, kubeProxyVersion: '', operatingSystem: 'linux', architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    };
  }

  private async registerNode(): Promise<void> {
    const metadata = {
      name: this.nodeName,
      labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'portcullis-local' },
    };
    try {
      await this.core.createNode({ body: { metadata, spec: { podCIDR: this.options.config.podCIDR, podCIDRs: [this.options.config.podCIDR] } } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.core.patchNodeStatus({ name: this.nodeName, body: { status: this.nodeStatus() } }, mergePatch);
    } catch (err) {
      log.warn('node status update failed', { err: errorMessage(err) });
    }
  }

  private volumeSources(): VolumeSources {
    return {
      secret: (namespace, name) => this.secrets.get(name, namespace),
      configMap: (namespace, name) => this.configMaps.get(name, namespace),
      serviceAccountToken: async (pod, audience, expirationSeconds) => {
        const request = await this.core.createNamespacedServiceAccountToken({
          name: pod.spec?.serviceAccountName ?? 'default',
          namespace: pod.metadata!.namespace!,
          body: {
            spec: {
              audiences: audience ? [audience] : [],
              expirationSeconds,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name, uid: pod.metadata!.uid },
            },
          },
        });
        return request.status?.token ?? '';
      },
    };
  }

  private resyncVolumesOf(kind: 'secrets' | 'configMaps', object: KubernetesObject): void {
    for (const sandbox of this.sandboxes.values()) {
      if (sandbox.pod.metadata?.namespace !== object.metadata?.namespace) continue;
      if (referencedObjects(sandbox.pod)[kind].has(object.metadata!.name!)) this.enqueue(sandbox.pod);
    }
  }

  private resyncAll(): void {
    for (const pod of this.pods.list()) this.enqueue(pod);
  }

  /** One reconcile at a time per Pod; events that arrive meanwhile coalesce into one more pass. */
  private enqueue(pod: V1Pod): void {
    if (this.stopping) return;
    const key = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    if (this.queue.has(key)) {
      this.dirty.add(key);
      return;
    }
    const run = async (): Promise<void> => {
      try {
        await this.reconcile(key);
      } catch (err) {
        log.error('reconcile failed', { pod: key, err: errorMessage(err) });
        setTimeout(() => {
          const latest = this.pods.get(pod.metadata!.name!, pod.metadata!.namespace!);
          if (latest) this.enqueue(latest);
        }, 1000);
      }
      if (this.dirty.delete(key)) return run();
      this.queue.delete(key);
    };
    this.queue.set(key, run());
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = this.pods.get(name, namespace);
    const existing = [...this.sandboxes.values()].find((s) => s.key === key);
    if (existing && (!pod || pod.metadata!.uid !== existing.uid)) {
      await this.teardown(existing, 0);
    }
    if (!pod) return;
    if (!pod.spec?.nodeName) {
      if ((pod.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler') await this.bind(pod);
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    let sandbox = this.sandboxes.get(pod.metadata!.uid!);
    if (pod.metadata!.deletionTimestamp) {
      const grace = pod.metadata!.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      if (sandbox) await this.teardown(sandbox, grace);
      await this.finishDeletion(pod);
      return;
    }
    if (!sandbox) {
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      sandbox = new PodSandbox(pod, {
        config: this.options.config,
        clusterDir: this.options.clusterDir,
        volumesRoot: this.options.volumesRoot,
        logsRoot: this.options.logsRoot,
        addresses: this.addresses,
        sources: this.volumeSources(),
        log,
        changed: (s) => this.enqueue(s.pod),
      });
      this.sandboxes.set(pod.metadata!.uid!, sandbox);
      await sandbox.start();
    } else {
      sandbox.pod = pod;
      if (!sandbox.started) await sandbox.start();
      else await sandbox.syncVolumes();
    }
    await this.writeStatus(sandbox);
  }

  private async bind(pod: V1Pod): Promise<void> {
    try {
      await this.core.createNamespacedBinding({
        namespace: pod.metadata!.namespace!,
        body: { metadata: { name: pod.metadata!.name!, uid: pod.metadata!.uid }, target: { kind: 'Node', name: this.nodeName } },
      });
      log.info('pod bound', { pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, node: this.nodeName });
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }

  private async teardown(sandbox: PodSandbox, graceSeconds: number): Promise<void> {
    this.sandboxes.delete(sandbox.uid);
    this.lastStatus.delete(sandbox.uid);
    await sandbox.stop(graceSeconds);
    log.info('pod stopped', { pod: sandbox.key });
  }

  /** The kubelet's last word on a deleted Pod: delete it for good once its processes are gone. */
  private async finishDeletion(pod: V1Pod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid } },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private async writeStatus(sandbox: PodSandbox): Promise<void> {
    const status = sandbox.status();
    const comparable = JSON.stringify({ ...status, conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
    if (this.lastStatus.get(sandbox.uid) === comparable) return;
    try {
      const updated = await this.core.patchNamespacedPodStatus({ name: sandbox.pod.metadata!.name!, namespace: sandbox.pod.metadata!.namespace!, body: { status } }, mergePatch);
      this.lastStatus.set(sandbox.uid, comparable);
      if (updated.metadata?.uid === sandbox.uid) sandbox.pod = updated;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

