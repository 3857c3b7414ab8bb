// The IR: the only contract between the controller and the proxy (DESIGN.md). The
// controller's translator produces one ProxyConfig from a snapshot of the cluster; the
// proxy's admin API takes it whole (PUT), checks it with validateConfig, and swaps it in
// atomically. Nothing here is a Kubernetes object: every Gateway API rule that needs
// the cluster (hostname intersection, ReferenceGrant, allowedRoutes, conflicts, which
// backendRefs are invalid) has already been applied; what remains is what the proxy
// needs to serve traffic, plus names for logs and messages.
//
// Conventions:
// - Hostnames are normalized: lower case, no trailing dot, optionally `*.` first.
// - Arrays are ordered; where order matters the doc says how.
// - Times are milliseconds; weights are Gateway API weights (0–1,000,000).
// - PEM strings carry key material: never log them, never echo them in messages.

/**
 * The whole configuration of one proxy. The proxy serves exactly these listeners; a
 * listener not in the document is closed.
 */
export interface ProxyConfig {
  /**
   * Opaque version chosen by the controller (a hash or a counter). The proxy does not
   * interpret it; it reports it back as the acknowledged version once applied.
   */
  version: string;
  listeners: Listener[];
}

/**
 * The Gateway API listener protocols we serve.
 * - `HTTP`: plaintext HTTP/1.1 (and h2c prior knowledge, for GRPCRoute).
 * - `HTTPS`: TLS terminated by the proxy, HTTP inside.
 * - `TLS`: TLS dispatched by SNI before anything else — passed through untouched
 *   (`tls.mode: Passthrough`) or terminated with a TCP stream inside.
 * - `TCP`: plaintext TCP forwarded as is.
 */
export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP';

/**
 * One socket the proxy binds: an address and a port. Every Gateway listener (and every
 * Ingress host) served on the same address and port is merged into one IR listener and
 * appears as one of its server blocks; each Gateway may have its own loopback address.
 *
 * `protocol` says what the proxy does first on a new connection, and constrains the
 * server blocks:
 * - `HTTP`  — speak HTTP; every block is `HTTP`.
 * - `HTTPS` — read the ClientHello, terminate; every block is `HTTPS`.
 * - `TLS`   — read the ClientHello and dispatch by SNI; blocks are `TLS` or `HTTPS`
 *   (Gateway API lets HTTPS and TLS listeners share a port; the SNI picks one).
 * - `TCP`   — forward bytes; exactly one `TCP` block, without hostname.
 *
 * Routes are flat lists tagged with the id of the server block they belong to, so a
 * request or connection is only ever routed among the routes of its block (Gateway API
 * listener isolation, GEP-1713 / Listener.hostname docs).
 */
export interface Listener {
  /** Unique in the document; names the listener in logs and metrics, e.g. `127.0.10.1:443`. */
  name: string;
  /** IPv4 or IPv6 literal to bind. */
  address: string;
  /** 1–65535. */
  port: number;
  protocol: ListenerProtocol;
  /**
   * The virtual hosts of this socket, one per Gateway listener (or Ingress host),
   * selected by hostname: exact, then the most specific wildcard, then the block
   * without hostname (the catch-all).
   *
   * Default block for TLS clients that send no SNI (e.g. `curl https://10.0.0.1/`,
   * RFC 6066 §3 forbids IP literals in SNI): the catch-all block if there is one, else
   * the FIRST block in this array whose TLS mode is Terminate. The controller orders
   * blocks deterministically (Gateway listener order, Gateways oldest first) so the
   * choice is stable. A client that sends an SNI no block serves is refused
   * (unrecognized_name); it never gets the default certificate.
   */
  serverBlocks: ServerBlock[];
  /** HTTPRoute and Ingress rules, for blocks of protocol HTTP or HTTPS. */
  httpRoutes: HttpRoute[];
  /** GRPCRoute rules, for blocks of protocol HTTP or HTTPS. See GrpcRoute for why they are separate. */
  grpcRoutes: GrpcRoute[];
  /** TCPRoute (and TLSRoute on a terminating listener) for TCP blocks and TLS blocks in Terminate mode. */
  tcpRoutes: TcpRoute[];
  /** TLSRoute for TLS blocks in Passthrough mode: SNI → backends, stream untouched. */
  tlsPassthrough: PassthroughRoute[];
}

/**
 * Hostname in normalized form (lower case, no trailing dot): an RFC 1123 name,
 * optionally with a leading wildcard label `*.` matching one or more labels.
 */
export type Hostname = string;

/** A hostname without wildcard (Gateway API `PreciseHostname`). */
export type PreciseHostname = string;

