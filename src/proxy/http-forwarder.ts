// One HTTP request, from routing to the last byte of the answer. Independent of the
// client's protocol: the HTTP/1.1 and HTTP/2 frontends turn their requests into a
// DownstreamRequest with a ResponseSink, and the backend's protocol is the backend's
// (HTTP/1.1 through an undici Pool, HTTP/2 through a node:http2 session). So h2
// clients reach HTTP/1.1 backends, and gRPC clients reach h2c backends.
//
// Answers the proxy makes itself:
// - 404 JSON `{"message":"no route matched","host","path"}` (HTTPRouteRule.matches docs);
// - 421 when the Host belongs to another server block than the one the TLS handshake
//   selected (RFC 9110 §15.5.20);
// - the rule's invalidBackendResponse (500), or 500 for the share of an InvalidBackend
//   (HTTPRouteRule.backendRefs docs); gRPC: UNAVAILABLE (14) as trailers-only;
// - 503 when the chosen backend has no endpoints or none accepts a connection;
// - 502 when the backend fails before answering, 504 on a route timeout.
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders as Http2IncomingHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import { util as undiciUtil, type Dispatcher } from 'undici';
import type { GrpcRouteRule, HttpRouteRule, HttpTimeouts } from '../ir/types.js';
import type { Logger } from '../lib/log.js';
import type { HttpBackendChoice, MirrorPlan, RuntimeListener } from './config-state.js';
import {
  applyHeaderEdits,
  connectionNominatedHeaders,
  HOP_BY_HOP_HEADERS,
  matchedPathPrefix,
  modifyPath,
  redirectLocation,
  type HeaderEdits,
  type HeaderMap,
} from './http-filters.js';
import { corsVerdict } from './cors.js';
import { setForwardedHeaders } from './forwarded-headers.js';
import { DISCARDING_SINK, MIRROR_TIMEOUT_MS, mirrorChosen } from './http-mirror.js';
import { bodyStream, HELD_BODY_LIMIT_BYTES, holdBody, RetryRun, type HeldBody } from './http-retry.js';
import { hostnameOfAuthority } from './hostname-match.js';
import { normalizePath } from './path-normalization.js';
import { sendUpgrade, type UpgradeOutcome, type UpgradeRequest } from './http-upgrade.js';
import type { ProxyMetrics } from './metrics.js';
import type { ProxyOptions } from './proxy-options.js';
import { matchRequest, type ConnectionTls, type GrpcRouteMatched, type HttpRouteMatched } from './route-table.js';
import type { Http1Upstream, Http2Upstream, HttpUpstream } from './upstream-pools.js';

// ---------------------------------------------------------------------------------
// The frontend's side of a request

/** Facts about the client connection a request arrived on. */
export interface ConnectionInfo {
  readonly listener: RuntimeListener;
  readonly clientAddress: string;
  readonly scheme: 'http' | 'https';
  /** Present on TLS connections: the block the handshake selected and the SNI. */
  readonly tls?: ConnectionTls;
}

export interface ResponseStartOptions {
  /** No body follows (HEAD answers, trailers-only gRPC answers). */
  endStream?: boolean;
  /** Trailers will follow the body (HTTP/2 only; gRPC). */
  trailers?: boolean;
}

/** Where the answer goes: an HTTP/1.1 ServerResponse or an HTTP/2 stream. */
export interface ResponseSink {
  readonly headersSent: boolean;
  /** The status sent, 0 before. */
  readonly status: number;
  /** `headers` is built for this answer and belongs to the sink from then on (it may add to it). */
  start(status: number, headers: HeaderMap, options?: ResponseStartOptions): void;
  /** False: wait for onceDrain before writing more. */
  write(chunk: Buffer): boolean;
  onceDrain(callback: () => void): void;
  end(trailers?: HeaderMap): void;
  /** The answer cannot be completed: reset the stream (HTTP/2) or the connection (HTTP/1.1). */
  abort(): void;
  /** Called once if the client goes away before the answer is complete. */
  onClientGone(callback: () => void): void;
}

export interface DownstreamRequest {
  readonly connection: ConnectionInfo;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly method: string;
  /** Host header or :authority, as received. */
  readonly authority: string;
  /** The request target as received: path and query. */
  readonly target: string;
  /** Lower-case names, without HTTP/2 pseudo-headers. */
  readonly headers: HeaderMap;
  /** Null when the request has no body. */
  readonly body: Readable | null;
  readonly sink: ResponseSink;
  readonly startedAt: number;
  /** Present on an HTTP/1.1 Upgrade request (WebSocket): the detached client socket. */
  readonly upgrade?: UpgradeRequest;
}

// ---------------------------------------------------------------------------------
// Upstream exchange

/** How one attempt on one endpoint ended. */
export type AttemptOutcome =
  | { kind: 'completed' }
  /** Nothing reached the backend (connect refused, no session): another endpoint may be tried. */
  | { kind: 'not-sent'; code: string }
  | { kind: 'failed'; code: string }
  | { kind: 'timeout' }
  | { kind: 'client-gone' };

