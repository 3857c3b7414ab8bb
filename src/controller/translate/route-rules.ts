// Route rules → IR rules: matches, filters, weighted backends, and the answer for a
// rule whose backends are all invalid (500 for HTTP, UNAVAILABLE for gRPC).
import { compileFullMatchRegex } from '../../ir/regex.js';
import type {
  BackendFilter, CorsFilter, GrpcFilter, RequestMirrorFilter, GrpcRouteRule, HttpBackend, HttpFilter, HttpMethod, HttpRouteMatch, HttpRouteRule, HttpRetryPolicy, HttpTimeouts, RouteSource, WeightedBackend, WeightedHttpBackend,
} from '../../ir/types.js';
import type { BackendRef, GRPCRouteRule, HTTPCORSFilter, HTTPRouteFilter, HTTPRouteRule, ObjectMeta } from '../gatewayapi-types.js';
import { resolveBackend, type BackendIndex } from './backends.js';

export interface RuleProblems {
  /** First backend problem: the route's ResolvedRefs reason and message. */
  refs?: { reason: string; message: string };
  /** A feature we do not implement: Accepted False, UnsupportedValue. */
  unsupported?: string;
  /** BackendTLSPolicies (`namespace/name`) of the backends, reported under each Gateway the route is accepted on. */
  backendTlsPolicies?: Set<string>;
}

export function routeSource(kind: RouteSource['kind'], metadata: ObjectMeta): RouteSource {
  return { kind, namespace: metadata.namespace ?? '', name: metadata.name, creationTimestamp: isoTimestamp(metadata.creationTimestamp) };
}

const canonicalTimestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const formattedDates = new WeakMap<Date, string>();

/**
 * RFC 3339 in seconds, as the API server writes creationTimestamp. Sorting by age calls
 * this n·log n times per pass, so the usual inputs (the canonical string, or the Date the
 * client made of it) cost a regex test or a cache lookup.
 */
export function isoTimestamp(value: string | Date | undefined): string {
  if (!value) return '1970-01-01T00:00:00Z';
  if (typeof value === 'string') return canonicalTimestamp.test(value) ? value : new Date(value).toISOString().replace(/\.000Z$/, 'Z');
  let formatted = formattedDates.get(value);
  if (formatted === undefined) {
    formatted = value.toISOString().replace(/\.000Z$/, 'Z');
    formattedDates.set(value, formatted);
  }
  return formatted;
}

/** Gateway API Duration (GEP-2257): e.g. `10s`, `1m30s`, `500ms`, `1h`. */
export function durationMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  return total;
}

/**
 * HTTP and gRPC backends, re-encrypted when a BackendTLSPolicy targets their Service port;
 * a policy that cannot be used (no valid CA) makes the backend invalid: its share of
 * requests fails with a 5xx (BackendTLSPolicyValidation.caCertificateRefs docs).
 */
function resolveAll(refs: BackendRef[] | undefined, kind: string, namespace: string, index: BackendIndex, protocol: 'HTTP/1.1' | 'HTTP/2', problems: RuleProblems): WeightedHttpBackend[] {
  return (refs ?? []).map((ref) => {
    const resolution = resolveBackend(ref, kind, namespace, index, protocol);
    if (!resolution.ok) {
      problems.refs ??= { reason: resolution.reason, message: resolution.message };
      return resolution.backend;
    }
    const { name, weight, endpoints, backendTls } = resolution;
    if (backendTls) {
      problems.backendTlsPolicies ??= new Set();
      for (const policy of backendTls.reported) problems.backendTlsPolicies.add(policy);
      if (!backendTls.tls) return { kind: 'Invalid', name, weight, reason: `BackendTLSPolicy ${backendTls.policy}: ${backendTls.failure}` };
    }
    const backend: HttpBackend = { kind: 'Resolved', name, weight, endpoints, protocol: resolution.protocol };
    if (backendTls?.tls) backend.tls = backendTls.tls;
    const filters = headerModifiers(ref.filters, problems, 'on a backendRef');
    if (filters.length) backend.filters = filters;
    return backend;
  });
}

/**
 * Stream routes (TLSRoute, TCPRoute) take no protocol, and no upstream TLS: the proxy
 * re-encrypts HTTP and gRPC only, so a BackendTLSPolicy does not apply to them.
 */
export function streamBackends(refs: BackendRef[] | undefined, kind: string, namespace: string, index: BackendIndex, problems: RuleProblems): WeightedBackend[] {
  return (refs ?? []).map((ref) => {
    const resolution = resolveBackend(ref, kind, namespace, index, 'HTTP/1.1');
    if (resolution.ok) return { kind: 'Resolved', name: resolution.name, weight: resolution.weight, endpoints: resolution.endpoints };
    problems.refs ??= { reason: resolution.reason, message: resolution.message };
    return resolution.backend;
  });
}

const allInvalid = (backends: WeightedHttpBackend[]) => backends.length === 0 || backends.every((b) => b.kind === 'Invalid' || b.weight === 0);

