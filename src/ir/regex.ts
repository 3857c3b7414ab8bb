// The regular-expression dialect of the IR (path, header, query and gRPC matches of type
// RegularExpression). The Gateway API leaves the dialect to the implementation
// (PathMatchType docs: "implementations can support POSIX, PCRE, RE2 or any other"),
// so we state ours: ECMAScript syntax without flags, restricted to what RE2 also
// accepts in spirit — no backreferences, no lookaround — and matched against the
// WHOLE value, as Envoy's safe_regex (RE2) does. The restriction keeps configs portable
// to an RE2 engine later and rules out the constructs whose backtracking cost is
// unbounded even in simple patterns; it does not make every pattern linear-time.

/** Longest pattern accepted; header values are at most 4096 characters (HTTPHeaderMatch). */
export const MAX_REGEX_LENGTH = 4096;

export type RegexCompilation = { ok: true; regex: RegExp } | { ok: false; reason: string };

/**
 * The first construct outside our dialect, or undefined. Scans tokens so that an
 * escaped backslash (`\\1`) or a `(` inside a character class is not mistaken for one.
 */
function unsupportedConstruct(source: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && next >= '1' && next <= '9') return 'backreferences (\\1…\\9) are not supported';
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'named backreferences (\\k<name>) are not supported';
      i++;
    } else if (char === '[') {
      inClass = true;
    } else if (char === ']') {
      inClass = false;
    } else if (char === '(' && !inClass && /^\(\?<?[=!]/.test(source.slice(i, i + 4))) {
      return 'lookahead and lookbehind groups are not supported';
    }
  }
  return undefined;
}

/** Compiles `source` to a regex that must match the whole input. Never throws. */
export function compileFullMatchRegex(source: string): RegexCompilation {
  if (source.length === 0) return { ok: false, reason: 'the pattern is empty' };
  if (source.length > MAX_REGEX_LENGTH) return { ok: false, reason: `the pattern is longer than ${MAX_REGEX_LENGTH} characters` };
  const unsupported = unsupportedConstruct(source);
  if (unsupported) return { ok: false, reason: unsupported };
  try {
    new RegExp(source); // on its own first, so an error message names the user's pattern, not our wrapper
    return { ok: true, regex: new RegExp(`^(?:${source})$`) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
