// The HTTP echo. One handler serves HTTP/1.1 and HTTP/2, cleartext and TLS.
//
// Plain format (the reference guide's echo): every path answers
//   Running on Pod <pod>.\n
// (plus "Through HTTPS connection.\n" over TLS), 200, text/plain. A request with
// `Accept: application/json` gets the JSON echo instead, and `/ws` upgrades to WebSocket.
//
// JSON format (upstream echo-basic, conformance/echo-basic/echo-basic.go in
// kubernetes-sigs/gateway-api, now echo-basic/echo-basic.go in
// kubernetes-sigs/gateway-api-conformance-images): `/health`, `/status/<code>`,
// `/retry/...`, `/ws`, and for every other path the request echoed as JSON:
//   {"path","host","method","proto","headers","httpPort","namespace","ingress","service","pod","tls"?}
// with `?delay=<duration>` and the `X-Echo-Set-Header: Name:Value,...` response headers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { constants as http2Constants } from 'node:http2';
import { posix } from 'node:path';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { HttpFormat, PodIdentity } from './config.js';
import { canonicalHeaderKey, goAtoi, goJsonMarshal, goJsonMarshalIndent, httpTlsVersionName, isHeaderName, parseGoDuration } from './go-compat.js';
import { readTlsFacts, type TlsFacts } from './tls-facts.js';

export type EchoRequest = IncomingMessage | Http2ServerRequest;
export type EchoResponse = ServerResponse | Http2ServerResponse;
export type HttpHandler = (req: EchoRequest, res: EchoResponse) => void;

export interface HttpEchoSettings {
  format: HttpFormat;
  pod: PodIdentity;
  /** Reported as `httpPort` in the JSON echo. */
  httpPortLabel: string;
}

/** Upstream's TLSAssertions, field order as Go marshals it. */
export interface HttpTlsAssertions {
  version: string;
  peerCertificates?: string[];
  serverName: string;
  negotiatedProtocol?: string;
  cipherSuite: string;
}

/** Upstream's RequestAssertions with its inlined Context, field order as Go marshals it. */
export interface HttpRequestAssertions {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  httpPort: string;
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
  tls?: HttpTlsAssertions;
}

/** The handler for the HTTP, HTTPS and TLS(ALPN) ports. */
export function createEchoHandler(settings: HttpEchoSettings): HttpHandler {
  const retries = new RetrySimulation();
  if (settings.format === 'plain') {
    return (req, res) => {
      if (wantsJson(req)) return void echoAsJson(req, res, settings);
      answerPlain(req, res, settings.pod);
    };
  }
  return (req, res) => routeLikeEchoBasic(req, res, settings, retries);
}

/**
 * Upstream's h2c port (3001): HTTP/2 with prior knowledge, or HTTP/1.1 carrying
 * `Upgrade: h2c`; anything else is a 400. No routes: every path is echoed.
 */
export function createH2cOnlyHandler(settings: HttpEchoSettings): HttpHandler {
  return (req, res) => {
    if (req.httpVersionMajor !== 2 && req.headers.upgrade !== 'h2c') {
      res.statusCode = 400;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end('Expected h2c request');
      return;
    }
    if (settings.format === 'plain' && !wantsJson(req)) return answerPlain(req, res, settings.pod);
    void echoAsJson(req, res, settings);
  };
}

/** The reference guide's answer. */
export function plainAnswer(pod: string, overTls: boolean): string {
  return `Running on Pod ${pod}.\n${overTls ? 'Through HTTPS connection.\n' : ''}`;
}

function answerPlain(req: EchoRequest, res: EchoResponse, pod: PodIdentity): void {
  setEchoedResponseHeaders(req, res);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(plainAnswer(pod.pod, isTls(req.socket)));
}

function routeLikeEchoBasic(req: EchoRequest, res: EchoResponse, settings: HttpEchoSettings, retries: RetrySimulation): void {
  // Go's server answers "OPTIONS *" (RFC 9110 §9.3.7) itself, before any handler.
  if (req.method === 'OPTIONS' && req.url === '*') {
    res.statusCode = 200;
    res.setHeader('Content-Length', '0');
    res.end();
    return;
  }
  const target = requestTarget(req);
  // Upstream wraps its ServeMux so that "//" in a path does not trigger the mux's redirect.
  const path = target.path.replaceAll('//', '/');
  const cleaned = cleanPath(path);
  if (req.method !== 'CONNECT' && cleaned !== path) return redirect(res, cleaned, target.query);
  if (path === '/health') return answerText(res, 200, 'OK');
  if (path === '/status' || path === '/retry') return redirect(res, `${path}/`, target.query);
  if (path.startsWith('/status/')) return answerStatus(req, res);
  if (path.startsWith('/retry/')) return void retries.handle(req, res, settings, target.query);
  // `/ws` over HTTP/1.1 with an Upgrade arrives through the server's upgrade event; a plain request here is not a handshake.
  if (path === '/ws') return answerText(res, 400, 'missing or bad WebSocket upgrade\n');
  void echoAsJson(req, res, settings);
}