/** Resolves a RequestMirror filter's backendRef (a rule's filters only; elsewhere the filter is refused). */
type MirrorResolver = (ref: BackendRef) => WeightedHttpBackend;

function httpFilters(filters: HTTPRouteFilter[] | undefined, problems: RuleProblems, resolveMirror?: MirrorResolver): HttpFilter[] {
  const out: HttpFilter[] = [];
  for (const filter of filters ?? []) {
    switch (filter.type) {
      case 'RequestHeaderModifier':
        out.push({ type: 'RequestHeaderModifier', ...filter.requestHeaderModifier });
        break;
      case 'ResponseHeaderModifier':
        out.push({ type: 'ResponseHeaderModifier', ...filter.responseHeaderModifier });
        break;
      case 'RequestRedirect': {
        const redirect = filter.requestRedirect ?? {};
        out.push({
          type: 'RequestRedirect',
          ...(redirect.scheme ? { scheme: redirect.scheme as 'http' | 'https' } : {}),
          ...(redirect.hostname ? { hostname: redirect.hostname } : {}),
          ...(redirect.path ? { path: pathModifier(redirect.path) } : {}),
          ...(redirect.port ? { port: redirect.port } : {}),
          statusCode: (redirect.statusCode ?? 302) as 301 | 302 | 303 | 307 | 308,
        });
        break;
      }
      case 'URLRewrite': {
        const rewrite = filter.urlRewrite ?? {};
        out.push({ type: 'URLRewrite', ...(rewrite.hostname ? { hostname: rewrite.hostname } : {}), ...(rewrite.path ? { path: pathModifier(rewrite.path) } : {}) });
        break;
      }
      case 'CORS':
        out.push(corsFilter(filter.cors ?? {}));
        break;
      case 'RequestMirror':
        if (resolveMirror && filter.requestMirror) out.push(mirrorFilter(filter.requestMirror, resolveMirror));
        else problems.unsupported ??= 'filter type RequestMirror is not supported here';
        break;
      default:
        problems.unsupported ??= `filter type ${filter.type} is not supported`;
    }
  }
  return out;
}

