// Small pure functions that reproduce how the upstream echo (written in Go) spells
// things on the wire, so clients written against it parse our answers unchanged:
// header-name canonicalisation, JSON escaping, duration strings, TLS names, PEM.

/** Go's encoding/json escapes these even inside strings (HTML safety); JSON parsers decode them back. */
const goJsonEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Like Go's json.Marshal (compact), including its HTML escaping. */
export function goJsonMarshal(value: unknown): string {
  return escapeLikeGo(JSON.stringify(value));
}

/** Like Go's json.MarshalIndent(value, "", " "): one space per level. */
export function goJsonMarshalIndent(value: unknown): string {
  return escapeLikeGo(JSON.stringify(value, null, 1));
}

function escapeLikeGo(json: string): string {
  // The characters can only occur inside JSON strings, so a global replace is safe.
  return json.replace(/[<>&\u2028\u2029]/g, (ch) => goJsonEscapes[ch]!);
}

const tokenChar = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `name` is a valid HTTP field name (RFC 9110 §5.1: a token). */
export function isHeaderName(name: string): boolean {
  return tokenChar.test(name);
}

/**
 * Go's textproto.CanonicalMIMEHeaderKey: upper-case the first letter and every letter
 * after a hyphen, lower-case the rest; names that are not tokens stay as they are.
 */
export function canonicalHeaderKey(name: string): string {
  if (!isHeaderName(name)) return name;
  let upper = true;
  let out = '';
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5
  'μs': 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration string ("300ms", "1.5s", "1m30s", "-2h") into milliseconds,
 * with Go's time.ParseDuration error texts, which upstream returns in its JSON errors.
 */
export function parseGoDuration(text: string): number {
  const invalid = () => new Error(`time: invalid duration ${JSON.stringify(text)}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [matched, whole = '', fraction] = number;
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(matched.length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${JSON.stringify(text)}`);
    const scale = durationUnits[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`);
    rest = rest.slice(unit.length);
    total += Number(`${whole || '0'}.${fraction || '0'}`) * scale;
  }
  return sign * total;
}

/** Go's strconv.Atoi for the decimal strings upstream reads from query parameters. */
export function goAtoi(text: string): number | undefined {
  return /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
}

/** The version names upstream's HTTP and gRPC echo use ("TLSv1.3"). Node says "TLSv1" for 1.0. */
export function httpTlsVersionName(nodeProtocol: string | null): string {
  if (nodeProtocol === 'TLSv1') return 'TLSv1.0';
  return nodeProtocol ?? '';
}

/** The names Go's tls.VersionName gives ("TLS 1.3"), which upstream's TCP server uses. */
export function goTlsVersionName(nodeProtocol: string | null): string {
  switch (nodeProtocol) {
    case 'TLSv1.3':
      return 'TLS 1.3';
    case 'TLSv1.2':
      return 'TLS 1.2';
    case 'TLSv1.1':
      return 'TLS 1.1';
    case 'TLSv1':
      return 'TLS 1.0';
    case 'SSLv3':
      return 'SSLv3';
    default:
      return nodeProtocol ?? '';
  }
}

/** PEM as Go's pem.Encode writes it: 64-column base64 and a trailing newline. */
export function pemEncodeCertificate(der: Buffer): string {
  const base64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
