// From a validated IR document to what the data plane serves from: per listener, the
// compiled route table, the TLS dispatch, one SecureContext per certificate, and a
// load-balancing plan per rule and route with its upstream pools. Everything here is
// built once, when a config is applied; the hot path only looks things up.
//
// A compiled config is one *generation*. A connection captures the generation of its
// listener when accepted and keeps it to the end (in-flight connections finish on the
// config they started with). A superseded generation is *retired*: HTTP/2 sessions get
// a GOAWAY, HTTP/1.1 responses carry `Connection: close`, so clients move to the new
// config on their next connection; once its last connection closes it is *disposed*
// and its upstream pools released.
import { createHash } from 'node:crypto';
import tls, { type SecureContext } from 'node:tls';
import type {
  ClientValidation,
  GrpcRouteRule,
  HttpBackend,
  HttpRouteRule,
  InvalidBackend,
  Listener,
  PassthroughRoute,
  ProxyConfig,
  RequestRedirectFilter,
  TcpRoute,
  TlsCertificate,
  UrlRewriteFilter,
  WeightedHttpBackend,
} from '../ir/types.js';
import { PortcullisError, errorMessage } from '../lib/errors.js';
import { buildTlsDispatch, type TlsDispatch } from './certificate-selection.js';
import { compileCors, type CorsPolicy } from './cors.js';
import { compileHeaderModifier, type HeaderEdits } from './http-filters.js';
import { RoundRobin, SmoothWeightedRoundRobin } from './load-balancing.js';
import type { ProxyOptions } from './proxy-options.js';
import { buildRouteTable, type RouteTable } from './route-table.js';
import { StreamBackendPlan } from './stream-forwarder.js';
import type { HttpUpstream, UpstreamRegistry } from './upstream-pools.js';

/** `address|port`: the identity of a bound socket across configurations. */
export function listenerKey(listener: Pick<Listener, 'address' | 'port'>): string {
  return `${listener.address}|${listener.port}`;
}

// ---------------------------------------------------------------------------------
// Generations

let nextGenerationId = 1;

export class ConfigGeneration {
  readonly id = nextGenerationId++;
  private holds = 0;
  private retiredFlag = false;
  private disposed = false;
  private readonly retireHooks: (() => void)[] = [];
  private readonly disposeHooks: (() => void)[] = [];

  constructor(readonly version: string) {}

  get retired(): boolean {
    return this.retiredFlag;
  }

  /** Keeps the generation alive for one connection; call the returned function when it closes. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.disposeIfIdle();
    };
  }

  onRetire(hook: () => void): void {
    if (this.retiredFlag) hook();
    else this.retireHooks.push(hook);
  }

  onDispose(hook: () => void): void {
    if (this.disposed) hook();
    else this.disposeHooks.push(hook);
  }

  retire(): void {
    if (this.retiredFlag) return;
    this.retiredFlag = true;
    for (const hook of this.retireHooks.splice(0)) runHook(hook);
    this.disposeIfIdle();
  }

  get openConnections(): number {
    return this.holds;
  }

  private disposeIfIdle(): void {
    if (!this.retiredFlag || this.holds > 0 || this.disposed) return;
    this.disposed = true;
    for (const hook of this.disposeHooks.splice(0)) runHook(hook);
  }
}

function runHook(hook: () => void): void {
  try {
    hook();
  } catch {
    // A failing cleanup must not stop the others.
  }
}

// ---------------------------------------------------------------------------------
// Plans

export type HttpBackendChoice =
  | { kind: 'invalid'; backend: InvalidBackend }
  | { kind: 'resolved'; backend: HttpBackend; upstreams: RoundRobin<HttpUpstream>; requestHeaders?: HeaderEdits; responseHeaders?: HeaderEdits };

/** What an HTTPRoute rule does, precomputed. */
export interface HttpRulePlan {
  readonly rule: HttpRouteRule;
  readonly backends: SmoothWeightedRoundRobin<HttpBackendChoice>;
  readonly requestHeaders?: HeaderEdits;
  readonly responseHeaders?: HeaderEdits;
  readonly redirect?: RequestRedirectFilter;
  readonly rewrite?: UrlRewriteFilter;
  readonly cors?: CorsPolicy;
  /** RequestMirror filters, in order: where copies of requests go. */
  readonly mirrors?: readonly MirrorPlan[];
  /** Every upstream pool the plan holds a reference to (a generation that reuses the plan takes them again). */
  readonly upstreams: readonly HttpUpstream[];
}

/** One RequestMirror filter: its backend (one choice, maybe invalid) and the share of requests copied. */
export interface MirrorPlan {
  readonly backends: SmoothWeightedRoundRobin<HttpBackendChoice>;
  readonly share?: { readonly numerator: number; readonly denominator: number };
}

export interface GrpcRulePlan {
  readonly rule: GrpcRouteRule;
  readonly backends: SmoothWeightedRoundRobin<HttpBackendChoice>;
  readonly requestHeaders?: HeaderEdits;
  readonly responseHeaders?: HeaderEdits;
  /** As HttpRulePlan.upstreams. */
  readonly upstreams: readonly HttpUpstream[];
}

/** What serves HTTP on a listener generation; created on first use by the HTTP frontend. */
export interface HttpFrontendHandle {
  /** Ask clients to move on (GOAWAY, Connection: close). */
  drain(): void;
  close(): void;
  /** Close HTTP/1.1 keep-alive connections `select` picks (by the SecureContext of a TLS one) once they are idle; how many it picked. */
  closeWhenIdle(select: (secureContext: SecureContext | undefined) => boolean): number;
}

export class RuntimeListener {
  readonly key: string;
  /** Set by the HTTP frontend on the first HTTP connection. */
  httpFrontend: HttpFrontendHandle | undefined;

