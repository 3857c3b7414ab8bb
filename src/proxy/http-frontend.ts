// The HTTP side of a listener: HTTP/1.1 through node:http and HTTP/2 through node:http2,
// fed with sockets we accepted (or TLS sockets we terminated) via emit('connection').
// The protocol is decided before a server sees the socket — by ALPN on TLS, by the
// connection preface on plaintext (h2c prior knowledge, RFC 9113 §3.3) — so each server
// runs its own unmodified code path (no allowHTTP1 compatibility layer).
//
// One frontend per listener *generation*: it captures the routes the connection
// started with. When the generation is retired, HTTP/2 sessions get a GOAWAY
// (in-flight streams finish) and HTTP/1.1 answers carry `Connection: close`.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2Server, type IncomingHttpHeaders as Http2IncomingHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { HttpFrontendHandle, RuntimeListener } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import type { ConnectionInfo, DownstreamRequest, ResponseSink, ResponseStartOptions } from './http-forwarder.js';
import type { HeaderMap } from './http-filters.js';
import { RawHttp1Sink, type UpgradeRequest } from './http-upgrade.js';
import { LeanHttp1Connection, REQUEST_TIMEOUT_RESPONSE, statusLabel, type LeanHost } from './http1-server.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

// ---------------------------------------------------------------------------------
// Sinks


class Http1ResponseSink implements ResponseSink {
  status = 0;
  private clientGone: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly listener: RuntimeListener,
    private readonly context: DataPlaneContext,
  ) {}

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  start(status: number, headers: HeaderMap, options: ResponseStartOptions = {}): void {
    // A retired generation: finish this answer, then let the client reconnect to the new config.
    if (this.listener.generation.retired) this.res.shouldKeepAlive = false;
    this.res.writeHead(status, headers as http.OutgoingHttpHeaders);
    this.status = status;
    this.context.metrics.httpRequests.incPair(this.listener.name, statusLabel(status));
    if (options.endStream) this.res.end();
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onceDrain(callback: () => void): void {
    this.res.once('drain', callback);
  }

  end(trailers?: HeaderMap): void {
    if (this.res.writableEnded) return;
    if (trailers && (this.res as unknown as { chunkedEncoding?: boolean }).chunkedEncoding) this.res.addTrailers(trailers as http.OutgoingHttpHeaders);
    this.res.end();
  }

  abort(): void {
    this.res.destroy();
  }

  onClientGone(callback: () => void): void {
    this.clientGone = callback;
  }

  /** The frontend's one 'close' listener per answer calls this (no listener of our own per request). */
  closed(): void {
    if (this.clientGone && !this.res.writableFinished) this.clientGone();
  }
}

