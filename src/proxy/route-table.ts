// Request routing for one IR listener: which rule of which route serves an HTTP or gRPC
// request, or why none does. Built once per configuration (regexes compiled, matches
// flattened and sorted); a lookup allocates nothing but a parsed query string when a
// candidate needs one.
//
// The order, for HTTPRoute (HTTPRouteRule.matches docs, "continuing on ties"):
//   1. path: Exact, then RegularExpression (longer pattern first), then PathPrefix
//      (longer prefix first). The spec leaves regex placement to implementations; we
//      put it between Exact and PathPrefix as Envoy Gateway does, so a regex is not
//      shadowed by every prefix (the default PathPrefix "/" would otherwise win).
//   2. a method match;
//   3. the largest number of header matches;
//   4. the largest number of query param matches;
//   5. hostname: the most characters in a matching non-wildcard hostname, then in a
//      matching hostname (HTTPRouteSpec.hostnames docs). Placed after the match
//      criteria because the conformance test HTTPRouteMatchingAcrossRoutes requires
//      it: with routes for `example.com` (PathPrefix /) and `*.com` (PathPrefix /v2),
//      `example.com/v2` must reach the `*.com` route.
//   6. the oldest route (creationTimestamp), then `{namespace}/{name}` alphabetically;
//   7. within a route, the first rule in list order (then, within a rule, its first
//      match: any matching match selects the same rule).
// For GRPCRoute (GRPCRouteRule.matches docs): hostname (as 5), then characters of the
// matching service, then of the method, then header matches, then 6 and 7.
//
// Server blocks come first (listener isolation, Listener.hostname docs): the Host picks
// the block by exact > most specific wildcard > catch-all, and only that block's routes
// are candidates. On a TLS connection the handshake already picked a block by SNI; a
// Host that names another block is misdirected (RFC 9110 §15.5.20, 421) — see
// matchRequest.
import { normalizeHostname, isWildcardHostname, wildcardSuffix } from '../ir/hostname.js';
import { compileFullMatchRegex } from '../ir/regex.js';
import type {
  GrpcRoute,
  GrpcRouteMatch,
  GrpcRouteRule,
  HttpRoute,
  HttpRouteMatch,
  HttpRouteRule,
  Listener,
  RouteSource,
  ServerBlock,
  TcpRoute,
} from '../ir/types.js';
import { HostnameIndex, hostnameOfAuthority, type HostnameMatch } from './hostname-match.js';

// ---------------------------------------------------------------------------------
// Inputs and results

/** Request header values by lower-case name, as Node's IncomingHttpHeaders holds them. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The TLS facts of the connection a request arrived on. */
export interface ConnectionTls {
  /** Id of the server block the handshake selected (certificate-selection). */
  serverBlock: string;
  /** The SNI the client sent; undefined when it sent none. */
  serverName?: string | undefined;
}

export interface RequestFacts {
  /** Host header or :authority; a port is ignored. */
  host: string;
  /** The path, without query; normalization (dot segments, slashes) is the caller's. */
  path: string;
  /** Upper case, as received. */
  method: string;
  headers: RequestHeaders;
  /** The raw query string, without `?`. */
  query?: string;
  /** Absent on plaintext connections. */
  tls?: ConnectionTls;
}

export interface HttpRouteMatched {
  readonly kind: 'http';
  readonly serverBlock: ServerBlock;
  readonly route: HttpRoute;
  readonly rule: HttpRouteRule;
  readonly ruleIndex: number;
  /** The match that selected the rule; undefined when the rule has no matches (matches everything). */
  readonly match: HttpRouteMatch | undefined;
}

export interface GrpcRouteMatched {
  readonly kind: 'grpc';
  readonly serverBlock: ServerBlock;
  readonly route: GrpcRoute;
  readonly rule: GrpcRouteRule;
  readonly ruleIndex: number;
  readonly match: GrpcRouteMatch | undefined;
}

