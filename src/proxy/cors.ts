// The CORS filter (Gateway API HTTPCORSFilter, extended: HTTPRouteCORS), as pure
// functions over plain data. Compiled once per configuration (compileCors); per request,
// corsVerdict says whether the proxy answers a preflight itself or which headers the
// backend's answer gets. Requests without an Origin header are not CORS requests and
// get nothing (Fetch standard §3.2: every CORS request carries Origin).
import type { CorsFilter } from '../ir/types.js';
import type { HeaderEdits, HeaderMap } from './http-filters.js';

/** An allowed origin, parsed: a host of `*` matches any host, a host `*.x` any name ending in `.x`. */
interface OriginPattern {
  readonly scheme: string;
  /** The exact host; with `wildcard`, the suffix after `*` (`.bar.com`), or '' for any host. */
  readonly host: string;
  readonly wildcard: boolean;
  readonly port: string;
}

export interface CorsPolicy {
  readonly anyOrigin: boolean;
  readonly origins: readonly OriginPattern[];
  readonly allowCredentials: boolean;
  readonly anyMethod: boolean;
  /** The configured methods, joined for Access-Control-Allow-Methods; undefined when none. */
  readonly methods: string | undefined;
  readonly anyHeader: boolean;
  readonly headers: string | undefined;
  /** Access-Control-Expose-Headers; undefined when none, or `*` with credentials (not allowed then). */
  readonly exposeHeaders: string | undefined;
  readonly maxAge: string;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** `scheme://host[:port]`, the serialization of an origin (RFC 6454 §6.1); IPv6 hosts in brackets. */
const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-f:.]+\]|[^/:?#[\]@]+)(?::(\d{1,5}))?$/;

function parseOrigin(origin: string): { scheme: string; host: string; port: string } | undefined {
  const parts = ORIGIN.exec(origin.toLowerCase());
  if (!parts) return undefined;
  const scheme = parts[1]!;
  return { scheme, host: parts[2]!, port: parts[3] ?? DEFAULT_PORTS[scheme] ?? '' };
}

/** An allowOrigins entry (validated by the IR): `http(s)://` then `*`, `*.name` or a name, then an optional port. */
const ORIGIN_PATTERN = /^(https?):\/\/(\*\.?)?([^:]*)(?::(\d{1,5}))?$/;

function compileOrigin(origin: string): OriginPattern | undefined {
  const parts = ORIGIN_PATTERN.exec(origin.toLowerCase());
  if (!parts) return undefined;
  const [, scheme, star, name, port] = parts as unknown as [string, string, string | undefined, string, string | undefined];
  return { scheme, wildcard: star !== undefined, host: star === '*.' ? `.${name}` : name, port: port ?? DEFAULT_PORTS[scheme]! };
}

const listOrUndefined = (values: readonly string[]): string | undefined => (values.length > 0 ? values.join(', ') : undefined);

export function compileCors(filter: CorsFilter): CorsPolicy {
  const anyOrigin = filter.allowOrigins.includes('*');
  const anyExposed = filter.exposeHeaders.includes('*');
  return {
    anyOrigin,
    origins: anyOrigin ? [] : filter.allowOrigins.map(compileOrigin).filter((o): o is OriginPattern => o !== undefined),
    allowCredentials: filter.allowCredentials,
    anyMethod: filter.allowMethods.includes('*'),
    methods: listOrUndefined(filter.allowMethods),
    anyHeader: filter.allowHeaders.includes('*'),
    headers: listOrUndefined(filter.allowHeaders),
    // HTTPCORSFilter.exposeHeaders: with credentials the gateway cannot use `*`, and the
    // names of the answer's headers are not known when the preflight is answered.
    exposeHeaders: anyExposed && filter.allowCredentials ? listOrUndefined(filter.exposeHeaders.filter((h) => h !== '*')) : listOrUndefined(filter.exposeHeaders),
    maxAge: String(filter.maxAgeSeconds),
  };
}

/**
 * HTTPCORSFilter.allowOrigins: scheme, host and port must all match, a missing port
 * meaning the scheme's default; `*` in the host is greedy to the left (`*.bar.com`
 * matches `www.bar.com` and `a.www.bar.com`, not `bar.com`), `*` alone matches any origin.
 */
export function originAllowed(policy: CorsPolicy, origin: string): boolean {
  if (policy.anyOrigin) return true;
  const parsed = parseOrigin(origin);
  if (!parsed) return false;
  for (const pattern of policy.origins) {
    if (pattern.scheme !== parsed.scheme || pattern.port !== parsed.port) continue;
    if (pattern.wildcard ? parsed.host.endsWith(pattern.host) : parsed.host === pattern.host) return true;
  }
  return false;
}

export type CorsVerdict =
  /** Not a CORS request, or an origin not allowed on an actual request: forward it unchanged. */
  | { kind: 'none' }
  /** A preflight: the proxy answers it with this status and these headers, and nothing reaches the backend. */
  | { kind: 'preflight'; status: number; headers: HeaderMap }
  /** An actual request from an allowed origin: forward it, and edit the answer's headers. */
  | { kind: 'actual'; responseHeaders: HeaderEdits };

const NONE: CorsVerdict = { kind: 'none' };

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A preflight (Fetch standard §4.8: OPTIONS with Origin and Access-Control-Request-Method)
 * from an allowed origin gets 204 with the route's CORS headers; from another origin,
 * 403 without any (HTTPCORSFilter.allowOrigins allows either that or 200/204). Where the
 * route allows `*` and credentials are on, the request's own method, headers and origin
 * are echoed instead, as the API requires; they are echoed without credentials too,
 * which it allows.
 */
export function corsVerdict(policy: CorsPolicy, method: string, headers: HeaderMap): CorsVerdict {
  const origin = firstValue(headers['origin']);
  if (origin === undefined) return NONE;
  const requestedMethod = method === 'OPTIONS' ? firstValue(headers['access-control-request-method']) : undefined;
  const allowed = originAllowed(policy, origin);
  if (requestedMethod === undefined) {
    if (!allowed) return NONE;
    const set: [string, string][] = [['access-control-allow-origin', origin]];
    if (policy.allowCredentials) set.push(['access-control-allow-credentials', 'true']);
    if (policy.exposeHeaders !== undefined) set.push(['access-control-expose-headers', policy.exposeHeaders]);
    return { kind: 'actual', responseHeaders: { set, add: [['vary', 'Origin']], remove: [] } };
  }
  if (!allowed) return { kind: 'preflight', status: 403, headers: { vary: 'Origin', 'content-length': '0' } };
  const answer: HeaderMap = { 'access-control-allow-origin': origin };
  if (policy.allowCredentials) answer['access-control-allow-credentials'] = 'true';
  const methods = policy.anyMethod ? requestedMethod : policy.methods;
  if (methods !== undefined) answer['access-control-allow-methods'] = methods;
  const requestedHeaders = firstValue(headers['access-control-request-headers']);
  const allowHeaders = policy.anyHeader ? requestedHeaders : policy.headers;
  if (allowHeaders !== undefined) answer['access-control-allow-headers'] = allowHeaders;
  if (policy.exposeHeaders !== undefined) answer['access-control-expose-headers'] = policy.exposeHeaders;
  answer['access-control-max-age'] = policy.maxAge;
  answer['vary'] = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
  return { kind: 'preflight', status: 204, headers: answer };
}
