// Request paths are normalized before route matching, and the normalized path is what
// the backend receives, so a route and its backend never disagree about which resource
// a request names (`/public/../admin` must not match a `/public` prefix and then reach
// `/admin`). The rules follow RFC 3986 §6.2.2 as Envoy-based gateways apply them by
// default (Envoy `normalize_path` + `merge_slashes`, Envoy Gateway's defaults):
//
// 1. Percent-encoding (§6.2.2.1/§6.2.2.2): an encoded unreserved character
//    (ALPHA / DIGIT / `-` `.` `_` `~`) is decoded; every other encoding is kept, its hex
//    digits upper-cased (`%2f` → `%2F`). `%2F` and `%5C` stay encoded: an encoded
//    slash is data, not a separator. A `%` not followed by two hex digits is a bad
//    request (400).
// 2. Consecutive slashes are merged (`//a///b` → `/a/b`).
// 3. Dot segments are removed (§5.2.4, after step 1, so `%2E%2E` counts as `..`):
//    `/a/./b` → `/a/b`, `/a/b/../c` → `/a/c`, `/a/..` → `/`; `..` never climbs
//    above the root (`/../a` → `/a`).
//
// The query is not touched. A target that does not start with `/` (`*` for
// `OPTIONS *`) is left as it is.

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

const HEX = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || // -
    code === 0x2e || // .
    code === 0x5f || // _
    code === 0x7e // ~
  );
}

/** Step 1; undefined for a malformed escape. */
function normalizePercentEncoding(path: string): string | undefined {
  let out = '';
  let from = 0;
  for (let at = path.indexOf('%'); at !== -1; at = path.indexOf('%', from)) {
    const hex = path.slice(at + 1, at + 3);
    if (!HEX.test(hex)) return undefined;
    const code = parseInt(hex, 16);
    out += path.slice(from, at) + (isUnreserved(code) ? String.fromCharCode(code) : `%${hex.toUpperCase()}`);
    from = at + 3;
  }
  return out + path.slice(from);
}

/** Steps 2 and 3 on a path starting with `/`. */
function mergeSlashesAndRemoveDotSegments(path: string): string {
  const output: string[] = [];
  const segments = path.split('/');
  // segments[0] is '' (the leading slash). A final '.', '..' or '' segment leaves a trailing slash.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '..') {
      output.pop();
      if (last) output.push('');
    } else if (segment === '.' || segment === '') {
      if (last) output.push('');
    } else {
      output.push(segment);
    }
  }
  return `/${output.join('/')}`;
}

/** Whether `path` can need any change: the hot path skips the work for ordinary paths. */
function mayNeedNormalizing(path: string): boolean {
  return path.includes('%') || path.includes('//') || path.includes('/.');
}

export function normalizePath(path: string): NormalizedPath {
  if (!path.startsWith('/') || !mayNeedNormalizing(path)) return { ok: true, path };
  const decoded = normalizePercentEncoding(path);
  if (decoded === undefined) return { ok: false, reason: 'the path has a "%" not followed by two hex digits (RFC 3986 §2.1)' };
  return { ok: true, path: mergeSlashesAndRemoveDotSegments(decoded) };
}