/** The header modifiers of a filter list where only those apply (GRPCRoute rules, backendRefs); other types are refused by name. */
function headerModifiers(filters: HTTPRouteFilter[] | undefined, problems: RuleProblems, where: string): BackendFilter[] {
  const modifiers = (filters ?? []).filter((f) => {
    if (f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier') return true;
    problems.unsupported ??= `filter type ${f.type} is not supported ${where} (only RequestHeaderModifier and ResponseHeaderModifier)`;
    return false;
  });
  return httpFilters(modifiers, problems) as BackendFilter[];
}

/**
 * HTTPRequestMirrorFilter: its backendRef resolved like a rule's (a bad one sets the
 * route's ResolvedRefs and gets no copies); `percent` and `fraction` become one share.
 */
function mirrorFilter(mirror: NonNullable<HTTPRouteFilter['requestMirror']>, resolveMirror: MirrorResolver): RequestMirrorFilter {
  const share = mirror.fraction ? { numerator: mirror.fraction.numerator, denominator: mirror.fraction.denominator ?? 100 } : mirror.percent !== undefined ? { numerator: mirror.percent, denominator: 100 } : undefined;
  return { type: 'RequestMirror', backend: resolveMirror({ ...mirror.backendRef, weight: 1 }), ...(share ? { share } : {}) };
}

/** HTTPCORSFilter with the API defaults (maxAge 5 s); origins lower-cased, as they compare case-insensitively. */
function corsFilter(cors: HTTPCORSFilter): CorsFilter {
  return {
    type: 'CORS',
    allowOrigins: (cors.allowOrigins ?? []).map((origin) => origin.toLowerCase()),
    allowCredentials: cors.allowCredentials ?? false,
    allowMethods: cors.allowMethods ?? [],
    allowHeaders: cors.allowHeaders ?? [],
    exposeHeaders: cors.exposeHeaders ?? [],
    maxAgeSeconds: cors.maxAge ?? 5,
  };
}

/**
 * HTTPRouteRetry. Where the API leaves values to the implementation: one retry when
 * `attempts` is unset, and a 25 ms minimum backoff when `backoff` is unset.
 */
function retryPolicy(retry: NonNullable<HTTPRouteRule['retry']>): HttpRetryPolicy {
  return { codes: [...new Set(retry.codes ?? [])], attempts: retry.attempts ?? 1, backoffMs: durationMs(retry.backoff) ?? 25 };
}

function pathModifier(path: { type: string; replaceFullPath?: string; replacePrefixMatch?: string }) {
  return path.type === 'ReplaceFullPath'
    ? { type: 'ReplaceFullPath' as const, replaceFullPath: path.replaceFullPath ?? '/' }
    : { type: 'ReplacePrefixMatch' as const, replacePrefixMatch: path.replacePrefixMatch ?? '/' };
}

/**
 * A RegularExpression match the proxy cannot compile makes the route unsupported
 * (Accepted False, UnsupportedValue): emitted, it would make the proxy refuse the
 * whole configuration, every other route's changes with it.
 */
function checkRegex(type: string | undefined, value: string | undefined, what: string, problems: RuleProblems): void {
  if (type !== 'RegularExpression' || value === undefined) return;
  const compiled = compileFullMatchRegex(value);
  if (!compiled.ok) problems.unsupported ??= `${what} ${JSON.stringify(value.length > 80 ? `${value.slice(0, 79)}…` : value)} is not a supported regular expression: ${compiled.reason.replace(/\r?\n/g, ' ')}`;
}

function checkMatchRegexes(match: { path?: { type?: string; value?: string }; headers?: { type?: string; name: string; value: string }[]; queryParams?: { type?: string; name: string; value: string }[] }, problems: RuleProblems): void {
  checkRegex(match.path?.type, match.path?.value ?? '/', 'path', problems);
  for (const h of match.headers ?? []) checkRegex(h.type, h.value, `header ${h.name}`, problems);
  for (const q of match.queryParams ?? []) checkRegex(q.type, q.value, `query parameter ${q.name}`, problems);
}

export function httpRules(rules: HTTPRouteRule[] | undefined, namespace: string, index: BackendIndex, problems: RuleProblems): HttpRouteRule[] {
  return (rules ?? [{}]).map((rule) => {
    const filters = httpFilters(rule.filters, problems, (ref) => resolveAll([ref], 'HTTPRoute', namespace, index, 'HTTP/1.1', problems)[0]!);
    const backends = resolveAll(rule.backendRefs, 'HTTPRoute', namespace, index, 'HTTP/1.1', problems);
    const redirects = filters.some((f) => f.type === 'RequestRedirect');
    const prefixRewrite = filters.some((f) => (f.type === 'URLRewrite' || f.type === 'RequestRedirect') && f.path?.type === 'ReplacePrefixMatch');
    if (prefixRewrite && !(rule.matches?.length === 1 && (rule.matches[0]!.path?.type ?? 'PathPrefix') === 'PathPrefix')) {
      problems.unsupported ??= 'ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix';
    }
    for (const m of rule.matches ?? []) checkMatchRegexes(m, problems);
    const matches: HttpRouteMatch[] = (rule.matches ?? []).map((m) => {
      // Fields set one by one: V8 copies a spread of a conditional object the slow way, and this runs per match.
      const match: HttpRouteMatch = {};
      if (m.path) match.path = { type: m.path.type ?? 'PathPrefix', value: m.path.value ?? '/' };
      if (m.headers?.length) match.headers = m.headers.map((h) => ({ type: h.type ?? 'Exact', name: h.name, value: h.value }));
      if (m.queryParams?.length) match.queryParams = m.queryParams.map((q) => ({ type: q.type ?? 'Exact', name: q.name, value: q.value }));
      if (m.method) match.method = m.method as HttpMethod;
      return match;
    });
    const timeouts: HttpTimeouts = {};
    const request = durationMs(rule.timeouts?.request);
    const backendRequest = durationMs(rule.timeouts?.backendRequest);
    if (request !== undefined) timeouts.requestMs = request;
    if (backendRequest !== undefined) timeouts.backendRequestMs = backendRequest;
    return {
      ...(rule.name ? { name: rule.name } : {}),
      matches,
      filters,
      backends,
      ...(!redirects && allInvalid(backends) ? { invalidBackendResponse: { status: 500, reason: backends.length === 0 ? 'rule has no backendRefs' : 'every backendRef is invalid' } } : {}),
      ...(Object.keys(timeouts).length ? { timeouts } : {}),
      ...(rule.retry ? { retry: retryPolicy(rule.retry) } : {}),
    };
  });
}

export function grpcRules(rules: GRPCRouteRule[] | undefined, namespace: string, index: BackendIndex, problems: RuleProblems): GrpcRouteRule[] {
  return (rules ?? [{}]).map((rule) => {
    const filters: GrpcFilter[] = headerModifiers(rule.filters, problems, 'on GRPCRoute');
    const backends = resolveAll(rule.backendRefs, 'GRPCRoute', namespace, index, 'HTTP/2', problems);
    for (const m of rule.matches ?? []) {
      checkMatchRegexes({ headers: m.headers }, problems);
      checkRegex(m.method?.type, m.method?.service, 'gRPC service', problems);
      checkRegex(m.method?.type, m.method?.method, 'gRPC method', problems);
    }
    return {
      ...(rule.name ? { name: rule.name } : {}),
      matches: (rule.matches ?? []).map((m) => ({
        ...(m.method ? { method: { type: m.method.type ?? 'Exact', ...(m.method.service ? { service: m.method.service } : {}), ...(m.method.method ? { method: m.method.method } : {}) } } : {}),
        ...(m.headers?.length ? { headers: m.headers.map((h) => ({ type: h.type ?? 'Exact', name: h.name, value: h.value })) } : {}),
      })),
      filters,
      backends,
      ...(allInvalid(backends) ? { invalidBackendResponse: { grpcStatus: 14, reason: backends.length === 0 ? 'rule has no backendRefs' : 'every backendRef is invalid' } } : {}),
    };
  });
}

