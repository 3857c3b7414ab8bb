// A lean HTTP/1.1 client for plain-TCP backends: the subset of undici's
// `Dispatcher.dispatch(options, handler)` (legacy callback handler) that the forwarder
// uses for bodiless requests. undici's per-request machinery (Request object, generic
// header validation and serialization, llhttp callbacks, queue bookkeeping) measured
// about 29% of a minimal proxy's CPU per keep-alive request (30.7k vs 43.3k requests per
// CPU-second against a raw keep-alive socket); this client scans the response head once
// in the Buffer and allocates one small object per request.
//
// One pool per backend endpoint; no connection limit (like undici's Pool with
// `connections: null`); one request at a time per connection (no pipelining); idle
// connections are reused last-in first-out. Framing follows RFC 9112 §6.3. When a reused
// connection fails before any byte of its answer (the keep-alive race, or the backend's
// process died), the pool's other idle connections are closed too: they most likely met
// the same fate, and the forwarder's one resend must not land on one of them.
import net from 'node:net';
import { FIELD_VALUE, INVALID_FIELD_VALUE, latin1, TOKEN, TOKEN_PATTERN } from './http1-syntax.js';
import { corkUntilLoopEnd } from './loop-flush.js';

export interface LeanHttp1PoolOptions {
  /** Idle keep-alive connections close after this (lowered by a backend's `Keep-Alive: timeout=N` hint, minus 1 s as undici does). */
  keepAliveTimeoutMs: number;
  /** From writing a request to its complete response head; 0 disables. */
  headersTimeoutMs: number;
  /** Connecting gives up after this; 0 disables. */
  connectTimeoutMs: number;
  /** Largest response head (status line and header fields) accepted; also bounds a chunked body's trailers. */
  maxHeaderSize: number;
}

export interface LeanDispatchOptions {
  path: string;
  method: string;
  /** Lowercase names; arrays are sent one line per value. */
  headers: Record<string, string | string[] | undefined>;
  /** Always null: requests with bodies go through undici. */
  body?: null;
  reset?: boolean;
  servername?: string;
}

/**
 * undici's legacy dispatch handler, the part this client calls. Raw header and trailer
 * lists hold latin1 strings (name, value, name, value…, names as received) where undici's
 * hold Buffers: the forwarder wants strings, and making them straight from the socket's
 * bytes skips a Buffer object per name and per value.
 */
export interface LeanResponseHandler {
  onConnect(abort: (reason?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(rawTrailers: string[] | null): void;
  onError(error: Error): void;
}

/** Errors carry undici's codes, so the forwarder's outcome mapping (keep-alive race resend etc.) applies unchanged. */
export class LeanHttp1Error extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'LeanHttp1Error';
  }
}

/** Request targets: visible latin1 only (undici's rule). */
const INVALID_PATH_PATTERN = /[^\u0021-\u00ff]/;
/** Methods that conventionally carry content get `content-length: 0` when bodiless (RFC 9110 §8.6, as undici does). */
const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);
const CRLF = Buffer.from('\r\n', 'latin1');
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
const KEEP_ALIVE_TIMEOUT_HINT = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i;
/** undici's kKeepAliveTimeoutThreshold: a backend's idle hint minus this, so we never send on a socket it is about to close. */
const KEEP_ALIVE_HINT_MARGIN_MS = 1_000;

const enum ParseState {
  Head,
  FixedBody,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  CloseDelimitedBody,
}

function invalidArgument(message: string): LeanHttp1Error {
  return new LeanHttp1Error(message, 'UND_ERR_INVALID_ARG');
}