interface UpstreamRequest {
  method: string;
  /** Path and query. */
  path: string;
  authority: string;
  headers: HeaderMap;
  body: Readable | null;
  /** Per-attempt time limit in ms (0: none). */
  timeoutMs: number;
  /** The rule's response header edits, then the backend's. */
  responseHeaders: readonly HeaderEdits[];
  /** Keep `te: trailers` for HTTP/2 backends (gRPC). */
  wantsTrailers: boolean;
}

const NO_EDITS: readonly HeaderEdits[] = [];

/** Response header edits in order: the rule's filter, then the chosen backend's (no allocation without filters). */
function responseEdits(plan: { responseHeaders?: HeaderEdits }, choice: { responseHeaders?: HeaderEdits }): readonly HeaderEdits[] {
  if (plan.responseHeaders === undefined) return choice.responseHeaders === undefined ? NO_EDITS : [choice.responseHeaders];
  return choice.responseHeaders === undefined ? [plan.responseHeaders] : [plan.responseHeaders, choice.responseHeaders];
}

/** A request an HTTP/2 session would not take (GOAWAY, closed under us): a fresh session to the same endpoint may. */
const SESSION_GONE = 'H2_SESSION_GONE';

/** Whether any of a request body was consumed already (then it cannot be sent again). */
function bodyWasRead(body: Readable | null): boolean {
  return body !== null && body.readableDidRead;
}

const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;

function connectionFailureCode(error: unknown): string {
  return ((error as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR').toString();
}

/** Copies response headers for the client: hop-by-hop and pseudo-headers removed, the route's edits applied. */
function responseHeadersFrom(upstream: Record<string, string | string[] | undefined>, edits: readonly HeaderEdits[]): HeaderMap {
  const nominated = connectionNominatedHeaders(upstream['connection']);
  const headers: HeaderMap = {};
  for (const name in upstream) {
    if (name.charCodeAt(0) === 0x3a /* ':' */ || HOP_BY_HOP_HEADERS.has(name)) continue;
    if (nominated.length > 0 && nominated.includes(name)) continue;
    headers[name] = upstream[name];
  }
  for (const edit of edits) applyHeaderEdits(headers, edit);
  return headers;
}

/**
 * The client's response headers straight from a raw header list (undici's Buffers, or
 * the lean client's latin1 strings): hop-by-hop
 * fields dropped while copying, the route's edits applied. One object per answer (the
 * parsed-headers object undici would build first is skipped).
 */
function responseHeadersFromRaw(raw: readonly (Buffer | string)[], edits: readonly HeaderEdits[]): HeaderMap {
  const headers: HeaderMap = {};
  let connection: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = undiciUtil.headerNameToString(raw[i]!);
    const rawValue = raw[i + 1]!;
    const value = typeof rawValue === 'string' ? rawValue : rawValue.toString('latin1');
    if (HOP_BY_HOP_HEADERS.has(name)) {
      if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      continue;
    }
    const existing = headers[name];
    if (existing === undefined) {
      if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, configurable: true, writable: true });
      else headers[name] = value;
    } else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  if (connection !== undefined && !PLAIN_CONNECTION_VALUE.test(connection)) for (const name of connectionNominatedHeaders(connection)) delete headers[name];
  for (const edit of edits) applyHeaderEdits(headers, edit);
  return headers;
}

/** `Connection: keep-alive` or `close` (what backends send) nominates no field we forward. */
const PLAIN_CONNECTION_VALUE = /^\s*(?:keep-alive|close)\s*$/i;

/** Trailers from undici's raw list; undefined when there are none (the common case). */
function trailersFromRaw(raw: readonly (Buffer | string)[] | null | undefined): HeaderMap | undefined {
  if (!raw || raw.length === 0) return undefined;
  const trailers: HeaderMap = {};
  undiciUtil.parseHeaders(raw as Buffer[], trailers as Record<string, string | string[]>);
  return trailers;
}

/**
 * One HTTP/1.1 attempt: an undici dispatch handler writing straight into the sink, with
 * backpressure both ways. It implements undici's callback interface (onConnect,
 * onHeaders, onData, onComplete, onError) rather than the controller one, which undici
 * wraps per request (another object, headers and trailers parsed into objects first):
 * measured in the keep-alive profile.
 */
class Http1Exchange implements Dispatcher.DispatchHandler {
  private abortRequest: ((reason: Error) => void) | undefined;
  private resumeResponse: (() => void) | undefined;
  private sent = false;
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private cancelled: 'timeout' | 'client-gone' | undefined;
  private readonly resumeAfterDrain = (): void => this.resumeResponse?.();

  constructor(
    private readonly sink: ResponseSink,
    private readonly request: UpstreamRequest,
    private readonly done: (outcome: AttemptOutcome) => void,
  ) {
    if (request.timeoutMs > 0) this.timer = setTimeout(() => this.cancel('timeout'), request.timeoutMs);
  }

  cancel(reason: 'timeout' | 'client-gone'): void {
    if (this.settled) return;
    this.cancelled = reason;
    if (this.abortRequest) this.abortRequest(Object.assign(new Error(reason), { code: reason }));
    else this.settle(reason === 'timeout' ? { kind: 'timeout' } : { kind: 'client-gone' });
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort;
    this.sent = true;
    if (this.cancelled) abort(Object.assign(new Error(this.cancelled), { code: this.cancelled }));
  }