/**
 * A virtual host of a listener: what one Gateway listener (or one Ingress host) serves
 * on this address and port.
 */
export interface ServerBlock {
  /** Unique within the listener; routes refer to it. E.g. `gateway/default/kong/https`. */
  id: string;
  /** The protocol of the Gateway listener it comes from. */
  protocol: ListenerProtocol;
  /** Hostnames served: exact, wildcard, or absent for all (the catch-all). Unique within the listener. */
  hostname?: Hostname;
  /** Required for HTTPS (Terminate) and TLS (Terminate or Passthrough); absent for HTTP and TCP. */
  tls?: TlsSettings;
  /** Where the block comes from, for messages: e.g. `Gateway default/kong listener https`. */
  sources: string[];
}

export type TlsMode = 'Terminate' | 'Passthrough';

export type TlsSettings = TlsTermination | TlsPassthrough;

/** The proxy completes the handshake with one of these certificates and reads the stream. */
export interface TlsTermination {
  mode: 'Terminate';
  /**
   * At least one. Several let RSA and ECDSA both be offered: the proxy picks per
   * ClientHello (ECDSA when the client lists an ECDSA signature scheme, else RSA).
   * Among certificates of one key type, the first wins.
   */
  certificates: TlsCertificate[];
  /**
   * ALPN protocols offered, in server preference order (RFC 7301 §3.2), e.g.
   * `['h2', 'http/1.1']`. Absent: `['h2', 'http/1.1', 'http/1.0']` on HTTPS blocks
   * (GRPCRoute over HTTPS needs h2 via ALPN, GRPCRoute docs), none on TLS blocks.
   */
  alpnProtocols?: string[];
  /**
   * Client certificate validation (frontend mTLS, GEP-91): the Gateway's
   * `spec.tls.frontend.default.validation`, or the `spec.tls.frontend.perPort` entry
   * for this listener's port, resolved by the controller. Absent: no client
   * certificate is asked for.
   */
  clientValidation?: ClientValidation;
}

/** The proxy reads only the ClientHello (for the SNI) and forwards the raw stream. */
export interface TlsPassthrough {
  mode: 'Passthrough';
}

/** Which kind of key a certificate holds; the proxy matches it to the client's signature schemes. */
export type CertificateKeyType = 'RSA' | 'ECDSA' | 'Ed25519';

/** A certificate chain and its private key, from a `kubernetes.io/tls` Secret. */
export interface TlsCertificate {
  /** Unique within its list; names the certificate in logs and metrics, e.g. `default/demo.example.com`. */
  id: string;
  /** The object it was read from, for messages: e.g. `Secret default/demo.example.com`. */
  source: string;
  /** The type of `privateKeyPem`, checked by the validator. */
  keyType: CertificateKeyType;
  /** PEM certificates, leaf first, then intermediates (`tls.crt`). */
  certificateChainPem: string;
  /** PEM private key, unencrypted (`tls.key`). Secret: never logged. */
  privateKeyPem: string;
}

/** Gateway API FrontendTLSValidation, resolved. */
export interface ClientValidation {
  /**
   * PEM CA certificates that client certificates must chain to: every
   * `caCertificateRefs` entry's `ca.crt`, concatenated (a bundle). They are also the
   * CA names the proxy sends in its CertificateRequest.
   */
  caCertificatesPem: string;
  /**
   * `validation.mode`. `AllowValidOnly` (the API default): a client without a valid
   * certificate is refused during or right after the handshake. `AllowInsecureFallback`:
   * a certificate is asked for, and the connection is served whatever the client sends.
   */
  mode: 'AllowValidOnly' | 'AllowInsecureFallback';
}

/** Route kinds the IR records, for logs and for the precedence tie-breaks. */
export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TCPRoute' | 'TLSRoute' | 'Ingress';

/**
 * Which object a route came from. Also its cross-route precedence key: when two
 * routes' matches tie, the Gateway API gives precedence to "the oldest Route based on
 * creation timestamp", then "the Route appearing first in alphabetical order by
 * {namespace}/{name}" (HTTPRouteRule.matches and GRPCRouteRule.matches docs).
 */
export interface RouteSource {
  kind: RouteKind;
  namespace: string;
  name: string;
  /** `metadata.creationTimestamp`, RFC 3339 (e.g. `2024-05-01T10:00:00Z`). */
  creationTimestamp: string;
}

/**
 * An HTTPRoute (or an Ingress) as attached to one server block. A route attached to
 * several blocks appears once per block.
 */