/** Answer 404 (HTTPRouteRule.matches docs: "a HTTP 404 status code MUST be returned"). */
export interface NoRouteMatched {
  readonly kind: 'no-match';
  /** `no-server-block`: no block serves the Host; `no-matching-rule`: the block's rules all missed. */
  readonly reason: 'no-server-block' | 'no-matching-rule';
  readonly serverBlock?: ServerBlock;
}

/** Answer 421 Misdirected Request (RFC 9110 §15.5.20): the connection cannot serve this Host. */
export interface MisdirectedRequest {
  readonly kind: 'misdirected';
  /** The block the TLS handshake selected. */
  readonly connectionServerBlock: string;
  /** The block the Host header selects. */
  readonly requestServerBlock: string;
}

export type RouteMatchResult = HttpRouteMatched | GrpcRouteMatched | NoRouteMatched | MisdirectedRequest;

// ---------------------------------------------------------------------------------
// Cross-route precedence

/** Parsed once: the precedence fields of a RouteSource. */
interface SourceRank {
  createdAt: number;
  key: string;
  kind: string;
}

function rankOf(source: RouteSource): SourceRank {
  const createdAt = Date.parse(source.creationTimestamp);
  return { createdAt: Number.isNaN(createdAt) ? Number.MAX_SAFE_INTEGER : createdAt, key: `${source.namespace}/${source.name}`, kind: source.kind };
}

function compareRanks(a: SourceRank, b: SourceRank): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1; // not in the spec; only for a total order
  return 0;
}

/**
 * Gateway API tie-break between routes: the oldest by creationTimestamp first, then
 * `{namespace}/{name}` in alphabetical order (HTTPRouteRule.matches docs).
 */
export function compareRouteSources(a: RouteSource, b: RouteSource): number {
  return compareRanks(rankOf(a), rankOf(b));
}

// ---------------------------------------------------------------------------------
// Route hostnames

/**
 * A route's hostnames, compiled: whether a Host is admitted and how specifically, as
 * one number — characters of a matching non-wildcard hostname, then characters of the
 * matching hostname (HTTPRouteSpec.hostnames docs) — or -1 when not admitted.
 */
class RouteHostnames {
  private readonly exact: ReadonlySet<string>;
  /** Wildcard suffixes, longest first: the first that matches is the most specific. */
  private readonly suffixes: readonly string[];
  /** Specificity when the route lists no hostnames: it serves its block's hostname. */
  private readonly anySpecificity: number | undefined;

  constructor(hostnames: readonly string[], block: ServerBlock) {
    const normalized = hostnames.map(normalizeHostname);
    this.exact = new Set(normalized.filter((h) => !isWildcardHostname(h)));
    this.suffixes = normalized.filter(isWildcardHostname).map(wildcardSuffix).sort((a, b) => b.length - a.length);
    this.anySpecificity = normalized.length === 0 ? specificityOf(block.hostname) : undefined;
  }

  specificity(host: string): number {
    if (this.anySpecificity !== undefined) return this.anySpecificity;
    if (this.exact.has(host)) return specificityOf(host);
    for (const suffix of this.suffixes) {
      if (host.length > suffix.length && host.endsWith(suffix)) return suffix.length + 1; // the `*` counts as a character
    }
    return -1;
  }
}

/** Non-wildcard characters rank above all characters: 2^9 > 253, the longest hostname. */
function specificityOf(hostname: string | undefined): number {
  if (hostname === undefined) return 0;
  return isWildcardHostname(hostname) ? hostname.length : hostname.length * 512 + hostname.length;
}

// ---------------------------------------------------------------------------------
// Compiled matchers

type StringMatcher = { exact: string; regex?: undefined } | { exact?: undefined; regex: RegExp };

function compileValue(type: 'Exact' | 'RegularExpression', value: string, where: string): StringMatcher {
  if (type === 'Exact') return { exact: value };
  const compiled = compileFullMatchRegex(value);
  // The validator rejects such configs; reaching this means an unvalidated config.
  if (!compiled.ok) throw new Error(`route table: ${where} has an invalid regular expression (${compiled.reason}); validate the config first`);
  return { regex: compiled.regex };
}