  onHeaders(statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx interim answers are not relayed (Node answers 100-continue itself)
    this.resumeResponse = resume;
    try {
      this.sink.start(statusCode, responseHeadersFromRaw(rawHeaders, this.request.responseHeaders));
    } catch (error) {
      this.abortRequest?.(error as Error); // e.g. a header value Node refuses to send
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.sink.write(chunk)) return true;
    this.sink.onceDrain(this.resumeAfterDrain);
    return false;
  }

  onComplete(rawTrailers: (Buffer | string)[] | null): void {
    this.sink.end(trailersFromRaw(rawTrailers));
    this.settle({ kind: 'completed' });
  }

  /** undici refused the request before sending anything (e.g. a header it will not send): not retryable. */
  refuse(error: Error): void {
    this.settle({ kind: 'failed', code: connectionFailureCode(error) });
  }

  onError(error: Error): void {
    if (this.cancelled === 'timeout') return this.settle({ kind: 'timeout' });
    if (this.cancelled === 'client-gone') return this.settle({ kind: 'client-gone' });
    const code = connectionFailureCode(error);
    this.settle(this.sent ? { kind: 'failed', code } : { kind: 'not-sent', code });
  }

  private settle(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.done(outcome);
  }
}

/** Sends one attempt; `done` is called once with its outcome (possibly before this returns). */
function sendHttp1(upstream: Http1Upstream, sink: ResponseSink, request: UpstreamRequest, onCancel: (cancel: (reason: 'timeout' | 'client-gone') => void) => void, done: (outcome: AttemptOutcome) => void): void {
  const exchange = new Http1Exchange(sink, request, done);
  onCancel((reason) => exchange.cancel(reason));
  const headers = request.headers;
  headers['host'] = request.authority;
  try {
    if (upstream.lean && request.body === null) {
      upstream.lean.dispatch({ path: request.path, method: request.method, headers: headers as Record<string, string | string[]> }, exchange);
      return;
    }
    upstream.pool.dispatch(
      {
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: headers as Record<string, string | string[]>,
        body: request.body,
        // The client's keep-alive and the backend's are separate hops.
        reset: false,
        servername: upstream.servername,
      } as Dispatcher.DispatchOptions,
      exchange,
    );
  } catch (error) {
    exchange.refuse(error as Error);
  }
}

function http2RequestHeaders(upstream: Http2Upstream, request: UpstreamRequest): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {
    ':method': request.method,
    ':path': request.path,
    ':authority': request.authority,
    ':scheme': upstream.authorityScheme,
  };
  for (const name in request.headers) {
    const value = request.headers[name];
    if (value !== undefined && name !== 'host') headers[name] = value;
  }
  if (request.wantsTrailers) headers['te'] = 'trailers';
  return headers;
}

