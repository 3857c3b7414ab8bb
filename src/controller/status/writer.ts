// Writes the statuses translation decided, only where they differ from what the objects
// show, as merge patches carrying resourceVersion (a conflict means someone wrote
// meanwhile: the next pass, triggered by their write, tries again). Route parents of
// other controllers are kept as they are. "Differ" is sameJson: the API server returns
// custom objects' fields in alphabetical order and we build them in another, and an
// order-sensitive comparison saw every status as changed and PATCHed every object on
// every pass (≈ 10 ms per route).
import { isIP } from 'node:net';
import { CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiStatus, isConflict, isNotFound, mergePatch } from '../../lib/kube.js';
import { sameJson } from '../../lib/same-json.js';
import type { Logger } from '../../lib/log.js';
import { errorMessage } from '../../lib/errors.js';
import { gatewayGroup, type BackendTLSPolicy, type Condition, type PolicyAncestorStatus, type ParentReference, type Route, type RouteParentStatus, type Snapshot } from '../gatewayapi-types.js';
import { ConditionType, Reason, condition, stampConditions, type DesiredCondition } from '../translate/conditions.js';
import type { DesiredPolicyAncestorStatus, DesiredStatuses } from '../translate/model.js';

export interface ProgrammingState {
  /** The proxy serves the configuration these statuses describe. */
  applied: boolean;
  message?: string;
}

const plurals: Record<string, string> = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', TLSRoute: 'tlsroutes', TCPRoute: 'tcproutes' };

const sameParent = (a: ParentReference, b: ParentReference) =>
  a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '') && (a.sectionName ?? '') === (b.sectionName ?? '') && (a.port ?? 0) === (b.port ?? 0) &&
  (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') && (a.group ?? gatewayGroup) === (b.group ?? gatewayGroup);

/** Until the proxy applied the configuration, Programmed cannot be True. */
function withProgramming(conditions: DesiredCondition[], programming: ProgrammingState): DesiredCondition[] {
  if (programming.applied) return conditions;
  return conditions.map((c) =>
    c.type === ConditionType.Programmed && c.status === 'True'
      ? condition(ConditionType.Programmed, false, Reason.Pending, programming.message ?? 'waiting for the proxy to apply the configuration')
      : c,
  );
}

/** Status PATCHes in flight at once: enough to keep the API server busy, few enough not to crowd out other clients. */
const PATCH_CONCURRENCY = 8;

/** Runs `tasks` at most `limit` at a time; resolves when all have settled. */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}

export class StatusWriter {
  private readonly custom: CustomObjectsApi;
  private readonly networking: NetworkingV1Api;
  /** Gateway API v1.1 CRDs take supportedFeatures as plain names. */
  private featuresAsStrings = false;

