// The Gateway API and Ingress objects as the controller reads them: the fields our
// translation uses, typed. Versions differ only in fields we tolerate being absent
// (TLSRoute v1alpha2/v1alpha3/v1, ReferenceGrant v1beta1/v1).
import type { V1Ingress, V1IngressClass, V1Namespace, V1Secret, V1ConfigMap, V1Service, V1EndpointSlice } from '@kubernetes/client-node';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string | Date;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface GatewayClass {
  apiVersion: string;
  kind: 'GatewayClass';
  metadata: ObjectMeta;
  spec: { controllerName: string; parametersRef?: unknown; description?: string };
  status?: { conditions?: Condition[]; supportedFeatures?: ({ name: string } | string)[] };
}

export interface SecretObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
}

export type ProtocolType = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP' | string;
export type TLSModeType = 'Terminate' | 'Passthrough';

export interface RouteGroupKind {
  group?: string;
  kind: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface GatewayListener {
  name: string;
  hostname?: string;
  port: number;
  protocol: ProtocolType;
  tls?: {
    mode?: TLSModeType;
    certificateRefs?: SecretObjectReference[];
    options?: Record<string, string>;
  };
  allowedRoutes?: {
    namespaces?: { from?: 'All' | 'Same' | 'Selector'; selector?: LabelSelector };
    kinds?: RouteGroupKind[];
  };
}

/** ObjectReference (shared_types.go): group and kind are required by the CRD. */
export interface ObjectReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

export type FrontendValidationMode = 'AllowValidOnly' | 'AllowInsecureFallback';

/** FrontendTLSValidation (GEP-91): whom client certificates must chain to, and whether they are required. */
export interface FrontendTLSValidation {
  caCertificateRefs: ObjectReference[];
  mode?: FrontendValidationMode;
}

export interface FrontendTLSSettings {
  validation?: FrontendTLSValidation;
}

/** Gateway spec.tls (Gateway API v1.4+): client certificate validation per port, and the certificate presented to backends. */
export interface GatewayTLSConfig {
  frontend?: { default: FrontendTLSSettings; perPort?: { port: number; tls: FrontendTLSSettings }[] };
  backend?: { clientCertificateRef?: SecretObjectReference };
}

export interface GatewayStatusAddress {
  type?: 'IPAddress' | 'Hostname' | string;
  value: string;
}

export interface ListenerStatus {
  name: string;
  supportedKinds: RouteGroupKind[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface Gateway {
  apiVersion: string;
  kind: 'Gateway';
  metadata: ObjectMeta;
  spec: {
    gatewayClassName: string;
    listeners: GatewayListener[];
    addresses?: GatewayStatusAddress[];
    infrastructure?: unknown;
    tls?: GatewayTLSConfig;
  };
  status?: { addresses?: GatewayStatusAddress[]; conditions?: Condition[]; listeners?: ListenerStatus[] };
}

export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: HTTPRouteFilter[];
}

export interface HTTPHeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}

export interface HTTPRouteMatch {
  path?: { type?: 'Exact' | 'PathPrefix' | 'RegularExpression'; value?: string };
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPHeaderMatch[];
  method?: string;
}

export interface HTTPHeaderFilter {
  set?: { name: string; value: string }[];
  add?: { name: string; value: string }[];
  remove?: string[];
}

export interface HTTPPathModifier {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  replaceFullPath?: string;
  replacePrefixMatch?: string;
}

export interface HTTPRouteFilter {
  type: 'RequestHeaderModifier' | 'ResponseHeaderModifier' | 'RequestRedirect' | 'URLRewrite' | 'RequestMirror' | 'ExtensionRef' | string;
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestRedirect?: { scheme?: string; hostname?: string; path?: HTTPPathModifier; port?: number; statusCode?: number };
  urlRewrite?: { hostname?: string; path?: HTTPPathModifier };
  cors?: HTTPCORSFilter;
  requestMirror?: { backendRef: BackendRef; percent?: number; fraction?: { numerator: number; denominator?: number } };
}

export interface HTTPCORSFilter {
  allowOrigins?: string[];
  allowCredentials?: boolean;
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
}

export interface HTTPRouteRule {
  name?: string;
  matches?: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
  timeouts?: { request?: string; backendRequest?: string };
  retry?: { codes?: number[]; attempts?: number; backoff?: string };
}

export interface GRPCRouteMatch {
  method?: { type?: 'Exact' | 'RegularExpression'; service?: string; method?: string };
  headers?: HTTPHeaderMatch[];
}

export interface GRPCRouteRule {
  name?: string;
  matches?: GRPCRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: BackendRef[];
}

export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

interface RouteBase<K extends string, Spec> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec & { parentRefs?: ParentReference[] };
  status?: { parents?: RouteParentStatus[] };
}

export type HTTPRoute = RouteBase<'HTTPRoute', { hostnames?: string[]; rules?: HTTPRouteRule[] }>;
export type GRPCRoute = RouteBase<'GRPCRoute', { hostnames?: string[]; rules?: GRPCRouteRule[] }>;
export type TLSRoute = RouteBase<'TLSRoute', { hostnames?: string[]; rules?: { name?: string; backendRefs?: BackendRef[] }[] }>;
export type TCPRoute = RouteBase<'TCPRoute', { rules?: { name?: string; backendRefs?: BackendRef[] }[] }>;
export type Route = HTTPRoute | GRPCRoute | TLSRoute | TCPRoute;
export type RouteKind = Route['kind'];

export interface ReferenceGrant {
  apiVersion: string;
  kind: 'ReferenceGrant';
  metadata: ObjectMeta;
  spec: {
    from: { group: string; kind: string; namespace: string }[];
    to: { group: string; kind: string; name?: string }[];
  };
}

export interface BackendTLSPolicy {
  apiVersion: string;
  kind: 'BackendTLSPolicy';
  metadata: ObjectMeta;
  spec: {
    targetRefs: { group: string; kind: string; name: string; sectionName?: string }[];
    validation: {
      caCertificateRefs?: { group: string; kind: string; name: string }[];
      /** `System`, or an implementation's own prefixed name (none is ours). */
      wellKnownCACertificates?: string;
      hostname: string;
      subjectAltNames?: { type: 'Hostname' | 'URI'; hostname?: string; uri?: string }[];
    };
  };
  status?: { ancestors?: PolicyAncestorStatus[] };
}

export interface PolicyAncestorStatus {
  ancestorRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

/** Everything translation reads: a consistent copy of the caches at one moment. */
export interface Snapshot {
  gatewayClasses: GatewayClass[];
  gateways: Gateway[];
  httpRoutes: HTTPRoute[];
  grpcRoutes: GRPCRoute[];
  tlsRoutes: TLSRoute[];
  tcpRoutes: TCPRoute[];
  referenceGrants: ReferenceGrant[];
  backendTlsPolicies: BackendTLSPolicy[];
  ingresses: V1Ingress[];
  ingressClasses: V1IngressClass[];
  secrets: V1Secret[];
  configMaps: V1ConfigMap[];
  services: V1Service[];
  endpointSlices: V1EndpointSlice[];
  namespaces: V1Namespace[];
}

export const gatewayGroup = 'gateway.networking.k8s.io';
export const controllerName = 'portcullis.dev/gateway-controller';
export const ingressClassName = 'portcullis';
