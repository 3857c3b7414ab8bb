// The HTTPRoute filters the proxy applies, as pure functions over plain data:
// header modifiers (HTTPHeaderFilter), redirects (HTTPRequestRedirectFilter) and
// rewrites (HTTPURLRewriteFilter). Compiled once per configuration; applied per request.
import type { HeaderModifier, HttpRouteMatch, PathModifier, RequestRedirectFilter } from '../ir/types.js';

/** Header values by lower-case name, as Node and undici hold them. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** A HeaderModifier with names lower-cased, ready to apply. */
export interface HeaderEdits {
  readonly set: readonly (readonly [string, string])[];
  readonly add: readonly (readonly [string, string])[];
  readonly remove: readonly string[];
}

export function compileHeaderModifier(modifier: HeaderModifier): HeaderEdits {
  return {
    set: (modifier.set ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    add: (modifier.add ?? []).map((h) => [h.name.toLowerCase(), h.value] as const),
    remove: (modifier.remove ?? []).map((name) => name.toLowerCase()),
  };
}

/**
 * Applies set, then add, then remove (HTTPHeaderFilter docs: set overwrites, add
 * appends to existing values, remove deletes). An added value joins an existing one
 * with a comma, which is how the conformance suite expects `my-header: foo,bar`.
 */
export function applyHeaderEdits(headers: HeaderMap, edits: HeaderEdits): void {
  for (const [name, value] of edits.set) headers[name] = value;
  for (const [name, value] of edits.add) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) headers[name] = name === 'set-cookie' ? [...existing, value] : `${existing.join(',')},${value}`;
    else headers[name] = name === 'set-cookie' ? [existing, value] : `${existing},${value}`;
  }
  for (const name of edits.remove) delete headers[name];
}

/** The PathPrefix value a rule matched, for ReplacePrefixMatch; undefined when the match is not a prefix match. */
export function matchedPathPrefix(match: HttpRouteMatch | undefined): string | undefined {
  if (match === undefined) return '/';
  if (match.path === undefined) return '/';
  return match.path.type === 'PathPrefix' ? match.path.value : undefined;
}

/**
 * HTTPPathModifier: ReplaceFullPath replaces the path; ReplacePrefixMatch replaces the
 * element-wise prefix the rule matched, per the table in the HTTPPathModifier docs
 * (`/foo` + `/foo/bar` + `/xyz` → `/xyz/bar`; `/foo` + `/foo` + `/xyz` → `/xyz`;
 * `/foo/` + `/foo/bar` + `/` → `/bar`; `/foo` + `/foo/` + `/xyz` → `/xyz/`).
 */
export function modifyPath(modifier: PathModifier, path: string, prefix: string | undefined): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.replaceFullPath;
  if (prefix === undefined) return path; // the validator requires a PathPrefix match; keep the path if not
  const trimmedPrefix = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const rest = path.slice(trimmedPrefix.length);
  const replacement = modifier.replacePrefixMatch.endsWith('/') ? modifier.replacePrefixMatch.slice(0, -1) : modifier.replacePrefixMatch;
  const result = replacement + rest;
  if (result === '') return '/';
  return result.startsWith('/') ? result : `/${result}`;
}

export interface RedirectRequest {
  /** The scheme the client used: `https` on TLS connections. */
  scheme: 'http' | 'https';
  /** Host header without port. */
  hostname: string;
  path: string;
  /** Without `?`; empty when none. */
  query: string;
  /** The listener's port (Gateway API: the default when no scheme is set). */
  listenerPort: number;
}

const WELL_KNOWN_PORTS: Record<'http' | 'https', number> = { http: 80, https: 443 };

/**
 * The Location of a RequestRedirect (HTTPRequestRedirectFilter docs): absent fields keep
 * the request's values; without a port, a set scheme implies its well-known port and
 * otherwise the listener's port is used; the port is left out of the Location when it
 * is the scheme's well-known port.
 */
export function redirectLocation(filter: RequestRedirectFilter, request: RedirectRequest, matchedPrefix: string | undefined): string {
  const scheme = filter.scheme ?? request.scheme;
  const hostname = filter.hostname ?? request.hostname;
  const port = filter.port ?? (filter.scheme !== undefined ? WELL_KNOWN_PORTS[filter.scheme] : request.listenerPort);
  const path = filter.path ? modifyPath(filter.path, request.path, matchedPrefix) : request.path;
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const authority = port === WELL_KNOWN_PORTS[scheme] ? host : `${host}:${port}`;
  return `${scheme}://${authority}${path}${request.query ? `?${request.query}` : ''}`;
}

/** Hop-by-hop fields (RFC 9110 §7.6.1) never forwarded in either direction, plus HTTP/2-forbidden ones (RFC 9113 §8.2.2). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Fields named by the Connection header are hop-by-hop too (RFC 9110 §7.6.1). */
export function connectionNominatedHeaders(connection: string | string[] | undefined): string[] {
  if (connection === undefined) return [];
  const value = Array.isArray(connection) ? connection.join(',') : connection;
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}