  constructor(kc: KubeConfig, private readonly log: Logger, private readonly controllerName: string) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.networking = kc.makeApiClient(NetworkingV1Api);
  }

  /** Writes what differs; resolves with how many objects it PATCHed (each at most once). */
  async write(snapshot: Snapshot, desired: DesiredStatuses, versions: Partial<Record<keyof Snapshot, string>>, programming: ProgrammingState, now: string): Promise<number> {
    const tasks: (() => Promise<void>)[] = [];
    for (const gatewayClass of snapshot.gatewayClasses) {
      const want = desired.gatewayClasses[gatewayClass.metadata.name];
      if (!want) continue;
      // supportedFeatures must be sorted (GatewayClassStatus docs); v1.1 lists names, v1.2+ objects with a name.
      const features = [...want.supportedFeatures].sort();
      const legacy = gatewayClass.status?.supportedFeatures?.some((f) => typeof f === 'string') || this.featuresAsStrings;
      const status = {
        ...gatewayClass.status,
        conditions: stampConditions(want.conditions, gatewayClass.status?.conditions, gatewayClass.metadata.generation, now),
        supportedFeatures: legacy ? features : features.map((name) => ({ name })),
      };
      if (!sameJson(status, gatewayClass.status)) {
        const patch = (body: unknown) => this.patchCustom('GatewayClass', 'gatewayclasses', versions.gatewayClasses, undefined, gatewayClass.metadata.name, gatewayClass.metadata.resourceVersion, body);
        tasks.push(() =>
          patch(status).catch(async (err) => {
            if (apiStatus(err) !== 422 || legacy) throw err;
            this.featuresAsStrings = true;
            await patch({ ...status, supportedFeatures: features });
          }).catch((err) => this.log.warn('status write failed', { kind: 'GatewayClass', name: gatewayClass.metadata.name, err: errorMessage(err) })),
        );
      }
    }
    for (const gateway of snapshot.gateways) {
      const key = `${gateway.metadata.namespace}/${gateway.metadata.name}`;
      const want = desired.gateways[key];
      if (!want) continue;
      const generation = gateway.metadata.generation;
      const status = {
        addresses: want.addresses,
        conditions: stampConditions(withProgramming(want.conditions, programming), gateway.status?.conditions, generation, now),
        listeners: want.listeners.map((listener) => ({
          name: listener.name,
          supportedKinds: listener.supportedKinds,
          attachedRoutes: listener.attachedRoutes,
          conditions: stampConditions(withProgramming(listener.conditions, programming), gateway.status?.listeners?.find((l) => l.name === listener.name)?.conditions, generation, now),
        })),
      };
      if (!sameJson(status, gateway.status)) tasks.push(() => this.patchCustom('Gateway', 'gateways', versions.gateways, gateway.metadata.namespace, gateway.metadata.name, gateway.metadata.resourceVersion, status));
    }
    const routes: [Route[], keyof Snapshot][] = [[snapshot.httpRoutes, 'httpRoutes'], [snapshot.grpcRoutes, 'grpcRoutes'], [snapshot.tlsRoutes, 'tlsRoutes'], [snapshot.tcpRoutes, 'tcpRoutes']];
    for (const [list, versionKey] of routes) {
      for (const route of list) {
        const parents = this.routeParents(route, desired.routes[`${route.kind}/${route.metadata.namespace}/${route.metadata.name}`] ?? [], now);
        if (sameJson(parents, route.status?.parents ?? [])) continue;
        tasks.push(() => this.patchCustom(route.kind, plurals[route.kind]!, versions[versionKey], route.metadata.namespace, route.metadata.name, route.metadata.resourceVersion, { parents }));
      }
    }
    for (const policy of snapshot.backendTlsPolicies) {
      const ancestors = this.policyAncestors(policy, desired.backendTlsPolicies[`${policy.metadata.namespace}/${policy.metadata.name}`] ?? [], now);
      if (sameJson(ancestors, policy.status?.ancestors ?? [])) continue;
      tasks.push(() => this.patchCustom('BackendTLSPolicy', 'backendtlspolicies', versions.backendTlsPolicies, policy.metadata.namespace, policy.metadata.name, policy.metadata.resourceVersion, { ancestors }));
    }
    for (const ingress of snapshot.ingresses) {
      const want = desired.ingresses[`${ingress.metadata?.namespace}/${ingress.metadata?.name}`];
      if (!want) continue;
      const loadBalancer = { ingress: want.addresses.map((address) => (isIP(address) ? { ip: address } : { hostname: address })) };
      if (sameJson(loadBalancer, ingress.status?.loadBalancer ?? {})) continue;
      tasks.push(() => this.guard('Ingress', `${ingress.metadata?.namespace}/${ingress.metadata?.name}`, () =>
        this.networking.patchNamespacedIngressStatus({ name: ingress.metadata!.name!, namespace: ingress.metadata!.namespace!, body: { metadata: { resourceVersion: ingress.metadata?.resourceVersion }, status: { loadBalancer } } }, mergePatch),
      ));
    }
    await runBounded(tasks, PATCH_CONCURRENCY);
    return tasks.length;
  }

  private routeParents(route: Route, ours: { parentRef: ParentReference; conditions: DesiredCondition[] }[], now: string): RouteParentStatus[] {
    const current = route.status?.parents ?? [];
    const others = current.filter((p) => p.controllerName !== this.controllerName);
    const mine = ours.map(({ parentRef, conditions }) => {
      const previous: Condition[] | undefined = current.find((p) => p.controllerName === this.controllerName && sameParent(p.parentRef, parentRef))?.conditions;
      return { parentRef, controllerName: this.controllerName, conditions: stampConditions(conditions, previous, route.metadata.generation, now) };
    });
    return [...others, ...mine];
  }

  /** Like route parents: ancestors written by other controllers stay as they are. */
  private policyAncestors(policy: BackendTLSPolicy, ours: DesiredPolicyAncestorStatus[], now: string): PolicyAncestorStatus[] {
    const current = policy.status?.ancestors ?? [];
    const others = current.filter((a) => a.controllerName !== this.controllerName);
    const mine = ours.map(({ ancestorRef, conditions }) => {
      const previous = current.find((a) => a.controllerName === this.controllerName && sameParent(a.ancestorRef, ancestorRef))?.conditions;
      return { ancestorRef, controllerName: this.controllerName, conditions: stampConditions(conditions, previous, policy.metadata.generation, now) };
    });
    return [...others, ...mine];
  }

  private patchCustom(kind: string, plural: string, version: string | undefined, namespace: string | undefined, name: string, resourceVersion: string | undefined, status: unknown): Promise<void> {
    if (!version) return Promise.resolve();
    const body = { metadata: { resourceVersion }, status };
    const write = () =>
      namespace
        ? this.custom.patchNamespacedCustomObjectStatus({ group: gatewayGroup, version, namespace, plural, name, body }, mergePatch)
        : this.custom.patchClusterCustomObjectStatus({ group: gatewayGroup, version, plural, name, body }, mergePatch);
    if (kind === 'GatewayClass') return write().then(() => undefined, (err) => (isConflict(err) || isNotFound(err) ? undefined : Promise.reject(err)));
    return this.guard(kind, `${namespace ? `${namespace}/` : ''}${name}`, write);
  }

  private async guard(kind: string, name: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
      this.log.debug('status written', { kind, name });
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return;
      this.log.warn('status write failed', { kind, name, err: errorMessage(err) });
    }
  }
}
