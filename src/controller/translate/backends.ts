// backendRefs → IR backends: Service + port → ready endpoints from EndpointSlices,
// with the reference checks the Gateway API asks for (InvalidKind, RefNotPermitted,
// BackendNotFound) and the upstream protocol from the Service port's appProtocol.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Endpoint, InvalidBackend, UpstreamProtocol, UpstreamTls } from '../../ir/types.js';
import { gatewayGroup, type BackendRef, type ReferenceGrant } from '../gatewayapi-types.js';
import { policiesAt, type BackendTlsIndex } from './backend-tls.js';
import { Reason } from './conditions.js';
import { referenceAllowed } from './references.js';

export interface BackendIndex {
  services: Map<string, V1Service>;
  /** `namespace/service` → its EndpointSlices. */
  slices: Map<string, V1EndpointSlice[]>;
  grants: ReferenceGrant[];
  backendTls: BackendTlsIndex;
  /**
   * What resolveBackend found for each Service port in this translation, by route kind,
   * route namespace, namespace, name and port: the rules of a route, and many routes,
   * name the same Service port. Nested maps keyed by the objects' own strings, because a
   * key string built per lookup cost more (building, hashing, collecting it) than what
   * it saved. The IR shares the endpoint arrays; nothing after translation changes them.
   */
  resolved: Map<string, Map<string, Map<string, Map<string, Map<number | undefined, Resolution>>>>>;
}

export function indexBackends(services: V1Service[], slices: V1EndpointSlice[], grants: ReferenceGrant[], backendTls: BackendTlsIndex): BackendIndex {
  const serviceMap = new Map(services.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  const sliceMap = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (!service) continue;
    const key = `${slice.metadata?.namespace}/${service}`;
    sliceMap.set(key, [...(sliceMap.get(key) ?? []), slice]);
  }
  return { services: serviceMap, slices: sliceMap, grants, backendTls, resolved: new Map() };
}

export interface ResolvedServiceBackend {
  ok: true;
  name: string;
  weight: number;
  endpoints: Endpoint[];
  protocol: UpstreamProtocol;
  /** The BackendTLSPolicy for this Service port, if any: what to re-encrypt with, or why that fails. */
  backendTls?: { tls?: UpstreamTls; failure?: string; policy: string; reported: string[] };
}

export interface BackendProblem {
  ok: false;
  backend: InvalidBackend;
  /** Route ResolvedRefs reason. */
  reason: string;
  message: string;
}

export type BackendResolution = ResolvedServiceBackend | BackendProblem;

/** A resolution without what the reference itself says (its weight). */
type Resolution = Omit<ResolvedServiceBackend, 'weight'> | { ok: false; name: string; reason: string; message: string };

const describe = (namespace: string, ref: BackendRef) => `${ref.kind ?? 'Service'} ${namespace}/${ref.name}${ref.port ? ` port ${ref.port}` : ''}`;

/** `map`'s entry for `key`, made empty if missing. */
function entry<K, V>(map: Map<K, Map<unknown, V>>, key: K): Map<unknown, V> {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  return inner;
}

/** Resolves one backendRef of a route of `routeKind` in `routeNamespace`. */
export function resolveBackend(ref: BackendRef, routeKind: string, routeNamespace: string, index: BackendIndex, defaultProtocol: UpstreamProtocol): BackendResolution {
  const namespace = ref.namespace ?? routeNamespace;
  const weight = ref.weight ?? 1;
  let resolution: Resolution | undefined;
  if ((ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service') {
    // defaultProtocol follows from the route kind.
    const byPort = entry(entry(entry(entry(index.resolved, routeKind), routeNamespace), namespace), ref.name) as Map<number | undefined, Resolution>;
    resolution = byPort.get(ref.port);
    if (!resolution) byPort.set(ref.port, (resolution = resolve(ref, routeKind, routeNamespace, namespace, index, defaultProtocol)));
  } else {
    resolution = resolve(ref, routeKind, routeNamespace, namespace, index, defaultProtocol);
  }
  if (!resolution.ok) return { ok: false, reason: resolution.reason, message: resolution.message, backend: { kind: 'Invalid', name: resolution.name, weight, reason: resolution.message } };
  const { name, endpoints, protocol, backendTls } = resolution;
  return backendTls ? { ok: true, name, weight, endpoints, protocol, backendTls } : { ok: true, name, weight, endpoints, protocol };
}

function resolve(ref: BackendRef, routeKind: string, routeNamespace: string, namespace: string, index: BackendIndex, defaultProtocol: UpstreamProtocol): Resolution {
  const name = describe(namespace, ref);
  const problem = (reason: string, message: string) => ({ ok: false as const, name, reason, message });
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') {
    return problem(Reason.InvalidKind, `backendRef ${name}: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported (only core Service)`);
  }
  if (!referenceAllowed({ group: gatewayGroup, kind: routeKind, namespace: routeNamespace }, { group: '', kind: 'Service', namespace, name: ref.name }, index.grants)) {
    return problem(Reason.RefNotPermitted, `backendRef ${name} is in another namespace and no ReferenceGrant in ${namespace} allows ${routeKind}s from ${routeNamespace}`);
  }
  const service = index.services.get(`${namespace}/${ref.name}`);
  if (!service) return problem(Reason.BackendNotFound, `backendRef ${name}: Service ${namespace}/${ref.name} not found`);
  const servicePort = service.spec?.ports?.find((p) => p.port === ref.port);
  if (ref.port === undefined || !servicePort) {
    return problem(Reason.BackendNotFound, `backendRef ${name}: Service ${namespace}/${ref.name} has no port ${ref.port ?? '(none given)'}`);
  }
  const endpoints: Endpoint[] = [];
  const seen = new Set<string>();
  for (const slice of index.slices.get(`${namespace}/${ref.name}`) ?? []) {
    const port = slice.ports?.find((p) => (p.name ?? '') === (servicePort.name ?? ''))?.port;
    if (!port) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses) {
        const key = `${address}:${port}`;
        if (!seen.has(key)) endpoints.push({ address, port });
        seen.add(key);
      }
    }
  }
  endpoints.sort((a, b) => (a.address === b.address ? a.port - b.port : a.address.localeCompare(b.address)));
  const appProtocol = servicePort.appProtocol ?? '';
  const protocol: UpstreamProtocol = appProtocol === 'kubernetes.io/h2c' || appProtocol === 'h2c' ? 'HTTP/2' : appProtocol === 'kubernetes.io/ws' ? 'HTTP/1.1' : defaultProtocol;
  const policies = policiesAt(index.backendTls, namespace, ref.name, servicePort.name);
  const backendTls = policies && { tls: policies.applied.tls, failure: policies.applied.failure, policy: policies.applied.key, reported: policies.reported };
  return { ok: true, name, endpoints, protocol, ...(backendTls ? { backendTls } : {}) };
}