  constructor(
    readonly ir: Listener,
    readonly generation: ConfigGeneration,
    readonly routeTable: RouteTable,
    readonly tlsDispatch: TlsDispatch | undefined,
    private readonly contexts: ReadonlyMap<TlsCertificate, SecureContext>,
    private readonly httpPlans: ReadonlyMap<HttpRouteRule, HttpRulePlan>,
    private readonly grpcPlans: ReadonlyMap<GrpcRouteRule, GrpcRulePlan>,
    private readonly streamPlans: ReadonlyMap<TcpRoute | PassthroughRoute, StreamBackendPlan>,
  ) {
    this.key = listenerKey(ir);
  }

  get name(): string {
    return this.ir.name;
  }

  secureContextOf(certificate: TlsCertificate): SecureContext | undefined {
    return this.contexts.get(certificate);
  }

  httpPlan(rule: HttpRouteRule): HttpRulePlan | undefined {
    return this.httpPlans.get(rule);
  }

  grpcPlan(rule: GrpcRouteRule): GrpcRulePlan | undefined {
    return this.grpcPlans.get(rule);
  }

  streamPlan(route: TcpRoute | PassthroughRoute): StreamBackendPlan | undefined {
    return this.streamPlans.get(route);
  }

  /**
   * This compiled listener in a new generation, for a config whose listener is this very
   * IR object (config-delta.ts keeps it): the route table and plans are shared, and
   * `hold` takes a reference on every upstream pool they use.
   */
  carriedInto(generation: ConfigGeneration, contexts: ReadonlyMap<TlsCertificate, SecureContext>, hold: (upstream: HttpUpstream) => void): RuntimeListener {
    for (const plan of this.httpPlans.values()) plan.upstreams.forEach(hold);
    for (const plan of this.grpcPlans.values()) plan.upstreams.forEach(hold);
    return new RuntimeListener(this.ir, generation, this.routeTable, this.tlsDispatch, contexts, this.httpPlans, this.grpcPlans, this.streamPlans);
  }
}

/** What compile took from the previous config and what it built (the apply log says it). */
export interface CompileReuse {
  /** Listeners carried whole: route table, TLS dispatch and plans. */
  listeners: number;
  /** HTTP and gRPC rule plans reused in listeners that changed. */
  rulePlans: number;
  /** Rule plans compiled. */
  compiledRulePlans: number;
}

export class RuntimeConfig {
  constructor(
    readonly ir: ProxyConfig,
    readonly generation: ConfigGeneration,
    readonly listeners: ReadonlyMap<string, RuntimeListener>,
    readonly secureContexts: BuiltSecureContexts,
    readonly reuse: CompileReuse = { listeners: 0, rulePlans: 0, compiledRulePlans: 0 },
  ) {}