function valueMatches(matcher: StringMatcher, value: string): boolean {
  return matcher.regex ? matcher.regex.test(value) : matcher.exact === value;
}

interface NamedMatcher {
  name: string;
  matcher: StringMatcher;
}

/**
 * Header and query matches, first of each name only (HTTPHeaderMatch and
 * HTTPQueryParamMatch docs: later entries with an equivalent name MUST be ignored).
 */
function compileNamed(matches: readonly { type: 'Exact' | 'RegularExpression'; name: string; value: string }[] | undefined, caseInsensitive: boolean, where: string): NamedMatcher[] {
  const seen = new Set<string>();
  const compiled: NamedMatcher[] = [];
  for (const match of matches ?? []) {
    const name = caseInsensitive ? match.name.toLowerCase() : match.name;
    if (seen.has(name)) continue;
    seen.add(name);
    compiled.push({ name, matcher: compileValue(match.type, match.value, where) });
  }
  return compiled;
}

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || typeof value === 'string') return value;
  // Repeated fields combine with ", " (RFC 9110 §5.3); the spec leaves this to implementations.
  return (value as readonly string[]).join(', ');
}

function headersMatch(matchers: readonly NamedMatcher[], headers: RequestHeaders): boolean {
  for (const { name, matcher } of matchers) {
    const value = headerValue(headers, name);
    if (value === undefined || !valueMatches(matcher, value)) return false;
  }
  return true;
}

/** Parsed on first need, once per request. */
class LazyQuery {
  private parsed: URLSearchParams | undefined;
  constructor(private readonly raw: string | undefined) {}
  get(name: string): string | null {
    this.parsed ??= new URLSearchParams(this.raw ?? '');
    return this.parsed.get(name); // the first value of a repeated parameter, as the spec recommends
  }
}

function queryMatches(matchers: readonly NamedMatcher[], query: LazyQuery): boolean {
  for (const { name, matcher } of matchers) {
    const value = query.get(name);
    if (value === null || !valueMatches(matcher, value)) return false;
  }
  return true;
}

const PATH_EXACT = 2;
const PATH_REGEX = 1;
const PATH_PREFIX = 0;

interface PathMatcher {
  /** PATH_EXACT > PATH_REGEX > PATH_PREFIX. */
  rank: number;
  /** Characters: of the exact path, the regex source, or the prefix without trailing `/`. */
  length: number;
  test(path: string): boolean;
}

function compilePath(match: HttpRouteMatch | undefined, where: string): PathMatcher {
  const path = match?.path ?? { type: 'PathPrefix', value: '/' };
  switch (path.type) {
    case 'Exact':
      return { rank: PATH_EXACT, length: path.value.length, test: (p) => p === path.value };
    case 'RegularExpression': {
      const { regex } = compileValue('RegularExpression', path.value, where) as { regex: RegExp };
      return { rank: PATH_REGEX, length: path.value.length, test: (p) => regex.test(p) };
    }
    case 'PathPrefix': {
      // Element-wise: "/abc" (or "/abc/") matches "/abc", "/abc/" and "/abc/def", not "/abcd".
      const prefix = path.value.length > 1 && path.value.endsWith('/') ? path.value.slice(0, -1) : path.value;
      if (prefix === '/') return { rank: PATH_PREFIX, length: 1, test: (p) => p.startsWith('/') };
      return { rank: PATH_PREFIX, length: prefix.length, test: (p) => p.startsWith(prefix) && (p.length === prefix.length || p.charCodeAt(prefix.length) === 0x2f) };
    }
  }
}

// ---------------------------------------------------------------------------------
// Candidates: one per (route, rule, match), sorted by static precedence