class Http2ResponseSink implements ResponseSink {
  status = 0;
  private trailersExpected = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly listener: RuntimeListener,
    private readonly context: DataPlaneContext,
  ) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  start(status: number, headers: HeaderMap, options: ResponseStartOptions = {}): void {
    const endStream = options.endStream === true;
    this.trailersExpected = !endStream && options.trailers === true;
    // Every caller builds `headers` for this answer alone: adding the pseudo-header saves a copy.
    (headers as http2.OutgoingHttpHeaders)[':status'] = status;
    this.stream.respond(headers as http2.OutgoingHttpHeaders, { endStream, waitForTrailers: this.trailersExpected });
    this.status = status;
    this.context.metrics.httpRequests.incPair(this.listener.name, statusLabel(status));
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  onceDrain(callback: () => void): void {
    this.stream.once('drain', callback);
  }

  end(trailers?: HeaderMap): void {
    if (this.stream.writableEnded || this.stream.destroyed) return;
    if (this.trailersExpected) {
      // Without trailers an empty trailer block still ends the stream (Node sends END_STREAM on an empty DATA frame).
      this.stream.once('wantTrailers', () => {
        try {
          this.stream.sendTrailers((trailers ?? {}) as http2.OutgoingHttpHeaders);
        } catch {
          this.stream.close(NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
    this.stream.end();
  }

  abort(): void {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  onClientGone(callback: () => void): void {
    this.stream.once('close', () => {
      if (!this.stream.writableFinished || this.stream.rstCode !== 0) callback();
    });
  }
}

// ---------------------------------------------------------------------------------
// The frontend

/** An HTTP/1.1 request has a body only when framed by Transfer-Encoding or a non-zero Content-Length (RFC 9112 §6.3). */
function hasHttp1Body(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

function http1ClientErrorResponse(code: string | undefined): string | undefined {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return REQUEST_TIMEOUT_RESPONSE;
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    default:
      return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
  }
}

function http1DownstreamRequest(connection: ConnectionInfo, req: IncomingMessage, body: IncomingMessage | null, sink: ResponseSink, upgrade?: UpgradeRequest): DownstreamRequest {
  return {
    connection,
    protocol: 'HTTP/1.1',
    method: req.method ?? 'GET',
    authority: req.headers.host ?? '',
    target: req.url ?? '/',
    headers: req.headers as HeaderMap,
    body,
    sink,
    startedAt: performance.now(),
    ...(upgrade ? { upgrade } : {}),
  };
}

interface Http1ConnectionState {
  inFlight: number;
  /** performance.now() when the last answer finished (or the connection was accepted). */
  idleSince: number;
  /** The SecureContext a TLS connection was terminated with. */
  secureContext: SecureContext | undefined;
  /** Picked by closeWhenIdle. */
  closeWhenIdle: boolean;
}

/** How long a picked keep-alive connection must have been idle before it is closed (see closeWhenIdle). */
const STALE_IDLE_GRACE_MS = 1_000;

/**
 * Upgrades relayed to the backend. `h2c` (RFC 7540 §3.2) is not: it would switch the
 * hop between client and proxy, which speaks HTTP/2 by prior knowledge instead; the
 * request is served as HTTP/1.1 (a server may ignore Upgrade, RFC 9110 §7.8).
 */
function isTunnelUpgrade(req: IncomingMessage): boolean {
  if (req.method === 'CONNECT') return false;
  const protocols = String(req.headers.upgrade ?? '').toLowerCase().split(',').map((token) => token.trim());
  return protocols.length > 0 && protocols[0] !== '' && !protocols.includes('h2c');
}

export class HttpFrontend implements HttpFrontendHandle, LeanHost {
  private readonly http1: http.Server;
  private readonly http2: Http2Server;
  private readonly http1Connections = new WeakMap<Socket, ConnectionInfo>();
  private readonly http2Connections = new WeakMap<ServerHttp2Session, ConnectionInfo>();
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Open HTTP/1.1 connections, for closing idle ones after a reload or on shutdown. */
  private readonly http1Sockets = new Map<Socket, Http1ConnectionState>();
  /** The connection being handed to the HTTP/2 server: its 'session' event fires synchronously. */
  private pendingHttp2Connection: ConnectionInfo | undefined;
  private draining = false;
  /** Connections the lean HTTP/1.1 server (http1-server.ts) serves, swept for their timeouts. */
  private readonly leanConnections = new Set<LeanHttp1Connection>();
  private leanSweep: NodeJS.Timeout | undefined;

  constructor(
    readonly listener: RuntimeListener,
    readonly context: DataPlaneContext,
  ) {
    const { options } = context;
    this.http1 = http.createServer(
      {
        headersTimeout: options.headersTimeoutMs,
        // Node refuses a requestTimeout shorter than headersTimeout (ERR_OUT_OF_RANGE).
        requestTimeout: options.requestTimeoutMs === 0 ? 0 : Math.max(options.requestTimeoutMs, options.headersTimeoutMs),
        keepAliveTimeout: options.keepAliveTimeoutMs,
        maxHeaderSize: options.maxHeaderSize,
        // headersTimeout is enforced by a periodic sweep; its default period (30 s) would make a 10 s limit 40 s.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(options.headersTimeoutMs / 4))),
      },
      (req, res) => this.onHttp1Request(req, res),
    );
    // The sweep starts on 'listening'; these servers never listen (we feed them sockets).
    this.http1.emit('listening');
    // A client that half-closes after its request (`printf … | nc -N`) still gets the
    // answer, then the connection closes; Node's default would abort the request.
    (this.http1 as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    this.http1.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onHttp1ClientError(error, socket));
    // Upgrade requests (WebSocket) and CONNECT arrive with the raw socket (http-upgrade.ts).
    this.http1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onHttp1Upgrade(req, socket, head));
    this.http1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onHttp1Upgrade(req, socket, head));

    this.http2 = http2.createServer({
      maxSessionMemory: 32,
      settings: { enablePush: false, maxConcurrentStreams: 250, maxHeaderListSize: options.maxHeaderSize },
      maxHeaderListPairs: 256,
    });
    this.http2.on('session', (session: ServerHttp2Session) => this.onHttp2Session(session));
    this.http2.on('stream', (stream: ServerHttp2Stream, headers: Http2IncomingHeaders, flags: number) => this.onHttp2Stream(stream, headers, flags));
    this.http2.on('sessionError', () => {});
  }

  /** The frontend of `listener`'s generation, created on first use. */
  static of(listener: RuntimeListener, context: DataPlaneContext): HttpFrontend {
    let frontend = listener.httpFrontend as HttpFrontend | undefined;
    if (!frontend) {
      frontend = new HttpFrontend(listener, context);
      listener.httpFrontend = frontend;
      if (listener.generation.retired) frontend.drain();
    }
    return frontend;
  }

  /** A terminated TLS connection: ALPN picks the protocol (no ALPN: HTTP/1.1). */
  acceptTls(socket: TLSSocket, connection: ConnectionInfo, secureContext: SecureContext): void {
    if (socket.alpnProtocol === 'h2') this.acceptHttp2(socket, connection);
    else this.acceptHttp1(socket, connection, secureContext);
  }

  acceptHttp1(socket: Socket, connection: ConnectionInfo, secureContext?: SecureContext): void {
    this.http1Connections.set(socket, connection);
    const state: Http1ConnectionState = { inFlight: 0, idleSince: performance.now(), secureContext, closeWhenIdle: false };
    this.http1Sockets.set(socket, state);
    socket.once('close', () => this.http1Sockets.delete(socket));
    if (this.context.options.http1Server === 'node') return this.fallback(socket);
    this.leanConnections.add(new LeanHttp1Connection(this, socket, connection, state));
    this.leanSweep ??= setInterval(() => this.sweepLean(), Math.max(100, Math.min(1_000, Math.floor(this.context.options.headersTimeoutMs / 4)))).unref();
  }

  /** node:http serves the connection from here on (LeanHost). */
  fallback(socket: Socket): void {
    this.http1.emit('connection', socket);
    // A socket we paused (to peek at it) stays paused for node:http, which only listens for 'data'.
    socket.resume();
  }

  /** LeanHost: an answer finished on a connection closeWhenIdle picked. */
  idleAfterPick(socket: Socket): void {
    const state = this.http1Sockets.get(socket);
    if (state) this.closeIfIdleLongEnough(socket, state);
  }

  /** LeanHost: the connection closed or went to node:http. */
  forget(connection: LeanHttp1Connection): void {
    this.leanConnections.delete(connection);
    if (this.leanConnections.size === 0 && this.leanSweep) {
      clearInterval(this.leanSweep);
      this.leanSweep = undefined;
    }
  }

  private sweepLean(): void {
    const now = performance.now();
    for (const connection of this.leanConnections) if (connection.sweep(now)) this.forget(connection);
  }

  acceptHttp2(socket: Socket, connection: ConnectionInfo): void {
    // node:http2 relies on the socket ending itself when the client's FIN arrives; our
    // listening sockets allow half-open connections (for TCP relays), which would leave a
    // session whose client is gone open until its idle timeout.
    socket.allowHalfOpen = false;
    this.pendingHttp2Connection = connection;
    try {
      this.http2.emit('connection', socket);
    } finally {
      this.pendingHttp2Connection = undefined;
    }
  }

  drain(): void {
    this.draining = true;
    for (const session of this.sessions) {
      if (!session.closed && !session.destroyed) session.close(); // GOAWAY; open streams finish
    }
  }

  close(): void {
    if (this.leanSweep) clearInterval(this.leanSweep);
    this.leanSweep = undefined;
    this.http1.close();
    this.http2.close();
  }

  /**
   * Closes the HTTP/1.1 keep-alive connections `select` picks once they are idle, and
   * returns how many it picked. A connection with a request in flight finishes it (the
   * retired generation answers `Connection: close`). An idle one is closed once it has
   * been idle for STALE_IDLE_GRACE_MS: HTTP/1.1 has no GOAWAY, so closing a connection
   * the instant it goes idle would race a client already sending its next request
   * (RFC 9112 §9.5) — a busy client instead gets `Connection: close` on that answer, and
   * only a client that left the connection unused is cut, as keepAliveTimeout would.
   * HTTP/2 sessions are not concerned: drain() sent them GOAWAY.
   */
  closeWhenIdle(select: (secureContext: SecureContext | undefined) => boolean): number {
    let picked = 0;
    for (const [socket, state] of this.http1Sockets) {
      if (state.closeWhenIdle || !select(state.secureContext)) continue;
      state.closeWhenIdle = true;
      this.closeIfIdleLongEnough(socket, state);
      picked++;
    }
    return picked;
  }

  private closeIfIdleLongEnough(socket: Socket, state: Http1ConnectionState): void {
    if (state.inFlight > 0 || socket.destroyed) return;
    const idleFor = performance.now() - state.idleSince;
    if (idleFor >= STALE_IDLE_GRACE_MS) {
      socket.destroy();
      return;
    }
    setTimeout(() => this.closeIfIdleLongEnough(socket, state), STALE_IDLE_GRACE_MS - idleFor).unref();
  }

  private onHttp1Request(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.http1Connections.get(req.socket);
    if (!connection) {
      res.destroy();
      return;
    }
    req.on('error', () => {});
    res.on('error', () => {});
    const sink = new Http1ResponseSink(res, this.listener, this.context);
    const state = this.http1Sockets.get(req.socket);
    if (state) state.inFlight++;
    res.once('close', () => {
      sink.closed();
      if (!state || --state.inFlight > 0) return;
      state.idleSince = performance.now();
      if (state.closeWhenIdle) this.closeIfIdleLongEnough(req.socket, state);
    });
    const request = http1DownstreamRequest(connection, req, hasHttp1Body(req) ? req : null, sink);
    if (!request.body) req.resume(); // nothing to read, but let 'end' happen so keep-alive works
    this.context.forwarder.handle(request);
  }

  private onHttp1Upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {});
    this.http1Sockets.delete(socket); // a tunnel from now on, never an idle keep-alive connection
    const connection = this.http1Connections.get(socket);
    if (!connection) {
      socket.destroy();
      return;
    }
    const sink = new RawHttp1Sink(socket, (status) => this.context.metrics.httpRequests.inc([this.listener.name, String(status)]));
    if (req.method !== 'CONNECT' && hasHttp1Body(req)) {
      // The body would have to be framed by us from the raw socket; no Upgrade in use (WebSocket) carries one.
      const body = Buffer.from('{"message":"an Upgrade request with a body is not supported; send it without Upgrade"}');
      sink.start(400, { 'content-type': 'application/json', 'content-length': String(body.length) });
      sink.write(body);
      sink.end();
      return;
    }
    const request = http1DownstreamRequest(connection, req, null, sink, isTunnelUpgrade(req) ? { socket, head, protocol: String(req.headers.upgrade), sink } : undefined);
    this.context.forwarder.handle(request);
  }

  private onHttp1ClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const code = error.code;
    const reason =
      code === 'HPE_HEADER_OVERFLOW' ? 'header-overflow' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'headers-timeout' : code === 'ECONNRESET' ? 'reset' : code === 'EPIPE' ? 'broken-pipe' : 'bad-request';
    this.context.metrics.httpClientErrors.inc([this.listener.name, reason]);
    const response = http1ClientErrorResponse(code);
    const answered = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (response && socket.writable && !answered) {
      socket.end(response);
      socket.setTimeout(1_000, () => socket.destroy());
    } else {
      socket.destroy();
    }
  }

  private onHttp2Session(session: ServerHttp2Session): void {
    const connection = this.pendingHttp2Connection;
    if (!connection) {
      session.destroy();
      return;
    }
    this.http2Connections.set(session, connection);
    this.sessions.add(session);
    session.on('error', (error: NodeJS.ErrnoException) => this.context.metrics.httpClientErrors.inc([this.listener.name, `h2-${(error.code ?? 'error').toLowerCase()}`]));
    session.once('close', () => this.sessions.delete(session));
    session.setTimeout(this.context.options.http2IdleTimeoutMs, () => session.close());
    if (this.draining) session.close();
  }

  private onHttp2Stream(stream: ServerHttp2Stream, headers: Http2IncomingHeaders, flags: number): void {
    stream.on('error', () => {});
    const connection = this.http2Connections.get(stream.session as ServerHttp2Session);
    if (!connection) {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const plain: HeaderMap = {};
    for (const name in headers) {
      if (name.charCodeAt(0) !== 0x3a) plain[name] = headers[name];
    }
    const sink = new Http2ResponseSink(stream, this.listener, this.context);
    const request: DownstreamRequest = {
      connection,
      protocol: 'HTTP/2',
      method: headers[':method'] ?? 'GET',
      authority: headers[':authority'] ?? (typeof headers.host === 'string' ? headers.host : ''),
      target: headers[':path'] ?? '/',
      headers: plain,
      body: (flags & NGHTTP2_FLAG_END_STREAM) !== 0 ? null : stream,
      sink,
      startedAt: performance.now(),
    };
    this.context.forwarder.handle(request);
  }
}

// ---------------------------------------------------------------------------------
// Plaintext HTTP ports

/** The HTTP/2 connection preface starts `PRI * HTTP/2.0` (RFC 9113 §3.4); no HTTP/1.1 method is `PRI`. */
const H2_PREFACE_START = Buffer.from('PRI ');

/**
 * A plaintext HTTP connection: the first bytes say HTTP/1.1 or h2c with prior knowledge
 * (GRPCRoute on an HTTP listener). They are put back before the server reads them.
 */
export function handlePlainHttpConnection(listener: RuntimeListener, socket: Socket, context: DataPlaneContext): void {
  let received: Buffer = Buffer.alloc(0);
  const connection: ConnectionInfo = { listener, clientAddress: socket.remoteAddress ?? '', scheme: 'http' };
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
  };
  const give = (reason: string): void => {
    cleanup();
    context.metrics.httpClientErrors.inc([listener.name, reason]);
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, H2_PREFACE_START.length);
    const looksLikeH2 = received.subarray(0, compared).equals(H2_PREFACE_START.subarray(0, compared));
    if (looksLikeH2 && received.length < H2_PREFACE_START.length) return;
    cleanup();
    socket.pause();
    socket.unshift(received);
    const frontend = HttpFrontend.of(listener, context);
    if (looksLikeH2) frontend.acceptHttp2(socket, connection);
    else frontend.acceptHttp1(socket, connection);
  };
  const onEnd = (): void => give('closed-before-request');
  const timer = setTimeout(() => give('first-bytes-timeout'), context.options.firstBytesTimeoutMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.resume();
}