async function sendHttp2(upstream: Http2Upstream, sink: ResponseSink, request: UpstreamRequest, onCancel: (cancel: (reason: 'timeout' | 'client-gone') => void) => void): Promise<AttemptOutcome> {
  let session: ClientHttp2Session;
  try {
    session = await upstream.session();
  } catch (error) {
    return { kind: 'not-sent', code: connectionFailureCode(error) };
  }
  return new Promise((resolve) => {
    let settled = false;
    let responded = false;
    let trailers: HeaderMap | undefined;
    let stream: ClientHttp2Stream;
    let timer: NodeJS.Timeout | undefined;
    let cancelled: 'timeout' | 'client-gone' | undefined;
    const settle = (outcome: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(outcome);
    };
    try {
      stream = session.request(http2RequestHeaders(upstream, request), { endStream: request.body === null });
    } catch {
      // The session went away between lookup and use (GOAWAY race): nothing was sent.
      upstream.discard(session);
      return settle({ kind: 'not-sent', code: SESSION_GONE });
    }
    const cancel = (reason: 'timeout' | 'client-gone'): void => {
      if (settled) return;
      cancelled = reason;
      stream.close(NGHTTP2_CANCEL);
    };
    onCancel(cancel);
    if (request.timeoutMs > 0) timer = setTimeout(() => cancel('timeout'), request.timeoutMs);

    stream.on('response', (headers: Http2IncomingHeaders, flags: number) => {
      const status = Number(headers[':status']);
      if (status < 200) return;
      responded = true;
      const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
      try {
        sink.start(status, responseHeadersFrom(headers as Record<string, string | string[] | undefined>, request.responseHeaders), { endStream, trailers: !endStream });
      } catch {
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.on('trailers', (received: Http2IncomingHeaders) => {
      trailers = {};
      for (const name in received) if (name.charCodeAt(0) !== 0x3a) trailers[name] = received[name];
    });
    stream.on('data', (chunk: Buffer) => {
      if (!sink.write(chunk)) {
        stream.pause();
        sink.onceDrain(() => stream.resume());
      }
    });
    stream.on('end', () => {
      if (!responded) return;
      sink.end(trailers);
      settle({ kind: 'completed' });
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (settled) return;
      if (cancelled === 'timeout') return settle({ kind: 'timeout' });
      if (cancelled === 'client-gone') return settle({ kind: 'client-gone' });
      if (responded && stream.rstCode === 0 && stream.readableEnded) {
        sink.end(trailers);
        return settle({ kind: 'completed' });
      }
      // REFUSED_STREAM — sent by the server, or applied by nghttp2 to our streams above a
      // GOAWAY's last stream id — means the server did no processing: retrying is safe
      // (RFC 9113 §8.7, §6.8), as long as the request body can still be sent whole.
      if (!responded && stream.rstCode === NGHTTP2_REFUSED_STREAM && !bodyWasRead(request.body)) return settle({ kind: 'not-sent', code: 'REFUSED_STREAM' });
      settle({ kind: 'failed', code: `H2_RST_${stream.rstCode ?? 'CLOSED'}` });
    });
    if (request.body) request.body.pipe(stream);
  });
}

// ---------------------------------------------------------------------------------
// The forwarder

const JSON_HEADERS = { 'content-type': 'application/json' };

/** RFC 9110 §9.2.2. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

const H2_RETRY_SAME_ENDPOINT: ReadonlySet<string> = new Set(['REFUSED_STREAM', SESSION_GONE]);

/** A pooled connection closed under a request before any answer (undici's "other side closed", resets). */
const KEEP_ALIVE_RACE_CODES: ReadonlySet<string> = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * The attempts of one request, one endpoint after another, until one answers. Bodies can
 * be replayed only while nothing has read them: connect failures move on to the next
 * endpoint. A bodiless idempotent request whose pooled connection the backend had just
 * closed (the keep-alive race: reset before any answer) is sent once more. HTTPRouteTimeouts:
 * `request` bounds the whole exchange, `backendRequest` each attempt. With a retry run (a
 * rule's retry policy, http-retry.ts) the whole round repeats, after its backoff, while the
 * run says so; without one a round is all there is.
 *
 * Callbacks rather than an async loop: a request answered at once costs no Promise and
 * no microtask hops (measured in the keep-alive profile).
 */
class ForwardAttempts {
  private index = 0;
  private cancelCurrent: ((reason: 'timeout' | 'client-gone') => void) | undefined;
  private clientGone = false;
  private timedOut = false;
  private overall: NodeJS.Timeout | undefined;
  private outcome: AttemptOutcome = NO_ATTEMPT;
  private resendAllowed: boolean;
  private sessionRetried = false;
  private readonly onCancel = (cancel: (reason: 'timeout' | 'client-gone') => void): void => {
    this.cancelCurrent = cancel;
  };
  private readonly onOutcome = (outcome: AttemptOutcome): void => this.settled(outcome);
  private readonly sink: ResponseSink;

  constructor(
    private readonly request: DownstreamRequest,
    private upstreams: readonly HttpUpstream[],
    private readonly upstreamRequest: UpstreamRequest,
    timeouts: HttpTimeouts | undefined,
    private readonly metrics: ProxyMetrics,
    private readonly done: (outcome: AttemptOutcome) => void,
    private readonly retry?: { run: RetryRun; upstreams: () => readonly HttpUpstream[] },
  ) {
    this.sink = retry ? retry.run.sink : request.sink;
    this.resendAllowed = upstreamRequest.body === null && IDEMPOTENT_METHODS.has(upstreamRequest.method);
    const requestMs = timeouts?.requestMs ?? 0;
    if (requestMs > 0) {
      this.overall = setTimeout(() => {
        this.timedOut = true;
        this.cancelCurrent?.('timeout');
      }, requestMs);
    }
    upstreamRequest.timeoutMs = timeouts?.backendRequestMs ?? 0;
  }

  start(): void {
    this.request.sink.onClientGone(() => {
      this.clientGone = true;
      this.cancelCurrent?.('client-gone');
    });
    this.attempt();
  }

  private attempt(): void {
    if (this.index >= this.upstreams.length || this.clientGone || this.timedOut) return this.end();
    const upstream = this.upstreams[this.index]!;
    if (upstream.protocol === 'HTTP/2') void sendHttp2(upstream, this.sink, this.upstreamRequest, this.onCancel).then(this.onOutcome);
    else sendHttp1(upstream, this.sink, this.upstreamRequest, this.onCancel, this.onOutcome);
  }

  private settled(outcome: AttemptOutcome): void {
    this.cancelCurrent = undefined;
    this.outcome = outcome;
    const upstream = this.upstreams[this.index]!;
    const listenerName = this.request.connection.listener.name;
    const goOn = !this.clientGone && !this.timedOut;
    if (outcome.kind === 'failed' && this.resendAllowed && !this.sink.headersSent && KEEP_ALIVE_RACE_CODES.has(outcome.code) && goOn) {
      this.resendAllowed = false;
      this.metrics.upstreamFailures.inc([listenerName, `resent-${outcome.code.toLowerCase()}`]);
      return this.attempt(); // the same endpoint: a fresh connection will be used
    }
    // An HTTP/2 session that went away (GOAWAY) under a request it never processed: the
    // endpoint is fine, only that session is done; send once more on a fresh session.
    if (outcome.kind === 'not-sent' && upstream.protocol === 'HTTP/2' && H2_RETRY_SAME_ENDPOINT.has(outcome.code) && !this.sessionRetried && goOn) {
      this.sessionRetried = true;
      this.metrics.upstreamFailures.inc([listenerName, `resent-${outcome.code.toLowerCase()}`]);
      return this.attempt();
    }
    if (outcome.kind !== 'not-sent') return this.end();
    this.metrics.upstreamFailures.inc([listenerName, `connect-${outcome.code.toLowerCase()}`]);
    this.index++;
    this.attempt();
  }

  /** The end of a round: another after the backoff when the retry run wants one, else the outcome. */
  private end(): void {
    const retry = this.retry;
    if (retry && !this.clientGone && !this.timedOut && retry.run.worthAnother(this.outcome)) {
      const listenerName = this.request.connection.listener.name;
      this.metrics.upstreamFailures.inc([listenerName, retry.run.sink.discarded ? 'retried-status' : `retried-${this.outcome.kind}`]);
      void retry.run.backoff((interrupt) => (this.cancelCurrent = interrupt)).then(() => {
        this.cancelCurrent = undefined;
        if (this.clientGone || this.timedOut) return this.finish();
        this.upstreams = retry.upstreams();
        this.index = 0;
        this.upstreamRequest.body = retry.run.nextAttempt();
        this.attempt();
      });
      return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.overall) clearTimeout(this.overall);
    // A retry's dropped answer, when the client or the request timeout cut the retries short.
    if (this.retry?.run.sink.discarded) return this.done(this.clientGone ? { kind: 'client-gone' } : { kind: 'timeout' });
    this.done(this.timedOut && this.outcome.kind !== 'completed' ? { kind: 'timeout' } : this.outcome);
  }
}

const NO_ATTEMPT: AttemptOutcome = { kind: 'not-sent', code: 'NO_ATTEMPT' };

/** Copies are never cancelled: each ends with its answer or its own timeout. */
const ignoreCancel = (): void => {};

export interface ForwarderDependencies {
  options: ProxyOptions;
  metrics: ProxyMetrics;
  accessLog: Logger | undefined;
}

export class HttpForwarder {
  constructor(private readonly deps: ForwarderDependencies) {}

  handle(request: DownstreamRequest): void {
    if (request.method === 'CONNECT') {
      return this.respondJson(request, 501, { message: 'CONNECT is not supported: this gateway routes requests to its backends and does not open tunnels to other hosts' });
    }
    const target = splitTarget(request.target);
    // Matching, filters and the backend all see the normalized path (path-normalization.ts).
    const normalized = normalizePath(target.path);
    if (!normalized.ok) return this.respondJson(request, 400, { message: `bad request: ${normalized.reason}` });
    const { path } = normalized;
    const { query } = target;
    const listener = request.connection.listener;
    const result = matchRequest(listener.routeTable, {
      host: request.authority,
      path,
      method: request.method,
      headers: request.headers,
      query,
      ...(request.connection.tls ? { tls: request.connection.tls } : {}),
    });
    switch (result.kind) {
      case 'misdirected':
        return this.respondJson(request, 421, {
          message: 'misdirected request: the host is served on this port, but not on this TLS connection; connect with it as the TLS server name',
          host: hostnameOfAuthority(request.authority),
        });
      case 'no-match':
        return this.respondJson(request, 404, { message: 'no route matched', host: hostnameOfAuthority(request.authority), path });
      case 'http':
        return this.handleHttpRoute(request, result, path, query);
      case 'grpc':
        return this.handleGrpcRoute(request, result, path, query);
    }
  }

  private handleHttpRoute(request: DownstreamRequest, matched: HttpRouteMatched, path: string, query: string): void {
    const listener = request.connection.listener;
    const plan = listener.httpPlan(matched.rule);
    if (!plan) return this.respondJson(request, 500, { message: 'internal error: the matched rule has no plan' });
    const rule: HttpRouteRule = matched.rule;
    let corsHeaders: HeaderEdits | undefined;
    if (plan.cors) {
      const verdict = corsVerdict(plan.cors, request.method, request.headers);
      if (verdict.kind === 'preflight') return this.respondDirect(request, verdict.status, verdict.headers);
      if (verdict.kind === 'actual') corsHeaders = verdict.responseHeaders;
    }
    if (rule.invalidBackendResponse) {
      return this.respondJson(request, rule.invalidBackendResponse.status, { message: 'the route has no valid backend' }, plan.responseHeaders);
    }
    if (plan.redirect) {
      const location = redirectLocation(
        plan.redirect,
        { scheme: request.connection.scheme, hostname: hostnameOfAuthority(request.authority), path, query, listenerPort: listener.ir.port },
        matchedPathPrefix(matched.match),
      );
      const headers: HeaderMap = { location, 'content-length': '0' };
      if (plan.responseHeaders) applyHeaderEdits(headers, plan.responseHeaders);
      if (corsHeaders) applyHeaderEdits(headers, corsHeaders);
      return this.respondDirect(request, plan.redirect.statusCode, headers);
    }
    const choice = plan.backends.next();
    if (!choice || choice.kind === 'invalid') {
      return this.respondJson(request, 500, { message: 'the route has no valid backend' }, plan.responseHeaders);
    }
    const attempts = choice.upstreams.attempts(this.deps.options.upstreamMaxAttempts);
    if (attempts.length === 0) return this.respondJson(request, 503, { message: 'no healthy upstream: the backend has no ready endpoints', backend: choice.backend.name });

    const headers = this.upstreamHeaders(request);
    if (plan.requestHeaders) applyHeaderEdits(headers, plan.requestHeaders);
    // Copies get the rule's header edits, not those of the backendRef the request went to.
    const mirroring = plan.mirrors ? { mirrors: plan.mirrors, headers: { ...headers } } : undefined;
    if (choice.requestHeaders) applyHeaderEdits(headers, choice.requestHeaders);
    let upstreamPath = path;
    let authority = request.authority;
    if (plan.rewrite) {
      if (plan.rewrite.path) upstreamPath = modifyPath(plan.rewrite.path, path, matchedPathPrefix(matched.match));
      if (plan.rewrite.hostname) authority = plan.rewrite.hostname;
    }
    const upstreamRequest: UpstreamRequest = {
      method: request.method,
      path: query ? `${upstreamPath}?${query}` : upstreamPath,
      authority,
      headers,
      body: request.body,
      timeoutMs: 0,
      responseHeaders: corsHeaders ? [...responseEdits(plan, choice), corsHeaders] : responseEdits(plan, choice),
      wantsTrailers: false,
    };
    if (request.upgrade) return void this.forwardUpgrade(request, request.upgrade, attempts, choice, upstreamRequest);
    if (rule.retry || mirroring) return void this.forwardHoldingBody(request, rule, choice, attempts, upstreamRequest, mirroring);
    this.forward(request, attempts, choice, upstreamRequest, rule.timeouts, false);
  }

  private handleGrpcRoute(request: DownstreamRequest, matched: GrpcRouteMatched, path: string, query: string): void {
    const plan = request.connection.listener.grpcPlan(matched.rule);
    const rule: GrpcRouteRule = matched.rule;
    if (!plan) return this.respondGrpcError(request, GRPC_UNAVAILABLE, 'internal error: the matched rule has no plan');
    if (rule.invalidBackendResponse) return this.respondGrpcError(request, rule.invalidBackendResponse.grpcStatus, 'the route has no valid backend');
    const choice = plan.backends.next();
    if (!choice || choice.kind === 'invalid') return this.respondGrpcError(request, GRPC_UNAVAILABLE, 'the route has no valid backend');
    const attempts = choice.upstreams.attempts(this.deps.options.upstreamMaxAttempts);
    if (attempts.length === 0) return this.respondGrpcError(request, GRPC_UNAVAILABLE, 'no healthy upstream: the backend has no ready endpoints');
    const headers = this.upstreamHeaders(request);
    if (plan.requestHeaders) applyHeaderEdits(headers, plan.requestHeaders);
    if (choice.requestHeaders) applyHeaderEdits(headers, choice.requestHeaders);
    this.forward(request, attempts, choice, {
      method: request.method,
      path: query ? `${path}?${query}` : path,
      authority: request.authority,
      headers,
      body: request.body,
      timeoutMs: 0,
      responseHeaders: responseEdits(plan, choice),
      wantsTrailers: true,
    }, undefined, true);
  }

  /** The client's headers for the backend: hop-by-hop removed, X-Forwarded-* and Forwarded set (forwarded-headers.ts). */
  private upstreamHeaders(request: DownstreamRequest): HeaderMap {
    const source = request.headers;
    const nominated = connectionNominatedHeaders(source['connection']);
    const headers: HeaderMap = {};
    for (const name in source) {
      if (HOP_BY_HOP_HEADERS.has(name) || name === 'host' || name === 'expect') continue;
      if (nominated.length > 0 && nominated.includes(name)) continue;
      headers[name] = source[name];
    }
    const { connection } = request;
    setForwardedHeaders(headers, source, { clientAddress: connection.clientAddress, scheme: connection.scheme, authority: request.authority, port: connection.listener.ir.port });
    return headers;
  }

  private forward(
    request: DownstreamRequest,
    upstreams: HttpUpstream[],
    choice: Extract<HttpBackendChoice, { kind: 'resolved' }>,
    upstreamRequest: UpstreamRequest,
    timeouts: HttpTimeouts | undefined,
    grpc: boolean,
    retry?: RetryRun,
  ): void {
    const again = retry ? { run: retry, upstreams: () => choice.upstreams.attempts(this.deps.options.upstreamMaxAttempts) } : undefined;
    new ForwardAttempts(request, upstreams, upstreamRequest, timeouts, this.deps.metrics, (outcome) => this.finish(request, outcome, choice, grpc), again).start();
  }

  /**
   * Rules that retry or mirror send a request more than once, so they hold its body first
   * (up to HELD_BODY_LIMIT_BYTES; a larger one is streamed once: no retries, no copies).
   */
  private async forwardHoldingBody(
    request: DownstreamRequest,
    rule: HttpRouteRule,
    choice: Extract<HttpBackendChoice, { kind: 'resolved' }>,
    upstreams: HttpUpstream[],
    upstreamRequest: UpstreamRequest,
    mirroring: { mirrors: readonly MirrorPlan[]; headers: HeaderMap } | undefined,
  ): Promise<void> {
    let body: HeldBody | undefined;
    try {
      body = request.body ? await holdBody(request.body, HELD_BODY_LIMIT_BYTES) : undefined;
    } catch {
      return this.finish(request, { kind: 'client-gone' }, choice, false); // the body broke off
    }
    if (mirroring) this.sendMirrors(request.connection.listener.name, mirroring.mirrors, { ...upstreamRequest, headers: mirroring.headers }, body, rule.timeouts);
    const retry = rule.retry ? new RetryRun(request.sink, rule.retry, body) : undefined;
    upstreamRequest.body = body === undefined ? null : body.kind === 'whole' ? bodyStream(body.bytes) : body.stream;
    this.forward(request, upstreams, choice, upstreamRequest, rule.timeouts, false, retry);
  }

  /** Fire and forget: a copy of the request to each mirror whose share it falls in; answers dropped, failures only counted. */
  private sendMirrors(listenerName: string, mirrors: readonly MirrorPlan[], original: UpstreamRequest, body: HeldBody | undefined, timeouts: HttpTimeouts | undefined): void {
    const { metrics } = this.deps;
    if (body?.kind === 'streamed') return void metrics.upstreamFailures.inc([listenerName, 'mirror-body-too-large']);
    const counted = (outcome: AttemptOutcome): void => {
      if (outcome.kind !== 'completed') metrics.upstreamFailures.inc([listenerName, `mirror-${outcome.kind}`]);
    };
    for (const mirror of mirrors) {
      if (!mirrorChosen(mirror.share)) continue;
      const choice = mirror.backends.next();
      const upstream = choice?.kind === 'resolved' ? choice.upstreams.attempts(1)[0] : undefined;
      if (!upstream) {
        metrics.upstreamFailures.inc([listenerName, 'mirror-no-backend']);
        continue;
      }
      const copy: UpstreamRequest = {
        ...original,
        headers: { ...original.headers },
        body: body ? bodyStream(body.bytes) : null,
        timeoutMs: timeouts?.backendRequestMs || MIRROR_TIMEOUT_MS,
        responseHeaders: [],
      };
      if (upstream.protocol === 'HTTP/2') void sendHttp2(upstream, DISCARDING_SINK, copy, ignoreCancel).then(counted);
      else sendHttp1(upstream, DISCARDING_SINK, copy, ignoreCancel, counted);
    }
  }

  /** An Upgrade (WebSocket) request: see http-upgrade.ts. Connect failures move on to the next endpoint. */
  private async forwardUpgrade(
    request: DownstreamRequest,
    upgrade: UpgradeRequest,
    upstreams: HttpUpstream[],
    choice: Extract<HttpBackendChoice, { kind: 'resolved' }>,
    upstreamRequest: UpstreamRequest,
  ): Promise<void> {
    const listenerName = request.connection.listener.name;
    const backend = choice.backend;
    if (backend.protocol !== 'HTTP/1.1') {
      return this.respondJson(request, 502, { message: 'the backend speaks HTTP/2; an Upgrade (WebSocket) request needs an HTTP/1.1 backend', backend: backend.name });
    }
    const { options, metrics } = this.deps;
    let outcome: UpgradeOutcome = { kind: 'not-sent', code: 'NO_ATTEMPT' };
    for (const upstream of upstreams) {
      if (upgrade.socket.destroyed || upstream.protocol !== 'HTTP/1.1') return;
      outcome = await sendUpgrade(
        upgrade,
        {
          upstream,
          backend,
          method: upstreamRequest.method,
          path: upstreamRequest.path,
          authority: upstreamRequest.authority,
          headers: upstreamRequest.headers,
          connectTimeoutMs: options.upstreamConnectTimeoutMs,
          responseTimeoutMs: options.upstreamHeadersTimeoutMs,
          idleTimeoutMs: options.streamIdleTimeoutMs,
        },
        (bytes) => {
          metrics.streamBytes.inc([listenerName, 'client-to-backend'], bytes.fromClient);
          metrics.streamBytes.inc([listenerName, 'backend-to-client'], bytes.fromBackend);
        },
      );
      if (outcome.kind !== 'not-sent') break;
      metrics.upstreamFailures.inc([listenerName, `connect-${outcome.code.toLowerCase()}`]);
    }
    switch (outcome.kind) {
      case 'upgraded':
        metrics.streamConnections.inc([listenerName, 'upgrade']);
        return this.logAccess(request, backend.name);
      case 'answered': {
        // Not switched: relay the answer; the sink closes the connection after it.
        const response = outcome.response;
        const { sink } = request;
        sink.start(response.statusCode ?? 502, responseHeadersFrom(response.headers, upstreamRequest.responseHeaders));
        response.on('data', (chunk: Buffer) => {
          if (!sink.write(chunk)) {
            response.pause();
            sink.onceDrain(() => response.resume());
          }
        });
        response.once('end', () => sink.end());
        response.once('error', () => sink.abort());
        return this.logAccess(request, backend.name);
      }
      case 'not-sent':
        return this.respondJson(request, 503, { message: 'no healthy upstream: no endpoint accepted the connection', backend: backend.name });
      case 'failed':
        metrics.upstreamFailures.inc([listenerName, `response-${outcome.code.toLowerCase()}`]);
        return this.respondJson(request, 502, { message: 'bad gateway: the backend failed before answering the upgrade', backend: backend.name });
    }
  }

  private finish(request: DownstreamRequest, outcome: AttemptOutcome, choice: Extract<HttpBackendChoice, { kind: 'resolved' }>, grpc: boolean): void {
    const { sink } = request;
    const listenerName = request.connection.listener.name;
    switch (outcome.kind) {
      case 'completed':
        return this.logAccess(request, choice.backend.name);
      case 'client-gone':
        return this.logAccess(request, choice.backend.name);
      case 'timeout':
        this.deps.metrics.upstreamFailures.inc([listenerName, 'timeout']);
        if (sink.headersSent) return sink.abort();
        if (grpc) return this.respondGrpcError(request, GRPC_DEADLINE_EXCEEDED, 'upstream request timeout');
        return this.respondJson(request, 504, { message: 'upstream request timeout', backend: choice.backend.name });
      case 'not-sent':
        if (grpc) return this.respondGrpcError(request, GRPC_UNAVAILABLE, 'no healthy upstream: no endpoint accepted the connection');
        return this.respondJson(request, 503, { message: 'no healthy upstream: no endpoint accepted the connection', backend: choice.backend.name });
      case 'failed':
        this.deps.metrics.upstreamFailures.inc([listenerName, `response-${outcome.code.toLowerCase()}`]);
        if (sink.headersSent) return sink.abort();
        if (grpc) return this.respondGrpcError(request, GRPC_UNAVAILABLE, 'upstream connection failed before answering');
        return this.respondJson(request, 502, { message: 'bad gateway: the backend failed before answering', backend: choice.backend.name });
    }
  }

  private respondJson(request: DownstreamRequest, status: number, body: Record<string, unknown>, edits?: HeaderEdits): void {
    const payload = Buffer.from(JSON.stringify(body));
    // A HEAD answer has no body; it names no content type either, since clients (the
    // Gateway API conformance suite among them) parse a body typed application/json.
    const head = request.method === 'HEAD';
    const headers: HeaderMap = head ? { 'content-length': String(payload.length) } : { ...JSON_HEADERS, 'content-length': String(payload.length) };
    if (edits) applyHeaderEdits(headers, edits);
    this.respondDirect(request, status, headers, head ? undefined : payload);
  }

  private respondDirect(request: DownstreamRequest, status: number, headers: HeaderMap, body?: Buffer): void {
    const { sink } = request;
    if (sink.headersSent) return sink.abort();
    // The request body is not wanted: drain it so an HTTP/1.1 connection stays usable.
    request.body?.resume();
    try {
      sink.start(status, headers, { endStream: body === undefined });
      if (body !== undefined) {
        sink.write(body);
        sink.end();
      }
    } catch {
      sink.abort();
    }
    this.logAccess(request, undefined);
  }

  /** gRPC errors are trailers-only answers: HTTP 200 with grpc-status (gRPC over HTTP/2 spec). */
  private respondGrpcError(request: DownstreamRequest, grpcStatus: number, message: string): void {
    const { sink } = request;
    if (sink.headersSent) return sink.abort();
    request.body?.resume();
    try {
      sink.start(200, { 'content-type': 'application/grpc', 'grpc-status': String(grpcStatus), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
    } catch {
      sink.abort();
    }
    this.logAccess(request, undefined);
  }

  private logAccess(request: DownstreamRequest, backend: string | undefined): void {
    const log = this.deps.accessLog;
    if (!log) return;
    log.info('request', {
      listener: request.connection.listener.name,
      client: request.connection.clientAddress,
      protocol: request.protocol,
      method: request.method,
      host: request.authority,
      path: splitTarget(request.target).path,
      status: request.sink.status,
      backend,
      durationMs: Math.round((performance.now() - request.startedAt) * 10) / 10,
    });
  }
}

/** `/a/b?x=1` → path `/a/b`, query `x=1`. Absolute-form targets (`http://h/p`) keep only path and query. */
export function splitTarget(target: string): { path: string; query: string } {
  let pathAndQuery = target;
  if (!target.startsWith('/')) {
    const schemeEnd = target.indexOf('://');
    if (schemeEnd !== -1) {
      const slash = target.indexOf('/', schemeEnd + 3);
      pathAndQuery = slash === -1 ? '/' : target.slice(slash);
    }
  }
  const question = pathAndQuery.indexOf('?');
  return question === -1 ? { path: pathAndQuery, query: '' } : { path: pathAndQuery.slice(0, question), query: pathAndQuery.slice(question + 1) };
}