  get version(): string {
    return this.ir.version;
  }

  /**
   * After `next` replaced this config: close, once idle (HttpFrontend.closeWhenIdle), the
   * keep-alive connections `next` would not serve the same way — every one of a listener
   * `next` dropped, and on the others every TLS one whose certificate `next` no longer
   * serves (a changed or removed certificate gets a new SecureContext). Clients reconnect
   * and meet the new config. Returns how many were picked.
   */
  closeStaleConnectionsWhenIdle(next: RuntimeConfig): number {
    const served = new Set<SecureContext>(next.secureContexts.byDigest.values());
    let picked = 0;
    for (const listener of this.listeners.values()) {
      const frontend = listener.httpFrontend;
      if (!frontend) continue;
      if (!next.listeners.has(listener.key)) picked += frontend.closeWhenIdle(() => true);
      else picked += frontend.closeWhenIdle((context) => context !== undefined && !served.has(context));
    }
    return picked;
  }

  /** Every keep-alive connection, once idle (shutdown). */
  closeAllConnectionsWhenIdle(): void {
    for (const listener of this.listeners.values()) listener.httpFrontend?.closeWhenIdle(() => true);
  }
}

// ---------------------------------------------------------------------------------
// Secure contexts

export interface BuiltSecureContexts {
  byCertificate: Map<TlsCertificate, SecureContext>;
  byDigest: Map<string, SecureContext>;
}

/**
 * SecureContexts by certificate content, kept from one config to the next: building
 * one costs ≈ 0.6 ms and 28 KiB (BENCH-NOTES.md), so re-applying a config with 1,000
 * unchanged certificates must not rebuild them. A retired generation keeps its own
 * references; the cache keeps only what the newest config uses.
 */
export class SecureContextCache {
  private contexts = new Map<string, SecureContext>();
  /**
   * Digests by certificate object: a config rebuilt from a diff (config-delta.ts) hands
   * back the very objects it kept, and hashing 1,000 PEM pairs again costs ≈ 6 ms.
   */
  private readonly digests = new WeakMap<TlsCertificate, { validation: ClientValidation | undefined; digest: string }>();

  constructor(private readonly ticketKeys: Buffer | undefined) {}

  /**
   * Builds (or reuses) the contexts of every Terminate certificate in `config`. Throws
   * PortcullisError naming the certificate. The cache itself changes only on adopt(),
   * when the config is committed.
   */
  build(config: ProxyConfig): BuiltSecureContexts {
    const next = new Map<string, SecureContext>();
    const byCertificate = new Map<TlsCertificate, SecureContext>();
    for (const listener of config.listeners) {
      for (const block of listener.serverBlocks) {
        if (block.tls?.mode !== 'Terminate') continue;
        const clientValidation = block.tls.clientValidation;
        for (const certificate of block.tls.certificates) {
          const digest = this.digestOf(certificate, clientValidation);
          let context = next.get(digest) ?? this.contexts.get(digest);
          if (!context) context = this.create(certificate, clientValidation, listener, block.id);
          next.set(digest, context);
          byCertificate.set(certificate, context);
        }
      }
    }
    return { byCertificate, byDigest: next };
  }

  private digestOf(certificate: TlsCertificate, clientValidation: ClientValidation | undefined): string {
    const known = this.digests.get(certificate);
    if (known && known.validation === clientValidation) return known.digest;
    const hash = createHash('sha256').update(certificate.certificateChainPem).update('\0').update(certificate.privateKeyPem);
    if (clientValidation) hash.update('\0').update(clientValidation.mode).update('\0').update(clientValidation.caCertificatesPem);
    const digest = hash.digest('base64url');
    this.digests.set(certificate, { validation: clientValidation, digest });
    return digest;
  }

  /** The committed config's contexts become the cache. */
  adopt(built: BuiltSecureContexts): void {
    this.contexts = built.byDigest;
  }

