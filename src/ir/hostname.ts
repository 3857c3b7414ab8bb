// Hostname grammar and coverage rules shared by the IR validator and the proxy's
// matchers. The Gateway API `Hostname` type: an RFC 1123 DNS name, no IP, no port,
// optionally with a wildcard first label `*.` that stands for one or more whole labels
// (HTTPRouteSpec.hostnames docs: `*.example.com` matches `test.example.com` and
// `foo.test.example.com`, never `example.com`).

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_HOSTNAME_LENGTH = 253; // RFC 1123 §2.1, RFC 1035 §2.3.4 (presentation form)

/** Lower case without a trailing dot: the form the IR stores and the matchers compare. */
export function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function isWildcardHostname(hostname: string): boolean {
  return hostname.startsWith('*.');
}

/** `*.example.com` → `.example.com`: what a covered host must end with (and be longer than). */
export function wildcardSuffix(wildcard: string): string {
  return wildcard.slice(1);
}

/**
 * True when `hostname` is a valid IR hostname: lower case, no trailing dot, RFC 1123
 * labels, at most 253 characters, optionally one leading `*.` label. IP literals are
 * not hostnames (Gateway API: "IPs are not allowed").
 */
export function isValidHostname(hostname: string): boolean {
  if (hostname.length === 0 || hostname.length > MAX_HOSTNAME_LENGTH) return false;
  const name = isWildcardHostname(hostname) ? hostname.slice(2) : hostname;
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) return false;
  // An all-numeric last label would make "10.0.0.1" a hostname; RFC 1123 §2.1 says a
  // valid host name never has the syntactic form of a dotted-decimal address.
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/** A valid IR hostname without a wildcard label (Gateway API `PreciseHostname`). */
export function isValidPreciseHostname(hostname: string): boolean {
  return !isWildcardHostname(hostname) && isValidHostname(hostname);
}

/**
 * True when `pattern` (exact or wildcard; undefined = any host) admits every host that
 * `hostname` (exact or wildcard) admits: the rule for "a route's hostname lies inside
 * its server block's hostname". Both arguments in normalized form.
 */
export function hostnameCovers(pattern: string | undefined, hostname: string): boolean {
  if (pattern === undefined || pattern === hostname) return true;
  if (!isWildcardHostname(pattern)) return false;
  const suffix = wildcardSuffix(pattern);
  const inner = isWildcardHostname(hostname) ? wildcardSuffix(hostname) : hostname;
  // `*.a.example.com` lies inside `*.example.com`; `a.example.com` too; `example.com` not.
  return inner.endsWith(suffix) && inner.length > suffix.length;
}

/**
 * True when some host is admitted by both (undefined = any host): the test for
 * "the intersection of the hostnames is non-empty" (GRPCRouteSpec.hostnames docs).
 */
export function hostnamesIntersect(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return true;
  return hostnameCovers(a, b) || hostnameCovers(b, a);
}
