// What a conformance test gets: a fresh namespace, the cluster, the implementation's
// classes, the timeouts, and helpers that apply manifests, wait for status and check
// traffic, with messages that show the conditions, certificates and answers actually seen.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { applyObjects, isNotFound, parseManifests, rawGet, waitFor } from '../lib/kube.js';
import type { Condition, Gateway, GatewayClass, RouteParentStatus } from '../controller/gatewayapi-types.js';
import { httpsRequest, tlsProbe, type HttpsRequestOptions, type HttpsResponse, type TlsProbeOptions, type TlsProbeResult } from './probes.js';
import { awaitConvergence, type TimeoutConfig } from './timeouts.js';

export interface Implementation {
  gatewayClass: string;
  ingressClass: string;
  /** The controllerName its GatewayClass names, to find its entries in Route status. */
  controllerName?: string;
}

export interface ContextOptions {
  /** Image repository in the manifests → image the cluster runs (e.g. `portcullis/echo` → `portcullis/echo:dev` on kind). */
  images?: Record<string, string>;
}

/** A condition a test expects; reason omitted: any. */
export interface ExpectedCondition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
}

const group = 'gateway.networking.k8s.io';
const plurals: Record<string, string> = {
  GatewayClass: 'gatewayclasses', Gateway: 'gateways', HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', TLSRoute: 'tlsroutes', TCPRoute: 'tcproutes', ReferenceGrant: 'referencegrants',
};
const clusterScoped = new Set(['GatewayClass', 'Namespace', 'IngressClass', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
/** What manifests write for the implementation's classes; replaced by the classes under test. */
const classPlaceholder = 'portcullis';

/** Gateway API kinds the cluster serves, each with its served versions, preferred first (API discovery order). */
export async function servedGatewayApiKinds(kc: KubeConfig): Promise<Map<string, string[]>> {
  const served = new Map<string, string[]>();
  const groupInfo = await rawGet(kc, `/apis/${group}`);
  if (groupInfo.status === 404) return served;
  if (groupInfo.status !== 200) throw new Error(`API discovery of ${group} answered ${groupInfo.status}`);
  const versions = (JSON.parse(groupInfo.body) as { versions: { version: string }[] }).versions.map((v) => v.version);
  for (const version of versions) {
    const list = await rawGet(kc, `/apis/${group}/${version}`);
    if (list.status !== 200) continue;
    for (const resource of (JSON.parse(list.body) as { resources: { name: string; kind: string }[] }).resources) {
      if (resource.name.includes('/')) continue;
      served.set(resource.kind, [...(served.get(resource.kind) ?? []), version]);
    }
  }
  return served;
}

export class SuiteContext {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  private served?: Promise<Map<string, string[]>>;
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  private readonly scratchDirs: string[] = [];

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
    readonly implementation: Implementation,
    readonly timeouts: TimeoutConfig,
    /** Directory of the test's manifests. */
    readonly manifestDir: string,
    private readonly options: ContextOptions = {},
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
  }

  /** The version of a Gateway API kind to use: the cluster's preferred one. */
  async versionOf(kind: string): Promise<string> {
    this.served ??= servedGatewayApiKinds(this.kc);
    const versions = (await this.served).get(kind);
    if (!versions?.length) throw new Error(`the cluster serves no ${kind} API: install a Gateway API release and channel that has it (the experimental channel has them all)`);
    return versions[0]!;
  }

  /**
   * Puts the object in the test's namespace, on the implementation's classes, at an API
   * version the cluster serves (TLSRoute v1alpha2 in v1.1.0, v1 in v1.5+), with the
   * cluster's images.
   */
  private async localize(object: KubernetesObject): Promise<KubernetesObject> {
    const copy = structuredClone(object) as KubernetesObject & { spec?: Record<string, any> };
    if (!clusterScoped.has(copy.kind ?? '')) copy.metadata = { ...copy.metadata, namespace: copy.metadata?.namespace ?? this.namespace };
    if (copy.kind === 'Gateway' && copy.spec && (copy.spec.gatewayClassName ?? classPlaceholder) === classPlaceholder) copy.spec.gatewayClassName = this.implementation.gatewayClass;
    if (copy.kind === 'Ingress' && copy.spec && (copy.spec.ingressClassName ?? classPlaceholder) === classPlaceholder) copy.spec.ingressClassName = this.implementation.ingressClass;
    const [apiGroup, version] = (copy.apiVersion ?? '').split('/');
    if (apiGroup === group && copy.kind) {
      this.served ??= servedGatewayApiKinds(this.kc);
      if (!(await this.served).get(copy.kind)?.includes(version!)) copy.apiVersion = `${group}/${await this.versionOf(copy.kind)}`;
    }
    for (const container of copy.kind === 'Deployment' ? (copy.spec?.template?.spec?.containers ?? []) : []) {
      const image = this.options.images?.[container.image];
      if (image) Object.assign(container, { image, imagePullPolicy: 'IfNotPresent' });
    }
    return copy;
  }

  /** Applies a manifest of the test's folder; `${NAMESPACE}` and `${CONTROLLER_NAME}` in it are replaced. */
  async applyFile(file: string): Promise<void> {
    const text = readFileSync(`${this.manifestDir}/${file}`, 'utf8')
      .replaceAll('${NAMESPACE}', this.namespace)
      .replaceAll('${CONTROLLER_NAME}', this.implementation.controllerName ?? '');
    await this.applyObjects(parseManifests(text));
  }

  async applyObjects(objects: KubernetesObject[]): Promise<void> {
    const localized: KubernetesObject[] = [];
    for (const object of objects) localized.push(await this.localize(object));
    await applyObjects(this.kc, localized, 'portcullis-conformance');
  }

  async tlsSecret(name: string, certPem: string, keyPem: string, namespace = this.namespace): Promise<void> {
    await this.applyObjects([{ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': certPem, 'tls.key': keyPem } } as KubernetesObject]);
  }

  async getCustom<T>(kind: string, name: string): Promise<T> {
    const version = await this.versionOf(kind);
    if (clusterScoped.has(kind)) return (await this.custom.getClusterCustomObject({ group, version, plural: plurals[kind]!, name })) as T;
    return (await this.custom.getNamespacedCustomObject({ group, version, namespace: this.namespace, plural: plurals[kind]!, name })) as T;
  }

  /** Deletes a Gateway API object of the test (or the cluster-scoped one named); absent is fine. */
  async deleteCustom(kind: string, name: string, namespace = this.namespace): Promise<void> {
    const version = await this.versionOf(kind);
    try {
      if (clusterScoped.has(kind)) await this.custom.deleteClusterCustomObject({ group, version, plural: plurals[kind]!, name });
      else await this.custom.deleteNamespacedCustomObject({ group, version, namespace, plural: plurals[kind]!, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Waits until the object is gone (deletion may wait on finalizers). */
  async customMustBeGone(kind: string, name: string): Promise<void> {
    await waitFor({ what: `${kind} ${name} to be deleted`, timeoutMs: this.timeouts.maxTimeToConsistencyMs }, async () => {
      try {
        await this.getCustom(kind, name);
        return undefined;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    });
  }

  /** Waits for the Gateway to be Programmed with an address, and returns the address. */
  async gatewayAddress(name: string): Promise<string> {
    const gateway = await waitFor(
      { what: `Gateway ${this.namespace}/${name} to be Programmed with an address`, timeoutMs: this.timeouts.gatewayMustHaveAddressMs },
      async () => {
        const g = await this.getCustom<Gateway>('Gateway', name);
        return conditionStatus(g.status?.conditions, 'Programmed') === 'True' && g.status?.addresses?.[0] ? g : undefined;
      },
      async () => `status: ${JSON.stringify((await this.getCustom<Gateway>('Gateway', name)).status ?? {})}`,
    );
    return gateway.status!.addresses![0]!.value;
  }

  /** Waits until the implementation reports on the route's parent (the first, or the one with `sectionName`), and returns that entry. */
  async routeParent(kind: string, name: string, sectionName?: string): Promise<RouteParentStatus> {
    return waitFor(
      { what: `${kind} ${this.namespace}/${name} to have status from the implementation`, timeoutMs: this.timeouts.routeMustHaveParentsMs },
      async () => {
        const route = await this.getCustom<{ status?: { parents?: RouteParentStatus[] } }>(kind, name);
        return route.status?.parents?.find((p) => (!this.implementation.controllerName || p.controllerName === this.implementation.controllerName) && (sectionName === undefined || p.parentRef.sectionName === sectionName));
      },
      async () => `status: ${JSON.stringify((await this.getCustom<{ status?: unknown }>(kind, name)).status ?? {})}`,
    );
  }

  /** The Gateway Programmed with an address and the route Accepted with its refs resolved; returns the address. */
  async gatewayAndRouteMustBeAccepted(gateway: string, routeKind: string, route: string): Promise<string> {
    const address = await this.gatewayAddress(gateway);
    for (const type of ['Accepted', 'ResolvedRefs']) await this.routeMustHave(routeKind, route, { type, status: 'True' });
    return address;
  }

  /** Waits until the route's parent entry of the implementation shows the condition. */
  async routeMustHave(kind: string, name: string, expected: ExpectedCondition, sectionName?: string): Promise<Condition> {
    return this.conditionMustBe(`${kind} ${this.namespace}/${name}`, this.timeouts.routeMustHaveParentsMs, expected, async () => {
      const route = await this.getCustom<{ status?: { parents?: RouteParentStatus[] } }>(kind, name);
      return route.status?.parents?.find((p) => (!this.implementation.controllerName || p.controllerName === this.implementation.controllerName) && (sectionName === undefined || p.parentRef.sectionName === sectionName))?.conditions;
    });
  }

  async gatewayMustHave(name: string, expected: ExpectedCondition): Promise<Condition> {
    return this.conditionMustBe(`Gateway ${this.namespace}/${name}`, this.timeouts.gatewayStatusMustHaveListenersMs, expected, async () => (await this.getCustom<Gateway>('Gateway', name)).status?.conditions);
  }

  async listenerMustHave(gateway: string, listener: string, expected: ExpectedCondition): Promise<Condition> {
    return this.conditionMustBe(`listener ${listener} of Gateway ${this.namespace}/${gateway}`, this.timeouts.gatewayStatusMustHaveListenersMs, expected, async () =>
      (await this.getCustom<Gateway>('Gateway', gateway)).status?.listeners?.find((l) => l.name === listener)?.conditions,
    );
  }

  /** Waits until the listener reports `count` attached routes. */
  async attachedRoutesMustBe(gateway: string, listener: string, count: number): Promise<void> {
    const read = async () => (await this.getCustom<Gateway>('Gateway', gateway)).status?.listeners?.find((l) => l.name === listener);
    await waitFor({ what: `listener ${listener} of Gateway ${this.namespace}/${gateway} to report ${count} attached routes`, timeoutMs: this.timeouts.gatewayStatusMustHaveListenersMs },
      async () => ((await read())?.attachedRoutes === count ? true : undefined),
      async () => JSON.stringify(await read()),
    );
  }

  async gatewayClassMustHave(name: string, expected: ExpectedCondition): Promise<Condition> {
    return this.conditionMustBe(`GatewayClass ${name}`, this.timeouts.gatewayMustHaveAddressMs, expected, async () => (await this.getCustom<GatewayClass>('GatewayClass', name)).status?.conditions);
  }

  private async conditionMustBe(object: string, timeoutMs: number, expected: ExpectedCondition, read: () => Promise<Condition[] | undefined>): Promise<Condition> {
    const want = `${expected.type}=${expected.status}${expected.reason ? ` (${expected.reason})` : ''}`;
    return waitFor(
      { what: `${object} to have ${want}`, timeoutMs },
      async () => (await read())?.find((c) => c.type === expected.type && c.status === expected.status && (!expected.reason || c.reason === expected.reason)),
      async () => describeConditions(await read()),
    );
  }

  async ingressAddress(name: string): Promise<string> {
    return waitFor({ what: `Ingress ${this.namespace}/${name} to publish an address`, timeoutMs: this.timeouts.gatewayMustHaveAddressMs }, async () => {
      const ingress = await this.networking.readNamespacedIngress({ name, namespace: this.namespace });
      const entry = ingress.status?.loadBalancer?.ingress?.[0];
      return entry?.ip ?? entry?.hostname;
    });
  }

  /** Waits until every Pod with the label is Ready (the backends must be serving before traffic checks). */
  async podsReady(selector: string, count: number): Promise<void> {
    await waitFor({ what: `${count} Ready Pods with ${selector}`, timeoutMs: this.timeouts.namespacesMustBeReadyMs }, async () => {
      const pods = (await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector })).items;
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length >= count ? true : undefined;
    }, async () => JSON.stringify((await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: selector })).items.map((p) => ({ name: p.metadata?.name, phase: p.status?.phase, containers: p.status?.containerStatuses?.map((c) => c.state) }))));
  }

  /**
   * Converges on the certificate served for the probe: its leaf has `serial` (and what the
   * peer sent after the handshake matches `received`). Returns the last handshake.
   */
  async certificateMustBeServed(probe: TlsProbeOptions, serial: string, what = `the certificate ${serial}`, received?: RegExp): Promise<TlsProbeResult> {
    let last!: TlsProbeResult;
    await awaitConvergence(`SNI ${probe.servername ?? '(none)'} on ${probe.address}:${probe.port} gets ${what}`, this.timeouts, async () => {
      last = await tlsProbe({ timeoutMs: this.timeouts.requestTimeoutMs, ...probe });
      const served = last.chain[0];
      if (served?.serial !== serial) throw new Error(`expected ${what} (serial ${serial}), saw ${describeServed(last)}`);
      if (received && !received.test(last.received)) throw new Error(`with ${what}, expected the peer to send ${received}, saw ${JSON.stringify(last.received)}`);
    });
    return last;
  }

  /** Converges on a handshake that completes with some certificate other than the one with `serial`, or none. */
  async certificateMustNotBeServed(probe: TlsProbeOptions, serial: string, what = `the certificate ${serial}`): Promise<void> {
    await awaitConvergence(`SNI ${probe.servername ?? '(none)'} on ${probe.address}:${probe.port} no longer gets ${what}`, this.timeouts, async () => {
      const result = await tlsProbe({ timeoutMs: this.timeouts.requestTimeoutMs, ...probe });
      if (result.chain[0]?.serial === serial) throw new Error(`${what} is still served: ${describeServed(result)}`);
    });
  }

  /** Converges on no completed handshake (closed, reset, refused): nothing serves that name. */
  async handshakeMustFail(probe: TlsProbeOptions, what = 'no TLS service'): Promise<void> {
    await awaitConvergence(`SNI ${probe.servername ?? '(none)'} on ${probe.address}:${probe.port}: ${what}`, this.timeouts, async () => {
      const result = await tlsProbe({ timeoutMs: 3000, ...probe });
      if (result.connected) throw new Error(`expected no handshake, saw ${describeServed(result)}${result.received ? ` and ${JSON.stringify(result.received)}` : ''}`);
    });
  }

  /** Converges on an HTTPS answer with `status` (and a body matching `body`); returns the last response. */
  async httpsMustAnswer(request: HttpsRequestOptions, status: number, body?: RegExp): Promise<HttpsResponse> {
    let last!: HttpsResponse;
    await awaitConvergence(`GET https://${request.host ?? request.servername ?? request.address}${request.path} (SNI ${request.servername ?? '(none)'}) answers ${status}`, this.timeouts, async () => {
      last = await httpsRequest({ timeoutMs: this.timeouts.requestTimeoutMs, ...request });
      if (last.status !== status || (body && !body.test(last.body))) throw new Error(`expected ${status}${body ? ` and a body matching ${body}` : ''}, saw ${last.status}: ${last.body.slice(0, 500)}`);
    });
    return last;
  }

  /** The same helpers for objects in another namespace of the test (cleanup stays with this context). */
  inNamespace(namespace: string): SuiteContext {
    return new SuiteContext(this.kc, namespace, this.implementation, this.timeouts, this.manifestDir, this.options);
  }

  /** Runs `cleanup` when the test ends (before its namespaces are deleted), e.g. for cluster-scoped objects. */
  onCleanup(cleanup: () => Promise<unknown>): void {
    this.cleanups.push(cleanup);
  }

  async createNamespace(name = this.namespace): Promise<string> {
    await this.core.createNamespace({ body: { metadata: { name, labels: { 'portcullis.dev/conformance': 'true' } } } });
    return name;
  }

  /** A second namespace for the test (`<namespace>-<suffix>`, `${NAMESPACE}-<suffix>` in manifests), deleted with the first. */
  async extraNamespace(suffix: string): Promise<string> {
    const name = await this.createNamespace(`${this.namespace}-${suffix}`);
    this.onCleanup(() => this.deleteNamespace(name));
    return name;
  }

  /**
   * A new temporary folder for files the test's clients read (the CA file of curl --cacert),
   * named `portcullis-<prefix>-*`; removed when the test ends, also when its namespaces are kept.
   */
  scratchDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `portcullis-${prefix}-`));
    this.scratchDirs.push(dir);
    return dir;
  }

  removeScratchDirs(): void {
    for (const dir of this.scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** Runs the cleanups, then deletes the test's namespace. */
  async cleanup(): Promise<void> {
    this.removeScratchDirs();
    for (const cleanup of this.cleanups.splice(0).reverse()) await cleanup().catch(() => {});
    await this.deleteNamespace();
  }

  async deleteNamespace(name = this.namespace): Promise<void> {
    try {
      await this.core.deleteNamespace({ name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function conditionStatus(conditions: Condition[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}

export function describeConditions(conditions: Condition[] | undefined): string {
  return (conditions ?? []).map((c) => `${c.type}=${c.status} (${c.reason}: ${c.message})`).join('; ') || '(none)';
}

/** The served leaf as a person reads it, or why there was none. */
export function describeServed(result: TlsProbeResult): string {
  const leaf = result.chain[0];
  return leaf ? `${leaf.subject} SANs ${leaf.dnsNames.join(',') || '(none)'} serial ${leaf.serial} issued by ${leaf.issuer}` : `no handshake (${result.error ?? 'no certificate'})`;
}