export interface HttpRoute {
  source: RouteSource;
  /** Id of the server block (of this listener) it belongs to. */
  serverBlock: string;
  /**
   * Hostnames it serves on that block, already intersected with the block's hostname
   * by the controller. Empty: every host the block serves.
   */
  hostnames: Hostname[];
  /** In the route's order: among equal matches, the first rule wins. */
  rules: HttpRouteRule[];
}

export interface HttpRouteRule {
  /** The rule's `name`, if set (Gateway API section name), for logs. */
  name?: string;
  /** Any one suffices (OR). Empty: every request, like the API default PathPrefix `/`. */
  matches: HttpRouteMatch[];
  /** Applied in order (HTTPRouteRule.filters docs: "implementations SHOULD implement filters in the order they are specified"). */
  filters: HttpFilter[];
  /**
   * Weighted backends. A request goes to one with probability weight/sum(weights);
   * the share of an InvalidBackend is answered 500 (HTTPRouteRule.backendRefs docs).
   */
  backends: WeightedHttpBackend[];
  /**
   * Set when the controller found every backendRef invalid, or the weights all zero:
   * every request the rule matches is answered with this status (500 per
   * HTTPRouteRule.backendRefs docs). A rule needs backends, a RequestRedirect filter,
   * or this.
   */
  invalidBackendResponse?: DirectResponse;
  timeouts?: HttpTimeouts;
  /** HTTPRouteRule.retry: when and how often a failed backend request is sent again. Absent: never (beyond connect failures). */
  retry?: HttpRetryPolicy;
}