  private create(certificate: TlsCertificate, clientValidation: ClientValidation | undefined, listener: Listener, blockId: string): SecureContext {
    try {
      return tls.createSecureContext({
        cert: certificate.certificateChainPem,
        key: certificate.privateKeyPem,
        minVersion: 'TLSv1.2',
        // Session resumption (tickets) across contexts and workers: same id context, shared keys.
        // A block that validates client certificates gets its own id context (from its CAs and
        // mode): OpenSSL resumes a session only under the id context that made it, so a
        // session from a block that did not verify the client never resumes on one that does.
        sessionIdContext: clientValidation ? sessionIdContextOf(clientValidation) : 'portcullis',
        // The CAs client certificates must chain to; also sent as certificate_authorities.
        ...(clientValidation ? { ca: clientValidation.caCertificatesPem } : {}),
        ...(this.ticketKeys ? { ticketKeys: this.ticketKeys } : {}),
      });
    } catch (error) {
      // OpenSSL's messages name the failing step, never the key bytes.
      throw new PortcullisError(
        'ERR_CERTIFICATE_LOAD',
        `certificate ${certificate.id} (${certificate.source}) of listener ${listener.name} block ${blockId} could not be loaded: ${errorMessage(error)}`,
      );
    }
  }
}

/** At most 32 bytes (SSL_MAX_SID_CTX_LENGTH). */
function sessionIdContextOf(validation: ClientValidation): string {
  return createHash('sha256').update(validation.mode).update('\0').update(validation.caCertificatesPem).digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------------------------
// Compilation

export interface CompileDependencies {
  contexts: SecureContextCache;
  upstreams: UpstreamRegistry;
  options: ProxyOptions;
}

/**
 * Compiles a validated config. Throws a PortcullisError (the PUT answers 400 with it)
 * when something the validator cannot see fails, e.g. OpenSSL refusing a key.
 *
 * `previous`, the serving config, lends what it compiled for every IR object `ir` shares
 * with it (same object, not equal content: config-delta.ts makes them shared): a whole
 * listener — route table, TLS dispatch, plans — or one rule's plan. A route added to
 * 1,000 then rebuilds one route table and compiles one route's plans.
 */
export function compileConfig(ir: ProxyConfig, deps: CompileDependencies, previous?: RuntimeConfig): RuntimeConfig {
  const generation = new ConfigGeneration(ir.version);
  const contexts = deps.contexts.build(ir);
  const acquired: HttpUpstream[] = [];
  const listeners = new Map<string, RuntimeListener>();
  // A retired generation may already have released its pools.
  const lender = previous && !previous.generation.retired ? previous : undefined;
  const reuse: CompileReuse = { listeners: 0, rulePlans: 0, compiledRulePlans: 0 };
  try {
    for (const listener of ir.listeners) {
      const runtime = compileListener(listener, generation, contexts.byCertificate, deps, acquired, lender?.listeners.get(listenerKey(listener)), reuse);
      listeners.set(runtime.key, runtime);
    }
  } catch (error) {
    for (const upstream of acquired) deps.upstreams.release(upstream);
    throw error;
  }
  generation.onDispose(() => {
    for (const upstream of acquired) deps.upstreams.release(upstream);
    for (const listener of listeners.values()) listener.httpFrontend?.close();
  });
  generation.onRetire(() => {
    for (const listener of listeners.values()) listener.httpFrontend?.drain();
  });
  return new RuntimeConfig(ir, generation, listeners, contexts, reuse);
}

/** A backendRef's own header modifiers (HTTPBackendRef.filters), compiled. */
function backendHeaderEdits(backend: HttpBackend): { requestHeaders?: HeaderEdits; responseHeaders?: HeaderEdits } {
  const edits: { requestHeaders?: HeaderEdits; responseHeaders?: HeaderEdits } = {};
  for (const filter of backend.filters ?? []) {
    if (filter.type === 'RequestHeaderModifier') edits.requestHeaders = compileHeaderModifier(filter);
    else edits.responseHeaders = compileHeaderModifier(filter);
  }
  return edits;
}

function compileListener(
  listener: Listener,
  generation: ConfigGeneration,
  contexts: ReadonlyMap<TlsCertificate, SecureContext>,
  deps: CompileDependencies,
  acquired: HttpUpstream[],
  previous: RuntimeListener | undefined,
  reuse: CompileReuse,
): RuntimeListener {
  const hold = (upstream: HttpUpstream): void => {
    deps.upstreams.retain(upstream);
    acquired.push(upstream);
  };
  if (previous?.ir === listener) {
    reuse.listeners++;
    return previous.carriedInto(generation, contexts, hold);
  }
  const routeTable = buildRouteTable(listener);
  const tlsDispatch = listener.protocol === 'HTTPS' || listener.protocol === 'TLS' ? buildTlsDispatch(listener) : undefined;
  // The pools the plan being compiled takes, collected by `choices`.
  let planUpstreams: HttpUpstream[] = [];
  /** The serving config's plan for this very rule object (its pools held again), or the one `build` compiles. */
  const planFor = <Plan extends { upstreams: readonly HttpUpstream[] }>(kept: Plan | undefined, build: () => Plan): Plan => {
    if (kept) {
      reuse.rulePlans++;
      kept.upstreams.forEach(hold);
      return kept;
    }
    reuse.compiledRulePlans++;
    planUpstreams = [];
    return build();
  };
  const choices = (backends: readonly WeightedHttpBackend[]): SmoothWeightedRoundRobin<HttpBackendChoice> =>
    new SmoothWeightedRoundRobin(
      backends.map((backend) => ({
        weight: backend.weight,
        value:
          backend.kind === 'Invalid'
            ? { kind: 'invalid', backend }
            : {
                kind: 'resolved',
                backend,
                ...backendHeaderEdits(backend),
                upstreams: new RoundRobin(
                  backend.endpoints.map((endpoint) => {
                    const upstream = deps.upstreams.acquire(endpoint, backend.protocol, backend.tls);
                    acquired.push(upstream);
                    planUpstreams.push(upstream);
                    return upstream;
                  }),
                ),
              },
      })),
    );

  const httpPlans = new Map<HttpRouteRule, HttpRulePlan>();
  for (const route of listener.httpRoutes) {
    for (const rule of route.rules) {
      const plan = planFor(previous?.httpPlan(rule), () => {
        const compiled: { -readonly [K in keyof HttpRulePlan]: HttpRulePlan[K] } = { rule, backends: choices(rule.backends), upstreams: planUpstreams };
        for (const filter of rule.filters) {
          if (filter.type === 'RequestHeaderModifier') compiled.requestHeaders = compileHeaderModifier(filter);
          else if (filter.type === 'ResponseHeaderModifier') compiled.responseHeaders = compileHeaderModifier(filter);
          else if (filter.type === 'RequestRedirect') compiled.redirect = filter;
          else if (filter.type === 'URLRewrite') compiled.rewrite = filter;
          else if (filter.type === 'CORS') compiled.cors = compileCors(filter);
          else if (filter.type === 'RequestMirror') compiled.mirrors = [...(compiled.mirrors ?? []), { backends: choices([filter.backend]), ...(filter.share ? { share: filter.share } : {}) }];
        }
        return compiled;
      });
      httpPlans.set(rule, plan);
    }
  }
  const grpcPlans = new Map<GrpcRouteRule, GrpcRulePlan>();
  for (const route of listener.grpcRoutes) {
    for (const rule of route.rules) {
      const plan = planFor(previous?.grpcPlan(rule), () => {
        const compiled: { -readonly [K in keyof GrpcRulePlan]: GrpcRulePlan[K] } = { rule, backends: choices(rule.backends), upstreams: planUpstreams };
        for (const filter of rule.filters) {
          if (filter.type === 'RequestHeaderModifier') compiled.requestHeaders = compileHeaderModifier(filter);
          else if (filter.type === 'ResponseHeaderModifier') compiled.responseHeaders = compileHeaderModifier(filter);
        }
        return compiled;
      });
      grpcPlans.set(rule, plan);
    }
  }
  const streamPlans = new Map<TcpRoute | PassthroughRoute, StreamBackendPlan>();
  for (const route of [...listener.tcpRoutes, ...listener.tlsPassthrough]) streamPlans.set(route, previous?.streamPlan(route) ?? new StreamBackendPlan(route.backends));

  return new RuntimeListener(listener, generation, routeTable, tlsDispatch, contexts, httpPlans, grpcPlans, streamPlans);
}

// ---------------------------------------------------------------------------------
// Redaction

export const REDACTED = '[REDACTED]';

/** A deep copy with every private key replaced, for GET /config and logs. */
export function redactConfig(config: ProxyConfig): ProxyConfig {
  return JSON.parse(JSON.stringify(config, (key, value: unknown) => (key === 'privateKeyPem' ? REDACTED : value))) as ProxyConfig;
}
