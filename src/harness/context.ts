// What a conformance test gets: a fresh namespace, the cluster, the implementation's
// classes, the timeouts, and helpers that apply manifests and wait for status with
// messages that show the conditions actually present.
import { readFileSync } from 'node:fs';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { applyObjects, isNotFound, parseManifests, waitFor } from '../lib/kube.js';
import type { Condition, Gateway, RouteParentStatus } from '../controller/gatewayapi-types.js';
import type { TimeoutConfig } from './timeouts.js';

export interface Implementation {
  gatewayClass: string;
  ingressClass: string;
  /** The controllerName its GatewayClass names, to find its entries in Route status. */
  controllerName?: string;
}

const group = 'gateway.networking.k8s.io';
const plurals: Record<string, string> = { Gateway: 'gateways', HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', TLSRoute: 'tlsroutes', TCPRoute: 'tcproutes' };

export class SuiteContext {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;

  constructor(
    readonly kc: KubeConfig,
    readonly namespace: string,
    readonly implementation: Implementation,
    readonly timeouts: TimeoutConfig,
    /** Directory of the test's manifests. */
    readonly manifestDir: string,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.networking = kc.makeApiClient(NetworkingV1Api);
  }

  /** Puts the object in the test's namespace and on the implementation's classes. */
  private localize(object: KubernetesObject): KubernetesObject {
    const copy = structuredClone(object) as KubernetesObject & { spec?: Record<string, unknown> };
    copy.metadata = { ...copy.metadata, namespace: copy.metadata?.namespace ?? this.namespace };
    if (copy.kind === 'Gateway' && copy.spec) copy.spec.gatewayClassName = this.implementation.gatewayClass;
    if (copy.kind === 'Ingress' && copy.spec) copy.spec.ingressClassName = this.implementation.ingressClass;
    return copy;
  }

  async applyFile(file: string): Promise<void> {
    await this.applyObjects(parseManifests(readFileSync(`${this.manifestDir}/${file}`, 'utf8')));
  }

  async applyObjects(objects: KubernetesObject[]): Promise<void> {
    await applyObjects(this.kc, objects.map((o) => this.localize(o)), 'portcullis-conformance');
  }

  async tlsSecret(name: string, certPem: string, keyPem: string): Promise<void> {
    await this.applyObjects([{ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': certPem, 'tls.key': keyPem } } as KubernetesObject]);
  }

  async getCustom<T>(kind: string, name: string, version = 'v1'): Promise<T> {
    return (await this.custom.getNamespacedCustomObject({ group, version, namespace: this.namespace, plural: plurals[kind]!, name })) as T;
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

  /** Waits until the implementation reports on the route's parent, and returns that entry. */
  async routeParent(kind: string, name: string, version = 'v1'): Promise<RouteParentStatus> {
    return waitFor(
      { what: `${kind} ${this.namespace}/${name} to have status from the implementation`, timeoutMs: this.timeouts.routeMustHaveParentsMs },
      async () => {
        const route = await this.getCustom<{ status?: { parents?: RouteParentStatus[] } }>(kind, name, version);
        return route.status?.parents?.find((p) => !this.implementation.controllerName || p.controllerName === this.implementation.controllerName);
      },
      async () => `status: ${JSON.stringify((await this.getCustom<{ status?: unknown }>(kind, name, version)).status ?? {})}`,
    );
  }

  /** The Gateway Programmed with an address and the route Accepted with its refs resolved; returns the address. */
  async gatewayAndRouteMustBeAccepted(gateway: string, routeKind: string, route: string, routeVersion = 'v1'): Promise<string> {
    const address = await this.gatewayAddress(gateway);
    const parent = await this.routeParent(routeKind, route, routeVersion);
    for (const type of ['Accepted', 'ResolvedRefs']) {
      if (conditionStatus(parent.conditions, type) !== 'True') {
        throw new Error(`${routeKind} ${this.namespace}/${route}: expected ${type}=True, saw ${describeConditions(parent.conditions)}`);
      }
    }
    return address;
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

  async createNamespace(): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name: this.namespace, labels: { 'portcullis.dev/conformance': 'true' } } } });
  }

  async deleteNamespace(): Promise<void> {
    try {
      await this.core.deleteNamespace({ name: this.namespace });
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