/** Go's ServeMux redirects to the cleaned path (RFC 3986 §5.2.4 dot segments removed, trailing slash kept). */
function cleanPath(path: string): string {
  if (path === '') return '/';
  const absolute = path.startsWith('/') ? path : `/${path}`;
  const normalized = posix.normalize(absolute);
  return normalized;
}

function redirect(res: EchoResponse, location: string, query: string): void {
  const target = query ? `${location}?${query}` : location;
  res.statusCode = 301;
  res.setHeader('Location', target);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(`<a href="${target.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`)}">Moved Permanently</a>.\n\n`);
}

function answerText(res: EchoResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}

/** `/status/NNN` answers NNN with an empty body; anything else under /status/ is a 400. Matched on the raw request target, as upstream does. */
function answerStatus(req: EchoRequest, res: EchoResponse): void {
  const match = /^\/status\/(\d\d\d)$/.exec(req.url ?? '');
  const code = match ? Number(match[1]) : 400;
  if (code < 100) {
    // Go's WriteHeader panics on such a code and the server drops the connection.
    return abortExchange(req, res);
  }
  // 1xx are informational in Go: the handler then ends with an implicit 200.
  res.statusCode = code < 200 ? 200 : code;
  res.end();
}

/** Builds upstream's RequestAssertions for a request. */
export function requestAssertions(req: EchoRequest, settings: HttpEchoSettings): HttpRequestAssertions {
  const assertions: HttpRequestAssertions = {
    path: req.url ?? '',
    host: requestHost(req),
    method: req.method ?? '',
    proto: `HTTP/${req.httpVersionMajor}.${req.httpVersionMinor}`,
    headers: requestHeaderMap(req.rawHeaders, req.httpVersionMajor === 2),
    httpPort: settings.httpPortLabel,
    namespace: settings.pod.namespace,
    ingress: settings.pod.ingress,
    service: settings.pod.service,
    pod: settings.pod.pod,
  };
  const socket = req.socket;
  if (isTls(socket)) assertions.tls = httpTlsAssertions(readTlsFacts(socket as TLSSocket));
  return assertions;
}

export function httpTlsAssertions(facts: TlsFacts): HttpTlsAssertions {
  return {
    version: httpTlsVersionName(facts.protocol),
    ...(facts.peerCertificates.length > 0 ? { peerCertificates: facts.peerCertificates } : {}),
    serverName: facts.serverName,
    ...(facts.alpnProtocol ? { negotiatedProtocol: facts.alpnProtocol } : {}),
    cipherSuite: facts.cipherSuite,
  };
}

/**
 * The request's header fields as Go's net/http shows them to a handler: canonical names
 * (`X-Forwarded-For`), one entry per field line, keys sorted (Go marshals maps sorted);
 * without Host (that is `host`), Transfer-Encoding and HTTP/2 pseudo-headers. Go's
 * HTTP/2 server joins multiple cookie fields into one (RFC 9113 §8.2.3).
 */
export function requestHeaderMap(rawHeaders: string[], http2: boolean): Record<string, string[]> {
  const collected = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower.startsWith(':') || lower === 'host' || lower === 'transfer-encoding') continue;
    const key = canonicalHeaderKey(name);
    const values = collected.get(key) ?? [];
    values.push(rawHeaders[i + 1]!);
    collected.set(key, values);
  }
  if (http2) {
    const cookies = collected.get('Cookie');
    if (cookies && cookies.length > 1) collected.set('Cookie', [cookies.join('; ')]);
  }
  const sorted: Record<string, string[]> = {};
  for (const key of [...collected.keys()].sort()) sorted[key] = collected.get(key)!;
  return sorted;
}

/**
 * `X-Echo-Set-Header: Name:Value, Other:Value` asks the echo to add response headers;
 * the conformance suite uses it to test response-header filters. A name given twice is
 * joined with a comma, as upstream does.
 */
export function echoedResponseHeaders(requestValues: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const list of requestValues) {
    for (const item of list.split(',')) {
      const entry = item.trim();
      const colon = entry.indexOf(':');
      const name = colon === -1 ? entry : entry.slice(0, colon);
      const value = colon === -1 ? '' : entry.slice(colon + 1).trim();
      // Go would put an invalid name in its header map and then skip it when writing.
      if (!isHeaderName(name)) continue;
      const existing = headers.get(name);
      headers.set(name, existing === undefined ? value : `${existing},${value}`);
    }
  }
  return headers;
}