/** The request head, validated while it is built: nothing injected ever reaches the socket. */
function serializeRequestHead(options: LeanDispatchOptions): string {
  const { method, path, headers } = options;
  if (!TOKEN_PATTERN.test(method)) throw invalidArgument(`invalid request method ${JSON.stringify(method)}`);
  if (path.length === 0 || INVALID_PATH_PATTERN.test(path)) throw invalidArgument(`invalid request path ${JSON.stringify(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasContentLength = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!TOKEN_PATTERN.test(name)) throw invalidArgument(`invalid request header name ${JSON.stringify(name)}`);
    if (name === 'content-length') hasContentLength = true;
    if (typeof value === 'string') {
      if (INVALID_FIELD_VALUE.test(value)) throw invalidArgument(`invalid value for request header ${name}`);
      head += `${name}: ${value}\r\n`;
      continue;
    }
    for (const item of value) {
      if (INVALID_FIELD_VALUE.test(item)) throw invalidArgument(`invalid value for request header ${name}`);
      head += `${name}: ${item}\r\n`;
    }
  }
  if (!hasContentLength && PAYLOAD_METHODS.has(method)) head += 'content-length: 0\r\n';
  return `${head}\r\n`;
}

/** ASCII case-insensitive comparison of buffer[start, end) with a lowercase target. */
function bytesEqualLower(buffer: Buffer, start: number, end: number, target: string): boolean {
  if (end - start !== target.length) return false;
  for (let i = 0; i < target.length; i++) if ((buffer[start + i]! | 0x20) !== target.charCodeAt(i)) return false;
  return true;
}

/** `HTTP/1.` exactly (the version is case-sensitive, RFC 9112 §2.3). */
function startsWithHttp1(buffer: Buffer, start: number): boolean {
  return buffer[start] === 0x48 && buffer[start + 1] === 0x54 && buffer[start + 2] === 0x54 && buffer[start + 3] === 0x50 && buffer[start + 4] === 0x2f && buffer[start + 5] === 0x31 && buffer[start + 6] === 0x2e;
}

/** Field value bytes: HTAB, SP..~, obs-text. */
function validValueBytes(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buffer[i]!;
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** 1*DIGIT Content-Length; -1 when invalid. */
function parseContentLength(buffer: Buffer, start: number, end: number): number {
  if (end === start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = buffer[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** One request: its handler, and the abort/resume functions handed to it (bound to this request, so a late call cannot touch the next one on the same socket). */
class LeanExchange {
  connection: UpstreamConnection | undefined;
  written = false;
  finished = false;
  readonly abort = (reason?: Error): void => this.connection!.abortExchange(this, reason);
  readonly resume = (): void => this.connection?.resumeExchange(this);

  constructor(
    readonly handler: LeanResponseHandler,
    readonly head: string,
    readonly isHeadRequest: boolean,
  ) {}

  fail(error: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.handler.onError(error ?? new LeanHttp1Error('request aborted', 'UND_ERR_ABORTED'));
  }
}

/** One socket to the backend and the state of the response being read on it. */
class UpstreamConnection {
  readonly socket: net.Socket;
  current: LeanExchange | undefined;
  connected = false;
  private state = ParseState.Head;
  /** Unparsed bytes kept while a head or chunk-size line is incomplete, or while paused. */
  private buffered: Buffer | undefined;
  private remaining = 0;
  private reusable = false;
  private paused = false;
  private parsing = false;
  private resumedWhileParsing = false;
  private ended = false;
  private trailers: string[] | null = null;
  /** Where parseFieldLine found the last field's name end and value, in the buffer it scanned. */
  private nameEnd = 0;
  private valueStart = 0;
  private valueEnd = 0;
  private trailerBytes = 0;
  private waitingForHead = false;
  private headersTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimerMs = 0;
  private idle = false;
  /** The socket has sat in the idle list, where it may have gone stale. */
  private reused = false;
  /** Some byte of the current exchange's answer has arrived. */
  private answered = false;
  private keepAliveMs: number;

  constructor(
    private readonly pool: LeanHttp1Pool,
    private readonly options: LeanHttp1PoolOptions,
    host: string,
    port: number,
    first: LeanExchange,
  ) {
    this.keepAliveMs = options.keepAliveTimeoutMs;
    this.current = first;
    first.connection = this;
    const socket = (this.socket = net.connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 }));
    if (options.connectTimeoutMs > 0) socket.setTimeout(options.connectTimeoutMs, this.onConnectTimeout);
    socket.on('connect', this.onConnect);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private readonly onConnectTimeout = (): void => {
    if (this.connected) return;
    this.fail(new LeanHttp1Error(`connecting to the backend timed out after ${this.options.connectTimeoutMs} ms`, 'UND_ERR_CONNECT_TIMEOUT'));
  };

  private readonly onConnect = (): void => {
    this.connected = true;
    this.socket.setTimeout(0);
    const exchange = this.current;
    if (!exchange) return this.pool.release(this);
    this.current = undefined;
    this.start(exchange);
  };

  /** Assigns a request to this connected, idle socket and writes it. */
  start(exchange: LeanExchange): void {
    this.idle = false;
    this.current = exchange;
    exchange.connection = this;
    exchange.handler.onConnect(exchange.abort);
    if (this.current !== exchange) return; // aborted before it was written
    exchange.written = true;
    this.answered = false;
    this.state = ParseState.Head;
    this.reusable = false;
    this.ended = false;
    this.trailers = null;
    this.trailerBytes = 0;
    this.paused = false;
    this.waitingForHead = true;
    // Sent with the other requests of this event-loop iteration (loop-flush.ts).
    corkUntilLoopEnd(this.socket);
    this.socket.write(exchange.head, 'latin1');
    if (this.options.headersTimeoutMs > 0) {
      if (this.headersTimer) this.headersTimer.refresh();
      else (this.headersTimer = setTimeout(this.onHeadersTimeout, this.options.headersTimeoutMs)).unref();
    }
  }

  private readonly onHeadersTimeout = (): void => {
    if (!this.waitingForHead || !this.current) return;
    this.fail(new LeanHttp1Error(`the backend sent no complete response head within ${this.options.headersTimeoutMs} ms`, 'UND_ERR_HEADERS_TIMEOUT'));
  };

  private readonly onData = (chunk: Buffer): void => {
    this.answered = true;
    if (!this.current) {
      // Bytes nobody asked for (after a complete response, or on an idle socket): the
      // framing can no longer be trusted.
      this.discard();
      return;
    }
    if (this.buffered) {
      chunk = Buffer.concat([this.buffered, chunk]);
      this.buffered = undefined;
    }
    if (this.paused) {
      this.buffered = chunk;
      return;
    }
    this.parse(chunk, 0);
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.current) return this.discard();
    if (this.paused) return; // finished once the held bytes are consumed
    if (this.state === ParseState.CloseDelimitedBody) return this.complete(null, false);
    this.fail(new LeanHttp1Error('the backend closed the connection before the response was complete', 'UND_ERR_SOCKET'));
  };

  private readonly onError = (error: Error): void => {
    if (!this.connected && this.current) return this.fail(error); // connect failure: the OS code (ECONNREFUSED...)
    if (this.current && this.state === ParseState.CloseDelimitedBody && !this.paused && (error as NodeJS.ErrnoException).code === 'ECONNRESET') {
      // A reset ends a close-delimited body like a close does (undici does the same).
      return this.complete(null, false);
    }
    this.fail(error);
  };

  private readonly onClose = (): void => {
    if (this.current) this.fail(new LeanHttp1Error('the backend connection closed before the response was complete', 'UND_ERR_SOCKET'));
    this.pool.forget(this);
    if (this.headersTimer) clearTimeout(this.headersTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
  };

  abortExchange(exchange: LeanExchange, reason: Error | undefined): void {
    if (exchange.finished) return;
    if (this.current === exchange) {
      this.current = undefined;
      if (exchange.written || !this.connected) this.discard();
      else this.pool.release(this); // nothing was sent: the socket is still clean
    }
    exchange.fail(reason);
  }

  resumeExchange(exchange: LeanExchange): void {
    if (this.current !== exchange || exchange.finished) return;
    if (this.parsing) {
      this.resumedWhileParsing = true;
      return;
    }
    if (!this.paused) return;
    this.paused = false;
    const held = this.buffered;
    this.buffered = undefined;
    if (held) this.parse(held, 0);
    if (this.current !== exchange || this.paused) return;
    if (this.ended) this.onEnd();
    else this.socket.resume();
  }

  /** Ends the current exchange with an error and drops the socket. */
  private fail(error: Error): void {
    const exchange = this.current;
    this.current = undefined;
    this.discard();
    if (exchange?.written && this.reused && !this.answered) this.pool.dropIdle();
    exchange?.fail(error);
  }

  /** Closes the socket; its exchange (if any) must have been settled or detached first. */
  discard(): void {
    this.idle = false;
    this.buffered = undefined;
    this.pool.forget(this);
    this.socket.destroy();
  }

  /** The socket is idle in the pool: closed after the keep-alive timeout. */
  markIdle(): void {
    this.idle = true;
    this.reused = true;
    const ms = this.keepAliveMs;
    if (this.idleTimer && this.idleTimerMs === ms) this.idleTimer.refresh();
    else {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimerMs = ms;
      (this.idleTimer = setTimeout(this.onIdleTimeout, ms)).unref();
    }
  }

  private readonly onIdleTimeout = (): void => {
    if (this.idle) this.discard();
  };

  /** Returns true when the handler asked to pause (or the exchange ended); parsing stops then. */
  private pausedBy(wantsMore: boolean, exchange: LeanExchange): boolean {
    if (this.current !== exchange) return true;
    if (wantsMore) {
      this.resumedWhileParsing = false;
      return false;
    }
    if (this.resumedWhileParsing) {
      this.resumedWhileParsing = false;
      return false;
    }
    this.paused = true;
    this.socket.pause();
    return true;
  }

  private parse(buffer: Buffer, offset: number): void {
    this.parsing = true;
    this.resumedWhileParsing = false;
    try {
      this.parseFrom(buffer, offset);
    } finally {
      this.parsing = false;
    }
  }

  private parseFrom(buffer: Buffer, offset: number): void {
    const exchange = this.current!;
    const length = buffer.length;
    for (;;) {
      switch (this.state) {
        case ParseState.Head: {
          const end = buffer.indexOf(CRLF_CRLF, offset);
          if (end === -1) {
            if (length - offset > this.options.maxHeaderSize) return this.fail(new LeanHttp1Error(`the backend's response head exceeds ${this.options.maxHeaderSize} bytes`, 'UND_ERR_HEADERS_OVERFLOW'));
            if (offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          if (end + 4 - offset > this.options.maxHeaderSize) return this.fail(new LeanHttp1Error(`the backend's response head exceeds ${this.options.maxHeaderSize} bytes`, 'UND_ERR_HEADERS_OVERFLOW'));
          const next = this.parseHead(buffer, offset, end, exchange);
          if (next < 0 || this.current !== exchange) return;
          offset = next;
          if (this.paused) {
            if (offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          break;
        }
        case ParseState.FixedBody:
        case ParseState.ChunkData: {
          if (offset >= length) return;
          const take = Math.min(this.remaining, length - offset);
          const chunk = buffer.subarray(offset, offset + take);
          offset += take;
          this.remaining -= take;
          const last = this.remaining === 0;
          if (last) this.state = this.state === ParseState.FixedBody ? ParseState.Head : ParseState.ChunkDataEnd;
          if (last && this.state === ParseState.Head) {
            // The whole body is in: complete now, even if the handler pauses (nothing more to read).
            exchange.handler.onData(chunk);
            if (this.current !== exchange) return;
            return this.complete(null, offset < length);
          }
          if (this.pausedBy(exchange.handler.onData(chunk), exchange)) {
            if (this.current === exchange && offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          break;
        }
        case ParseState.ChunkDataEnd: {
          if (length - offset < 2) {
            if (offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          if (buffer[offset] !== 0x0d || buffer[offset + 1] !== 0x0a) return this.invalid('a chunk is not followed by CRLF');
          offset += 2;
          this.state = ParseState.ChunkSize;
          break;
        }
        case ParseState.ChunkSize: {
          const end = buffer.indexOf(CRLF, offset);
          if (end === -1) {
            if (length - offset > this.options.maxHeaderSize) return this.invalid('a chunk-size line is too long');
            if (offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          const size = this.parseChunkSize(buffer, offset, end);
          if (size < 0) return this.invalid('invalid chunk size');
          offset = end + 2;
          if (size === 0) this.state = ParseState.Trailers;
          else {
            this.state = ParseState.ChunkData;
            this.remaining = size;
          }
          break;
        }
        case ParseState.Trailers: {
          const end = buffer.indexOf(CRLF, offset);
          if (end === -1) {
            if (this.trailerBytes + length - offset > this.options.maxHeaderSize) return this.fail(new LeanHttp1Error(`the backend's trailers exceed ${this.options.maxHeaderSize} bytes`, 'UND_ERR_HEADERS_OVERFLOW'));
            if (offset < length) this.buffered = buffer.subarray(offset);
            return;
          }
          if (end === offset) return this.complete(this.trailers, end + 2 < length);
          this.trailerBytes += end + 2 - offset;
          if (this.trailerBytes > this.options.maxHeaderSize) return this.fail(new LeanHttp1Error(`the backend's trailers exceed ${this.options.maxHeaderSize} bytes`, 'UND_ERR_HEADERS_OVERFLOW'));
          this.trailers ??= [];
          if (this.parseFieldLine(buffer, offset, this.trailers) !== end + 2) return this.invalid('invalid trailer field');
          offset = end + 2;
          break;
        }
        case ParseState.CloseDelimitedBody: {
          if (offset >= length) return;
          const chunk = offset === 0 ? buffer : buffer.subarray(offset);
          offset = length;
          if (this.pausedBy(exchange.handler.onData(chunk), exchange)) return;
          break;
        }
      }
    }
  }

  /** Parses a complete head ending at `end` (the CRLFCRLF); returns the offset after it, or -1 when it failed the exchange. */
  private parseHead(buffer: Buffer, start: number, end: number, exchange: LeanExchange): number {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
    const lineEnd = buffer.indexOf(CRLF, start);
    if (
      lineEnd - start < 12 ||
      !startsWithHttp1(buffer, start) ||
      (buffer[start + 7] !== 0x31 && buffer[start + 7] !== 0x30) ||
      buffer[start + 8] !== 0x20 ||
      (lineEnd - start > 12 && buffer[start + 12] !== 0x20)
    ) {
      this.invalid('malformed status line');
      return -1;
    }
    const http11 = buffer[start + 7] === 0x31;
    let status = 0;
    for (let i = start + 9; i < start + 12; i++) {
      const digit = buffer[i]! - 0x30;
      if (digit < 0 || digit > 9) {
        this.invalid('malformed status code');
        return -1;
      }
      status = status * 10 + digit;
    }
    if (status < 100 || !validValueBytes(buffer, start + 13, lineEnd)) {
      this.invalid('malformed status line');
      return -1;
    }
    const rawHeaders: string[] = [];
    let contentLength = -1;
    let contentLengthCount = 0;
    let chunked = false;
    let transferEncoding = false;
    let close = !http11;
    let keepAliveHint = -1;
    let position = lineEnd + 2;
    while (position < end + 2) {
      const first = buffer[position]!;
      if (first === 0x20 || first === 0x09) {
        this.invalid('obsolete line folding in a header field');
        return -1;
      }
      const lineNext = this.parseFieldLine(buffer, position, rawHeaders);
      if (lineNext < 0) {
        this.invalid('invalid header field');
        return -1;
      }
      const { nameEnd, valueStart, valueEnd } = this;
      const nameLength = nameEnd - position;
      if (nameLength === 14 && bytesEqualLower(buffer, position, nameEnd, 'content-length')) {
        const parsed = parseContentLength(buffer, valueStart, valueEnd);
        if (parsed < 0 || (contentLengthCount > 0 && parsed !== contentLength)) {
          this.invalid('invalid or conflicting Content-Length');
          return -1;
        }
        contentLength = parsed;
        contentLengthCount++;
      } else if (nameLength === 17 && bytesEqualLower(buffer, position, nameEnd, 'transfer-encoding')) {
        transferEncoding = true;
        // The final coding decides (RFC 9112 §6.3): a later header field is later in the list.
        chunked = bytesEqualLower(buffer, valueStart, valueEnd, 'chunked') || /(?:^|,)[ \t]*chunked[ \t]*$/i.test(rawHeaders[rawHeaders.length - 1]!);
      } else if (nameLength === 10 && bytesEqualLower(buffer, position, nameEnd, 'connection')) {
        if (bytesEqualLower(buffer, valueStart, valueEnd, 'close')) close = true;
        else if (!bytesEqualLower(buffer, valueStart, valueEnd, 'keep-alive')) {
          const tokens = rawHeaders[rawHeaders.length - 1]!.toLowerCase().split(',');
          for (const token of tokens) if (token.trim() === 'close') close = true;
        }
      } else if (nameLength === 10 && bytesEqualLower(buffer, position, nameEnd, 'keep-alive')) {
        const match = KEEP_ALIVE_TIMEOUT_HINT.exec(rawHeaders[rawHeaders.length - 1]!);
        if (match) keepAliveHint = Number(match[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS;
      }
      position = lineNext;
    }
    const next = end + 4;
    this.waitingForHead = status < 200;
    if (status < 200) {
      if (status === 101) {
        this.invalid('the backend switched protocols (101) on a request that did not ask to upgrade');
        return -1;
      }
      return next; // interim (100, 102, 103): skipped, the final answer follows
    }
    // Framing, RFC 9112 §6.3.
    const noBody = exchange.isHeadRequest || status === 204 || status === 304;
    let reusable = !close;
    if (noBody) this.state = ParseState.Head;
    else if (transferEncoding) {
      if (contentLengthCount > 0) {
        // Both (RFC 9112 §6.1: a sender MUST NOT): the Content-Length would reach the client
        // beside a body of another length and split its connection. undici (llhttp) refuses it too.
        this.invalid('both Transfer-Encoding and Content-Length');
        return -1;
      }
      if (chunked) {
        this.state = ParseState.ChunkSize;
      } else {
        this.state = ParseState.CloseDelimitedBody;
        reusable = false;
      }
    } else if (contentLengthCount > 0) {
      this.state = ParseState.FixedBody;
      this.remaining = contentLength;
    } else {
      this.state = ParseState.CloseDelimitedBody;
      reusable = false;
    }
    // Each response says anew how long the backend keeps the socket (undici does the same).
    this.keepAliveMs = keepAliveHint === -1 ? this.options.keepAliveTimeoutMs : Math.min(this.options.keepAliveTimeoutMs, keepAliveHint);
    if (keepAliveHint !== -1 && keepAliveHint <= 0) reusable = false;
    this.reusable = reusable;
    const wantsMore = exchange.handler.onHeaders(status, rawHeaders, exchange.resume);
    if (this.current !== exchange) return -1;
    if (noBody || (this.state === ParseState.FixedBody && this.remaining === 0)) {
      this.state = ParseState.Head;
      this.complete(null, next < buffer.length);
      return -1;
    }
    this.pausedBy(wantsMore, exchange);
    return next;
  }

  /**
   * field-line = field-name ":" OWS field-value OWS (RFC 9112 §5), scanned in one pass up to
   * its CRLF (the caller knows one follows); pushes name and value. Returns the offset after
   * the CRLF, or -1 for a non-token name, whitespace before the colon, a control byte (NUL,
   * bare CR or LF) in the value. Leaves the name's end and the value's bounds in
   * nameEnd, valueStart and valueEnd.
   */
  private parseFieldLine(buffer: Buffer, start: number, into: string[]): number {
    let i = start;
    while (TOKEN[buffer[i]!] === 1) i++;
    if (i === start || buffer[i] !== 0x3a) return -1;
    const colon = i++;
    while (buffer[i] === 0x20 || buffer[i] === 0x09) i++;
    const valueStart = i;
    let valueEnd = i;
    for (;; i++) {
      const c = buffer[i]!;
      if (c === 0x0d) break;
      if (FIELD_VALUE[c] !== 1) return -1;
      if (c !== 0x20 && c !== 0x09) valueEnd = i + 1;
    }
    if (buffer[i + 1] !== 0x0a) return -1;
    this.nameEnd = colon;
    this.valueStart = valueStart;
    this.valueEnd = valueEnd;
    into.push(latin1(buffer, start, colon), latin1(buffer, valueStart, valueEnd));
    return i + 2;
  }

  /** chunk-size [ chunk-ext ] (RFC 9112 §7.1); -1 when invalid. */
  private parseChunkSize(buffer: Buffer, start: number, end: number): number {
    let size = 0;
    let i = start;
    for (; i < end; i++) {
      const c = buffer[i]!;
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else break;
      if (i - start >= 13) return -1; // beyond 2^52: no backend means that
      size = size * 16 + digit;
    }
    if (i === start) return -1;
    while (i < end && (buffer[i] === 0x20 || buffer[i] === 0x09)) i++;
    if (i < end && buffer[i] !== 0x3b /* ';' chunk-ext, ignored */) return -1;
    if (!validValueBytes(buffer, i, end)) return -1;
    return size;
  }

  private invalid(reason: string): void {
    this.fail(new LeanHttp1Error(`invalid response from the backend: ${reason}`, 'UND_ERR_INVALID_RESPONSE'));
  }

  /** The response is complete: the socket goes back to the pool when it may (and nothing follows it). */
  private complete(trailers: string[] | null, bytesFollow: boolean): void {
    const exchange = this.current!;
    this.current = undefined;
    this.buffered = undefined;
    this.waitingForHead = false;
    exchange.finished = true;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.reusable && !bytesFollow && !this.ended) this.pool.release(this);
    else this.discard();
    exchange.handler.onComplete(trailers);
  }
}

/** HTTP/1.1 connections to one plain-TCP backend endpoint. */
export class LeanHttp1Pool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly connections = new Set<UpstreamConnection>();
  private closed = false;
  private whenEmpty: (() => void) | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly options: LeanHttp1PoolOptions,
  ) {}

  /** Sends a bodiless request. Throws (code UND_ERR_INVALID_ARG) when the request cannot be written safely. */
  dispatch(options: LeanDispatchOptions, handler: LeanResponseHandler): boolean {
    const head = serializeRequestHead(options);
    const exchange = new LeanExchange(handler, head, options.method === 'HEAD');
    if (this.closed) {
      exchange.fail(new LeanHttp1Error('the upstream pool is closed', 'UND_ERR_CLOSED'));
      return false;
    }
    const connection = this.idle.pop();
    if (connection) connection.start(exchange);
    else this.connections.add(new UpstreamConnection(this, this.options, this.host, this.port, exchange));
    return true;
  }

  /** Open sockets (idle and busy). */
  get size(): number {
    return this.connections.size;
  }

  /** Idle sockets waiting for a request. */
  get idleCount(): number {
    return this.idle.length;
  }

  release(connection: UpstreamConnection): void {
    if (this.closed) return connection.discard();
    connection.markIdle();
    this.idle.push(connection);
  }

  forget(connection: UpstreamConnection): void {
    const index = this.idle.lastIndexOf(connection);
    if (index !== -1) this.idle.splice(index, 1);
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.whenEmpty) this.whenEmpty();
  }

  /** Closes every idle socket (busy ones finish their exchange). */
  dropIdle(): void {
    for (const connection of this.idle.splice(0)) connection.discard();
  }

  /** Graceful: requests in flight finish, idle sockets close now; resolves when every socket is closed. */
  close(): Promise<void> {
    this.closed = true;
    this.dropIdle();
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.whenEmpty = resolve));
  }

  /** Every socket closed now; requests in flight fail with UND_ERR_SOCKET. */
  destroy(): void {
    this.closed = true;
    for (const connection of [...this.connections]) connection.socket.destroy();
  }
}
