// Hostname matching as the Gateway API defines it, for the proxy's hot path: which
// server block an SNI or Host selects, which routes a Host admits.
//
// - Comparison is case-insensitive and ignores a trailing dot (DNS names, RFC 4343;
//   `example.com.` is `example.com`).
// - A wildcard `*.example.com` matches one or more whole labels in front of the suffix:
//   `foo.example.com` and `foo.bar.example.com`, never `example.com` itself
//   (HTTPRouteSpec.hostnames docs).
// - Precedence (Listener.hostname docs, "Listeners that are distinct only by
//   Hostname"): exact before wildcard, a more specific wildcard (more labels to the
//   right of the `*`) before a less specific one, and the entry without hostname
//   (the catch-all) last.
import { isWildcardHostname, normalizeHostname, wildcardSuffix } from '../ir/hostname.js';

/** True when `host` (a concrete name) is matched by `pattern` (exact or `*.` wildcard). */
export function hostnameMatches(pattern: string, host: string): boolean {
  const p = normalizeHostname(pattern);
  const h = normalizeHostname(host);
  if (!isWildcardHostname(p)) return p === h;
  const suffix = wildcardSuffix(p);
  return h.length > suffix.length && h.endsWith(suffix);
}

export type HostnameMatchKind = 'exact' | 'wildcard' | 'catch-all';

export interface HostnameEntry<T> {
  /** Exact or `*.` wildcard; absent for the catch-all. */
  hostname?: string;
  value: T;
}

/** What a lookup found: the value, and by which rule (for logs and metrics). */
export interface HostnameMatch<T> {
  readonly value: T;
  readonly kind: HostnameMatchKind;
  /** The matching entry's hostname (normalized); absent for the catch-all. */
  readonly pattern?: string;
}

/**
 * Hostname → value with Gateway API precedence, built once per configuration. Exact
 * names sit in a Map; wildcards in a Map keyed by their suffix (`.example.com`), probed
 * from the longest suffix of the host to the shortest, so the first hit is the most
 * specific wildcard. A lookup costs one Map probe per label of the host.
 *
 * When two entries have the same hostname (or both have none), the first one given
 * wins: callers pass entries in their own precedence order.
 */
export class HostnameIndex<T> {
  private readonly exact = new Map<string, HostnameMatch<T>>();
  private readonly wildcards = new Map<string, HostnameMatch<T>>();
  private readonly catchAll: HostnameMatch<T> | undefined;
  readonly size: number;

  constructor(entries: Iterable<HostnameEntry<T>>) {
    let catchAll: HostnameMatch<T> | undefined;
    let size = 0;
    for (const entry of entries) {
      size++;
      if (entry.hostname === undefined) {
        catchAll ??= { value: entry.value, kind: 'catch-all' };
        continue;
      }
      const pattern = normalizeHostname(entry.hostname);
      if (isWildcardHostname(pattern)) {
        const suffix = wildcardSuffix(pattern);
        if (!this.wildcards.has(suffix)) this.wildcards.set(suffix, { value: entry.value, kind: 'wildcard', pattern });
      } else if (!this.exact.has(pattern)) {
        this.exact.set(pattern, { value: entry.value, kind: 'exact', pattern });
      }
    }
    this.catchAll = catchAll;
    this.size = size;
  }

  /** The entry `host` selects, or undefined when none (no exact, no wildcard, no catch-all). */
  lookup(host: string): HostnameMatch<T> | undefined {
    const name = normalizeHostname(host);
    const exact = this.exact.get(name);
    if (exact) return exact;
    if (this.wildcards.size > 0 && !name.startsWith('.')) {
      // A wildcard needs at least one label before its suffix: start after the first label.
      for (let dot = name.indexOf('.', 1); dot !== -1; dot = name.indexOf('.', dot + 1)) {
        const wildcard = this.wildcards.get(name.slice(dot));
        if (wildcard) return wildcard;
      }
    }
    return this.catchAll;
  }

  /** The catch-all entry (no hostname), if any. */
  get catchAllEntry(): HostnameMatch<T> | undefined {
    return this.catchAll;
  }
}

/** One-off form of HostnameIndex: the value `host` selects among `entries`, or undefined. */
export function selectByHostname<T>(entries: Iterable<HostnameEntry<T>>, host: string): T | undefined {
  return new HostnameIndex(entries).lookup(host)?.value;
}

/**
 * The hostname of an HTTP Host header or :authority: the port removed (HTTPRouteSpec
 * docs: implementations MUST ignore any port in the Host header), brackets of an IPv6
 * literal kept off, lower case, no trailing dot. Userinfo is not valid in Host
 * (RFC 9110 §7.2) and is left as is, so it matches nothing.
 */
export function hostnameOfAuthority(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end === -1 ? authority.toLowerCase() : authority.slice(1, end).toLowerCase();
  }
  const colon = authority.lastIndexOf(':');
  const host = colon !== -1 && /^[0-9]*$/.test(authority.slice(colon + 1)) ? authority.slice(0, colon) : authority;
  return normalizeHostname(host);
}