interface HttpCandidate {
  readonly result: HttpRouteMatched;
  readonly hosts: RouteHostnames;
  readonly path: PathMatcher;
  readonly method: string | undefined;
  readonly headers: readonly NamedMatcher[];
  readonly query: readonly NamedMatcher[];
  readonly rank: SourceRank;
  readonly order: readonly [number, number, number];
  /** Candidates with equal tier tie on every match criterion; only hostname and age separate them. */
  tier: number;
}

function compareHttpMatchCriteria(a: HttpCandidate, b: HttpCandidate): number {
  return (
    b.path.rank - a.path.rank ||
    b.path.length - a.path.length ||
    Number(b.method !== undefined) - Number(a.method !== undefined) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length
  );
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function compileHttpCandidates(routes: readonly HttpRoute[], block: ServerBlock): HttpCandidate[] {
  const candidates: HttpCandidate[] = [];
  routes.forEach((route, routeIndex) => {
    const hosts = new RouteHostnames(route.hostnames, block);
    const rank = rankOf(route.source);
    route.rules.forEach((rule, ruleIndex) => {
      const matches: (HttpRouteMatch | undefined)[] = rule.matches.length > 0 ? rule.matches : [undefined];
      matches.forEach((match, matchIndex) => {
        const where = `${route.source.kind} ${rank.key} rule ${ruleIndex} match ${matchIndex}`;
        candidates.push({
          result: { kind: 'http', serverBlock: block, route, rule, ruleIndex, match },
          hosts,
          path: compilePath(match, where),
          method: match?.method,
          headers: compileNamed(match?.headers, true, where),
          query: compileNamed(match?.queryParams, false, where),
          rank,
          order: [routeIndex, ruleIndex, matchIndex],
          tier: 0,
        });
      });
    });
  });
  candidates.sort((a, b) => compareHttpMatchCriteria(a, b) || compareRanks(a.rank, b.rank) || compareOrder(a.order, b.order));
  candidates.forEach((candidate, index) => {
    const previous = candidates[index - 1];
    candidate.tier = previous === undefined ? 0 : compareHttpMatchCriteria(previous, candidate) === 0 ? previous.tier : previous.tier + 1;
  });
  return candidates;
}

interface GrpcCandidate {
  readonly result: GrpcRouteMatched;
  readonly hosts: RouteHostnames;
  readonly service: StringMatcher | undefined;
  readonly method: StringMatcher | undefined;
  readonly serviceLength: number;
  readonly methodLength: number;
  readonly headers: readonly NamedMatcher[];
  readonly rank: SourceRank;
  readonly order: readonly [number, number, number];
}

function compileGrpcCandidates(routes: readonly GrpcRoute[], block: ServerBlock): GrpcCandidate[] {
  const candidates: GrpcCandidate[] = [];
  routes.forEach((route, routeIndex) => {
    const hosts = new RouteHostnames(route.hostnames, block);
    const rank = rankOf(route.source);
    route.rules.forEach((rule, ruleIndex) => {
      const matches: (GrpcRouteMatch | undefined)[] = rule.matches.length > 0 ? rule.matches : [undefined];
      matches.forEach((match, matchIndex) => {
        const where = `GRPCRoute ${rank.key} rule ${ruleIndex} match ${matchIndex}`;
        const method = match?.method;
        candidates.push({
          result: { kind: 'grpc', serverBlock: block, route, rule, ruleIndex, match },
          hosts,
          service: method?.service === undefined ? undefined : compileValue(method.type, method.service, where),
          method: method?.method === undefined ? undefined : compileValue(method.type, method.method, where),
          serviceLength: method?.service?.length ?? 0,
          methodLength: method?.method?.length ?? 0,
          headers: compileNamed(match?.headers, true, where),
          rank,
          order: [routeIndex, ruleIndex, matchIndex],
        });
      });
    });
  });
  candidates.sort(
    (a, b) =>
      b.serviceLength - a.serviceLength ||
      b.methodLength - a.methodLength ||
      b.headers.length - a.headers.length ||
      compareRanks(a.rank, b.rank) ||
      compareOrder(a.order, b.order),
  );
  return candidates;
}

// ---------------------------------------------------------------------------------
// The table

interface BlockTable {
  readonly block: ServerBlock;
  /** Whether HTTP routes can be served here at all (HTTP and HTTPS blocks). */
  readonly servesHttp: boolean;
  readonly http: readonly HttpCandidate[];
  readonly grpc: readonly GrpcCandidate[];
  /** Hostnames of the gRPC routes: a Host they admit is routed among gRPC routes only. */
  readonly grpcHosts: readonly RouteHostnames[];
  /** TCP routes by SNI hostname, oldest first on ties. */
  readonly tcp: HostnameIndex<TcpRoute>;
  readonly noMatchingRule: NoRouteMatched;
}

export interface RouteTable {
  /** The listener's name, for logs. */
  readonly listener: string;
  /** Server blocks by hostname (exact > most specific wildcard > catch-all). */
  readonly blocks: HostnameIndex<BlockTable>;
  readonly blocksById: ReadonlyMap<string, BlockTable>;
}

const NO_SERVER_BLOCK: NoRouteMatched = { kind: 'no-match', reason: 'no-server-block' };

/**
 * Routes by the id of their server block, in list order. Grouped once per listener: an
 * Ingress host is a block of its own, and filtering every route per block was O(blocks ×
 * routes) at each apply (10⁶ comparisons at 1,000 hosts).
 */
function byBlock<T extends { serverBlock: string }>(routes: readonly T[]): (block: ServerBlock) => T[] {
  const groups = new Map<string, T[]>();
  for (const route of routes) {
    const group = groups.get(route.serverBlock);
    if (group) group.push(route);
    else groups.set(route.serverBlock, [route]);
  }
  return (block) => groups.get(block.id) ?? [];
}

/**
 * Compiles a listener's routes. Expects a config that passed validateConfig; throws
 * (a programming error) on a regex the validator would have rejected.
 */
export function buildRouteTable(listener: Listener): RouteTable {
  const [httpOf, grpcOf, tcpOf] = [byBlock(listener.httpRoutes), byBlock(listener.grpcRoutes), byBlock(listener.tcpRoutes)];
  const tables = listener.serverBlocks.map((block): BlockTable => {
    const grpcRoutes = grpcOf(block);
    const tcpRoutes = [...tcpOf(block)].sort((a, b) => compareRouteSources(a.source, b.source));
    return {
      block,
      servesHttp: block.protocol === 'HTTP' || block.protocol === 'HTTPS',
      http: compileHttpCandidates(httpOf(block), block),
      grpc: compileGrpcCandidates(grpcRoutes, block),
      grpcHosts: grpcRoutes.map((route) => new RouteHostnames(route.hostnames, block)),
      tcp: new HostnameIndex(tcpRoutes.flatMap((route) => (route.hostnames.length === 0 ? [{ value: route }] : route.hostnames.map((hostname) => ({ hostname, value: route }))))),
      noMatchingRule: { kind: 'no-match', reason: 'no-matching-rule', serverBlock: block },
    };
  });
  return {
    listener: listener.name,
    blocks: new HostnameIndex(tables.map((table) => ({ hostname: table.block.hostname, value: table }))),
    blocksById: new Map(tables.map((table) => [table.block.id, table])),
  };
}

/**
 * Routes one request. Order of decisions:
 * 1. The Host (port ignored) selects a server block; none → no-match `no-server-block`.
 * 2. On TLS, if that block is not the one the handshake selected, the request is
 *    misdirected (421) when the client sent an SNI — it asked for another name — or
 *    when the Host's block cannot be served on this connection (not HTTP-capable, or
 *    it validates client certificates the handshake did not ask for). Without SNI
 *    (e.g. `curl -k https://10.0.0.1/ -H 'Host: demo.example.com'`, scenario 1)
 *    the Host decides.
 * 3. Among the block's routes, gRPC routes if a gRPC route admits the Host (the
 *    controller keeps HTTP and gRPC hostnames apart), else HTTP routes, in the
 *    precedence order at the top of this file; none → no-match `no-matching-rule`.
 */
export function matchRequest(table: RouteTable, request: RequestFacts): RouteMatchResult {
  const host = hostnameOfAuthority(request.host);
  const selected = table.blocks.lookup(host)?.value;
  if (!selected) return NO_SERVER_BLOCK;
  if (request.tls && selected.block.id !== request.tls.serverBlock && isMisdirected(selected, request.tls)) {
    return { kind: 'misdirected', connectionServerBlock: request.tls.serverBlock, requestServerBlock: selected.block.id };
  }
  if (!selected.servesHttp) return selected.noMatchingRule;
  if (selected.grpcHosts.some((hosts) => hosts.specificity(host) >= 0)) {
    return matchGrpc(selected, request, host) ?? selected.noMatchingRule;
  }
  return matchHttp(selected, request, host) ?? selected.noMatchingRule;
}

function isMisdirected(requested: BlockTable, tls: ConnectionTls): boolean {
  if (tls.serverName !== undefined) return true;
  if (!requested.servesHttp || requested.block.tls?.mode !== 'Terminate') return true;
  return requested.block.tls.clientValidation !== undefined;
}

function matchHttp(table: BlockTable, request: RequestFacts, host: string): HttpRouteMatched | undefined {
  const query = new LazyQuery(request.query);
  let best: HttpCandidate | undefined;
  let bestSpecificity = -1;
  for (const candidate of table.http) {
    // Sorted by match criteria: once a match is found, only its tier can still compete.
    if (best !== undefined && candidate.tier !== best.tier) break;
    const specificity = candidate.hosts.specificity(host);
    if (specificity < 0 || specificity <= bestSpecificity) continue;
    if (!candidate.path.test(request.path)) continue;
    if (candidate.method !== undefined && candidate.method !== request.method) continue;
    if (!headersMatch(candidate.headers, request.headers)) continue;
    if (candidate.query.length > 0 && !queryMatches(candidate.query, query)) continue;
    best = candidate;
    bestSpecificity = specificity;
  }
  return best?.result;
}

/** `/<service>/<method>` (gRPC over HTTP/2, PROTOCOL-HTTP2.md: ":path" → "/" Service-Name "/" Method-Name). */
function splitGrpcPath(path: string): { service: string; method: string } | undefined {
  const slash = path.indexOf('/', 1);
  if (!path.startsWith('/') || slash === -1 || slash === path.length - 1 || path.indexOf('/', slash + 1) !== -1 || slash === 1) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

function matchGrpc(table: BlockTable, request: RequestFacts, host: string): GrpcRouteMatched | undefined {
  const call = splitGrpcPath(request.path);
  let best: GrpcCandidate | undefined;
  let bestSpecificity = -1;
  for (const candidate of table.grpc) {
    // Hostname comes first for gRPC; the static order breaks ties, so keep the first of the best.
    const specificity = candidate.hosts.specificity(host);
    if (specificity <= bestSpecificity) continue;
    if (candidate.service !== undefined && (call === undefined || !valueMatches(candidate.service, call.service))) continue;
    if (candidate.method !== undefined && (call === undefined || !valueMatches(candidate.method, call.method))) continue;
    if (!headersMatch(candidate.headers, request.headers)) continue;
    best = candidate;
    bestSpecificity = specificity;
  }
  return best?.result;
}

/**
 * The TCP route for a stream on a block: by SNI among TLSRoutes on a terminating TLS
 * block (exact > wildcard > route without hostnames), or the route of a plain TCP
 * block. When several routes tie, the oldest (then namespace/name) wins.
 */
export function selectTcpRoute(table: RouteTable, serverBlock: string, serverName: string | undefined): HostnameMatch<TcpRoute> | undefined {
  const block = table.blocksById.get(serverBlock);
  if (!block) return undefined;
  return serverName === undefined ? block.tcp.catchAllEntry : block.tcp.lookup(serverName);
}
