// What the controller watches, and which API version it prefers for each: the
// newest the cluster serves. CRDs that are absent (an older Gateway API release, the
// standard channel) are simply not watched until they appear.
import { gatewayGroup, type Snapshot } from '../gatewayapi-types.js';

export interface WatchedResource {
  key: keyof Snapshot;
  group: string;
  kind: string;
  plural: string;
  /** Preference order: the first one the cluster serves is watched. */
  versions: string[];
  /**
   * Its status is what the controller writes and translation never reads, so a change
   * to the status alone needs no new translation (a Service's status, which publishes
   * load-balancer addresses, is read: not here).
   */
  statusWritten?: true;
}

export const watchedResources: WatchedResource[] = [
  { key: 'gatewayClasses', group: gatewayGroup, kind: 'GatewayClass', plural: 'gatewayclasses', versions: ['v1', 'v1beta1'], statusWritten: true },
  { key: 'gateways', group: gatewayGroup, kind: 'Gateway', plural: 'gateways', versions: ['v1', 'v1beta1'], statusWritten: true },
  { key: 'httpRoutes', group: gatewayGroup, kind: 'HTTPRoute', plural: 'httproutes', versions: ['v1', 'v1beta1'], statusWritten: true },
  { key: 'grpcRoutes', group: gatewayGroup, kind: 'GRPCRoute', plural: 'grpcroutes', versions: ['v1', 'v1alpha2'], statusWritten: true },
  { key: 'tlsRoutes', group: gatewayGroup, kind: 'TLSRoute', plural: 'tlsroutes', versions: ['v1', 'v1alpha3', 'v1alpha2'], statusWritten: true },
  { key: 'tcpRoutes', group: gatewayGroup, kind: 'TCPRoute', plural: 'tcproutes', versions: ['v1alpha2'], statusWritten: true },
  { key: 'referenceGrants', group: gatewayGroup, kind: 'ReferenceGrant', plural: 'referencegrants', versions: ['v1', 'v1beta1'] },
  { key: 'backendTlsPolicies', group: gatewayGroup, kind: 'BackendTLSPolicy', plural: 'backendtlspolicies', versions: ['v1', 'v1alpha3', 'v1alpha2'], statusWritten: true },
  { key: 'ingresses', group: 'networking.k8s.io', kind: 'Ingress', plural: 'ingresses', versions: ['v1'], statusWritten: true },
  { key: 'ingressClasses', group: 'networking.k8s.io', kind: 'IngressClass', plural: 'ingressclasses', versions: ['v1'] },
  { key: 'secrets', group: '', kind: 'Secret', plural: 'secrets', versions: ['v1'] },
  { key: 'configMaps', group: '', kind: 'ConfigMap', plural: 'configmaps', versions: ['v1'] },
  { key: 'services', group: '', kind: 'Service', plural: 'services', versions: ['v1'] },
  { key: 'endpointSlices', group: 'discovery.k8s.io', kind: 'EndpointSlice', plural: 'endpointslices', versions: ['v1'] },
  { key: 'namespaces', group: '', kind: 'Namespace', plural: 'namespaces', versions: ['v1'] },
];

export function apiVersionOf(resource: WatchedResource, version: string): string {
  return resource.group ? `${resource.group}/${version}` : version;
}

export function collectionPath(resource: WatchedResource, version: string): string {
  return resource.group ? `/apis/${resource.group}/${version}/${resource.plural}` : `/api/${version}/${resource.plural}`;
}