/** All present conditions must hold (AND). */
export interface HttpRouteMatch {
  /** Absent: PathPrefix `/`. */
  path?: PathMatch;
  headers?: HeaderMatch[];
  queryParams?: QueryParamMatch[];
  method?: HttpMethod;
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';

/**
 * - `Exact`: the path equals `value` (case-sensitive).
 * - `PathPrefix`: element-wise prefix; a trailing `/` in `value` is ignored, so `/foo`
 *   matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`.
 * - `RegularExpression`: the whole path matches `value` (dialect: see src/ir/regex.ts).
 */
export interface PathMatch {
  type: PathMatchType;
  value: string;
}

export type ValueMatchType = 'Exact' | 'RegularExpression';

/** Header names compare case-insensitively; values exactly or by whole-value regex. */
export interface HeaderMatch {
  type: ValueMatchType;
  name: string;
  value: string;
}

/** Query parameter names compare exactly; the first value of a repeated parameter is used. */
export interface QueryParamMatch {
  type: ValueMatchType;
  name: string;
  value: string;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';

export interface HttpHeader {
  name: string;
  value: string;
}

/** Gateway API HTTPHeaderFilter: set overwrites, add appends, remove deletes. */
export interface HeaderModifier {
  set?: HttpHeader[];
  add?: HttpHeader[];
  remove?: string[];
}

export interface RequestHeaderModifierFilter extends HeaderModifier {
  type: 'RequestHeaderModifier';
}

export interface ResponseHeaderModifierFilter extends HeaderModifier {
  type: 'ResponseHeaderModifier';
}

export type RedirectStatusCode = 301 | 302 | 303 | 307 | 308;

/**
 * Answers with a redirect instead of forwarding. Absent fields keep the request's
 * value; an absent port follows the Gateway API rule (scheme's well-known port when a
 * scheme is set, else the listener port), which the proxy applies since it knows the port.
 */
export interface RequestRedirectFilter {
  type: 'RequestRedirect';
  scheme?: 'http' | 'https';
  hostname?: PreciseHostname;
  path?: PathModifier;
  port?: number;
  statusCode: RedirectStatusCode;
}

export interface UrlRewriteFilter {
  type: 'URLRewrite';
  /** Replaces the Host header sent upstream. */
  hostname?: PreciseHostname;
  path?: PathModifier;
}

/**
 * `ReplacePrefixMatch` replaces the part of the path the rule's PathPrefix match
 * matched (element-wise, Gateway API HTTPPathModifier table); it requires the rule
 * to have exactly one match, of type PathPrefix.
 */
export type PathModifier =
  | { type: 'ReplaceFullPath'; replaceFullPath: string }
  | { type: 'ReplacePrefixMatch'; replacePrefixMatch: string };

/**
 * Gateway API HTTPCORSFilter (extended: HTTPRouteCORS): the proxy answers CORS preflight
 * requests itself (OPTIONS with Origin and Access-Control-Request-Method) and adds the
 * CORS response headers to the answers of allowed origins (Fetch standard §3.2).
 */
export interface CorsFilter {
  type: 'CORS';
  /**
   * `*` alone (any origin), or origins `scheme://host[:port]` (scheme `http` or
   * `https`, lower case) whose host may be `*` or start with `*.` (one or more labels).
   * Without a port the scheme's default port (80, 443) is meant. Empty: no origin.
   */
  allowOrigins: string[];
  /** Sends `Access-Control-Allow-Credentials: true`; with it, no `*` is ever sent back. */
  allowCredentials: boolean;
  /** HTTP methods, or `['*']` for any. */
  allowMethods: string[];
  /** Request header names, or `['*']` for any. */
  allowHeaders: string[];
  /** Response header names exposed to scripts, or `['*']`. */
  exposeHeaders: string[];
  /** `Access-Control-Max-Age` of preflight answers, in seconds (API default 5). */
  maxAgeSeconds: number;
}

/**
 * Gateway API HTTPRequestMirrorFilter (extended: HTTPRouteRequestMirror, …MultipleMirrors,
 * …PercentageMirror): a copy of each request (or of a share of them) goes to `backend`,
 * with the rule's request header edits applied; its answer is read and dropped, and it
 * never delays or changes the client's answer. A rule may carry several. A request body
 * is mirrored only when small enough for the proxy to hold.
 */
export interface RequestMirrorFilter {
  type: 'RequestMirror';
  /** An InvalidBackend (missing Service, refused reference …) gets no copies. */
  backend: HttpBackend | InvalidBackend;
  /** The share of requests mirrored: `percent` as n/100, or `fraction`. Absent: every request. */
  share?: { numerator: number; denominator: number };
}

export type HttpFilter = RequestHeaderModifierFilter | ResponseHeaderModifierFilter | RequestRedirectFilter | UrlRewriteFilter | CorsFilter | RequestMirrorFilter;

export type HttpFilterType = HttpFilter['type'];

export interface DirectResponse {
  /** HTTP status, 400–599. */
  status: number;
  /** Why, for logs (not sent to the client). */
  reason: string;
}

/** Gateway API HTTPRouteTimeouts in milliseconds; 0 disables the timeout. */
export interface HttpTimeouts {
  requestMs?: number;
  backendRequestMs?: number;
}

/**
 * Gateway API HTTPRouteRetry (GEP-1731), resolved. A request is sent again, after at
 * least `backoffMs` (doubling per retry, up to ten times that), when its answer's status
 * is one of `codes`, when the connection to the backend failed or was reset before an
 * answer, or when the rule's backendRequest timeout expired; at most `attempts` times,
 * and never past the rule's request timeout. A request body is replayed only when it is
 * small enough to be held (the proxy's limit); a larger one is sent once.
 */
export interface HttpRetryPolicy {
  /** HTTP statuses 400–599 that make the proxy try again. */
  codes: number[];
  /** Retries after the first attempt, 1 or more. */
  attempts: number;
  /** Minimum wait before a retry, in milliseconds. */
  backoffMs: number;
}

/** One ready endpoint of a backend (from EndpointSlices). */
export interface Endpoint {
  address: string;
  port: number;
}

/**
 * How the proxy speaks to an HTTP backend (GEP-1911, Service `appProtocol`):
 * `HTTP/2` is prior-knowledge h2c (`kubernetes.io/h2c`, the default for GRPCRoute
 * backends) without upstream TLS, and h2 via ALPN with it. WebSocket
 * (`kubernetes.io/ws`) is HTTP/1.1 with Upgrade.
 */
export type UpstreamProtocol = 'HTTP/1.1' | 'HTTP/2';

/** A resolved backend: its ready endpoints. No endpoints: the proxy answers 503 (HTTP) or refuses (TCP). */
export interface Backend {
  kind: 'Resolved';
  /** For logs: e.g. `Service default/echo port 1027`. */
  name: string;
  weight: number;
  endpoints: Endpoint[];
  /** BackendTLSPolicy: re-encrypt to the backend. Not allowed on passthrough routes. */
  tls?: UpstreamTls;
  /**
   * Send a PROXY protocol header first on every connection to this backend, so it
   * learns the client's address and port (haproxy's proxy-protocol.txt). Absent: off.
   * Stream backends only (TCPRoute, TLSRoute passthrough or terminated); the validator
   * refuses it on HTTP backends, which get X-Forwarded-For instead.
   */
  proxyProtocol?: ProxyProtocol;
}

/** Which PROXY protocol header to send. Only the binary version 2 for now. */
export interface ProxyProtocol {
  version: 'V2';
}

export interface HttpBackend extends Backend {
  protocol: UpstreamProtocol;
  /**
   * HTTPBackendRef.filters: header modifiers applied only to requests this backend
   * gets, after the rule's own filters (extended: HTTPRouteBackendRequestHeaderModification).
   */
  filters?: BackendFilter[];
}

/** The filters a backendRef may carry. */
export type BackendFilter = RequestHeaderModifierFilter | ResponseHeaderModifierFilter;

/**
 * A backendRef the controller could not use (missing Service, ReferenceGrant refused,
 * unsupported kind, invalid CA ref …). Its weight still counts: the requests it would
 * have had are answered 500 (HTTP), UNAVAILABLE (gRPC) or refused (streams).
 */
export interface InvalidBackend {
  kind: 'Invalid';
  name: string;
  weight: number;
  /** For logs: what the controller found wrong. */
  reason: string;
}

export type WeightedHttpBackend = HttpBackend | InvalidBackend;
export type WeightedBackend = Backend | InvalidBackend;

/** BackendTLSPolicy, resolved. */
export interface UpstreamTls {
  /** `validation.hostname`: sent as SNI, and verified against the certificate unless subjectAltNames are given. */
  serverName: PreciseHostname;
  /** Whom to trust: the policy's CA bundle, or the system store (`wellKnownCACertificates: System`). */
  trust: { kind: 'CaBundle'; caCertificatesPem: string } | { kind: 'System' };
  /** When non-empty, the backend certificate must carry one of these instead of `serverName`. */
  subjectAltNames?: SubjectAltName[];
  /** Gateway `spec.tls.backend.clientCertificateRef`: presented to backends that ask. */
  clientCertificate?: TlsCertificate;
}

export type SubjectAltName = { type: 'Hostname'; hostname: Hostname } | { type: 'URI'; uri: string };

/**
 * A GRPCRoute as attached to one server block.
 *
 * GRPCRoutes are kept apart from HTTPRoutes rather than lowered into HTTP matches
 * because the Gateway API gives them different semantics: their own precedence
 * (hostname first, then characters of service, then of method, then header count —
 * GRPCRouteRule.matches docs), "Merging MUST not be done between GRPCRoutes and
 * HTTPRoutes", invalid backends answer gRPC UNAVAILABLE rather than HTTP 500, and only
 * header filters apply. The controller guarantees that an HTTPRoute and a GRPCRoute
 * on one block never serve intersecting hostnames (it accepts only one, GRPCRouteSpec
 * docs), so for a given Host at most one kind applies; the validator checks it.
 */
export interface GrpcRoute {
  source: RouteSource;
  serverBlock: string;
  /** As HttpRoute.hostnames. */
  hostnames: Hostname[];
  rules: GrpcRouteRule[];
}

export interface GrpcRouteRule {
  name?: string;
  /** Any one suffices. Empty: every gRPC request. */
  matches: GrpcRouteMatch[];
  filters: GrpcFilter[];
  /** Default protocol for gRPC backends is HTTP/2. */
  backends: WeightedHttpBackend[];
  /** Set when every backendRef is invalid: answered with this gRPC status (UNAVAILABLE = 14). */
  invalidBackendResponse?: GrpcDirectResponse;
}

export interface GrpcRouteMatch {
  /** Absent: any service and method. */
  method?: GrpcMethodMatch;
  headers?: HeaderMatch[];
}

/**
 * Matches the request path `/<service>/<method>`. At least one of service and method.
 * `Exact` compares names; `RegularExpression` matches each whole name.
 */
export interface GrpcMethodMatch {
  type: ValueMatchType;
  service?: string;
  method?: string;
}

export type GrpcFilter = RequestHeaderModifierFilter | ResponseHeaderModifierFilter;

export interface GrpcDirectResponse {
  /** gRPC status code 1–16 (14 UNAVAILABLE for invalid backends). */
  grpcStatus: number;
  reason: string;
}

/**
 * A TCPRoute (or a TLSRoute attached to a terminating TLS listener) on one block:
 * the decrypted or plaintext stream goes to one of the backends. When several routes
 * serve the same SNI on a block, the one with precedence (oldest, then
 * namespace/name) is used.
 */
export interface TcpRoute {
  source: RouteSource;
  serverBlock: string;
  /** SNI hostnames (TLS blocks only). Empty: any. */
  hostnames: Hostname[];
  backends: WeightedBackend[];
}

/**
 * A TLSRoute on a Passthrough block: the ClientHello's SNI selects it (exact, then the
 * most specific wildcard, then a route without hostnames) and the untouched stream goes
 * to one of the backends. Backends here never have `tls`.
 */
export interface PassthroughRoute {
  source: RouteSource;
  serverBlock: string;
  /** SNI hostnames, intersected with the block's hostname. Empty: any SNI, and clients without SNI. */
  hostnames: Hostname[];
  backends: WeightedBackend[];
}