function setEchoedResponseHeaders(req: EchoRequest, res: EchoResponse): void {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === 'x-echo-set-header') values.push(req.rawHeaders[i + 1]!);
  }
  for (const [name, value] of echoedResponseHeaders(values)) {
    try {
      res.setHeader(name, value);
    } catch {
      // A value Node refuses (control characters) is dropped, as Go's writer drops invalid ones.
    }
  }
}

async function echoAsJson(req: EchoRequest, res: EchoResponse, settings: HttpEchoSettings): Promise<void> {
  // Upstream's line, on stdout: the conformance suite's mirror tests look for it in the Pod's log.
  if (settings.format === 'json') process.stdout.write(`Echoing back request made to ${req.url ?? ''} to client (${remoteAddress(req.socket)})\n`);
  const delay = requestTarget(req).params.get('delay');
  if (delay) {
    try {
      await sleep(parseGoDuration(delay));
    } catch (err) {
      return answerError(res, 500, err as Error);
    }
  }
  const body = goJsonMarshalIndent(requestAssertions(req, settings));
  setEchoedResponseHeaders(req, res);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(body);
}

/** Go's RemoteAddr: `host:port`, IPv6 in brackets. */
function remoteAddress(socket: Socket | null | undefined): string {
  const address = socket?.remoteAddress ?? '';
  return `${address.includes(':') ? `[${address}]` : address}:${socket?.remotePort ?? 0}`;
}

function answerError(res: EchoResponse, status: number, err: Error): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(goJsonMarshal({ message: err.message }));
}

/**
 * Upstream's flaky backend for the retry tests: `/retry/<anything>?uuid=U&succeedAfter=N`
 * fails the first N attempts for U, then echoes. A failure resets the TCP connection,
 * or answers `responseCode` when given; `delayRetry` delays each failure.
 */
class RetrySimulation {
  private readonly attempts = new Map<string, number>();

  async handle(req: EchoRequest, res: EchoResponse, settings: HttpEchoSettings, query: string): Promise<void> {
    const params = new URLSearchParams(query);
    const uuid = params.get('uuid') ?? '';
    if (uuid === '') return answerText(res, 400, 'uuid is required');
    const succeedAfter = goAtoi(params.get('succeedAfter') ?? '');
    if (succeedAfter === undefined) return answerText(res, 400, 'succeedAfter is required');
    const responseCode = goAtoi(params.get('responseCode') ?? '');
    const attempts = this.attempts.get(uuid) ?? 0;
    if (attempts >= succeedAfter) return echoAsJson(req, res, settings);
    this.attempts.set(uuid, attempts + 1);
    const delay = params.get('delayRetry');
    if (delay) {
      try {
        await sleep(parseGoDuration(delay));
      } catch (err) {
        return answerError(res, 500, err as Error);
      }
    }
    if (responseCode !== undefined) {
      res.statusCode = responseCode;
      res.end();
      return;
    }
    resetConnection(req, res);
  }
}

/** Drops the connection without an answer: a TCP RST where we own a TCP socket. */
function resetConnection(req: EchoRequest, res: EchoResponse): void {
  if (req.httpVersionMajor === 2) {
    // Upstream cannot hijack an HTTP/2 stream and answers 500 with this message.
    return answerError(res, 500, new Error('response writer does not support hijacking'));
  }
  const socket = req.socket;
  if (socket instanceof TLSSocket) {
    socket.destroy();
    return;
  }
  socket.resetAndDestroy();
}

function abortExchange(req: EchoRequest, res: EchoResponse): void {
  if (req.httpVersionMajor === 2) {
    (res as Http2ServerResponse).stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  req.socket.destroy();
}

function wantsJson(req: EchoRequest): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'application/json') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function requestHost(req: EchoRequest): string {
  const authority = req.headers[':authority'];
  if (typeof authority === 'string' && authority !== '') return authority;
  return req.headers.host ?? '';
}

interface RequestTarget {
  path: string;
  query: string;
  params: URLSearchParams;
}

function requestTarget(req: EchoRequest): RequestTarget {
  const raw = req.url ?? '/';
  const queryStart = raw.indexOf('?');
  const rawPath = queryStart === -1 ? raw : raw.slice(0, queryStart);
  const query = queryStart === -1 ? '' : raw.slice(queryStart + 1);
  let path = rawPath;
  // Absolute-form targets (RFC 9112 §3.2.2) route by their path.
  if (/^https?:\/\//i.test(rawPath)) {
    try {
      path = new URL(rawPath).pathname;
    } catch {
      path = rawPath;
    }
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    // Go would reject an invalid escape earlier; matching the raw path is the next best thing.
  }
  return { path, query, params: new URLSearchParams(query) };
}

function isTls(socket: Socket | null | undefined): boolean {
  return !!socket && (socket as TLSSocket).encrypted === true;
}

function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, Math.min(ms, 2 ** 31 - 1)));
}
