// The lean HTTP/1.1 server: the common request — a head with no body, no Upgrade, no
// Expect — parsed straight from the connection's bytes and answered by writing the
// response head and body on the socket, without node:http's IncomingMessage and
// ServerResponse per request. Measured on the keep-alive benchmark, node:http's
// per-request objects cost about as much as the rest of the proxy together (see "Hot
// paths" in README.md).
//
// The parser accepts a strict subset of HTTP/1.1 (RFC 9112): `METHOD SP origin-form SP
// HTTP/1.1`, token header names, visible-character values, one Host, no Content-Length
// but `0`, no Transfer-Encoding. Anything else — a body, an Upgrade, HTTP/1.0, a
// malformed or oversized head, a duplicated singleton field — is never refused here: the
// connection, with every byte read so far put back, is handed to node:http for the rest
// of its life (`fallback`), which serves or refuses it exactly as before. So this path
// can only ever serve requests node:http would have served the same way; it never
// decides what is malformed.
//
// Timeouts follow node:http's: a head must arrive within headersTimeout (else 408), an
// idle keep-alive connection closes after keepAliveTimeout. They are checked by one
// coarse sweep per frontend (HttpFrontend), not a timer per request.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { RuntimeListener } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import type { ConnectionInfo, DownstreamRequest, ResponseSink, ResponseStartOptions } from './http-forwarder.js';
import type { HeaderMap } from './http-filters.js';
import { FIELD_VALUE, INVALID_FIELD_VALUE, latin1, TOKEN, TOKEN_PATTERN } from './http1-syntax.js';
import { corkUntilLoopEnd } from './loop-flush.js';

// ---------------------------------------------------------------------------------
// The request head

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HEAD_END = Buffer.from('\r\n\r\n');

/** Methods served here; others (CONNECT, WebDAV's …) go to node:http. */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']);

/**
 * Fields node:http keeps once (it drops later copies, `matchKnownFields` in
 * _http_incoming.js). A repeated one is left to node:http so both paths agree.
 */
const SINGLETON_FIELDS: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/** Fields whose presence means node:http must serve the request: a body, a protocol switch, an expectation. */
const FALLBACK_FIELDS: ReadonlySet<string> = new Set(['transfer-encoding', 'upgrade', 'expect', '__proto__']);

const MAX_FIELDS = 200;

export interface ParsedHead {
  method: string;
  target: string;
  authority: string;
  headers: HeaderMap;
  /** The client asked to close after this answer (`Connection: close`, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** An HTTP/1.0 request: no chunked answer; a body of unknown length ends with the connection. */
  http10: boolean;
}

/**
 * Parses the request head `buffer[0, end)` (`end` indexes the blank line's CRLF CRLF).
 * Undefined: not a request for this path (node:http decides what it is).
 */
export function parseRequestHead(buffer: Buffer, end: number): ParsedHead | undefined {
  // Request line: METHOD SP origin-form SP HTTP/1.1 CRLF
  let i = 0;
  while (i < end && buffer[i]! >= 0x41 && buffer[i]! <= 0x5a) i++;
  if (i === 0 || buffer[i] !== SP) return undefined;
  const method = latin1(buffer, 0, i);
  if (!METHODS.has(method)) return undefined;
  const targetStart = ++i;
  if (buffer[i] !== 0x2f /* '/' */) return undefined;
  while (i < end && buffer[i]! > SP && buffer[i]! < 0x7f) i++;
  if (buffer[i] !== SP) return undefined;
  const target = latin1(buffer, targetStart, i);
  i++;
  // "HTTP/1.1\r\n" or "HTTP/1.0\r\n"
  if (
    buffer[i] !== 0x48 || buffer[i + 1] !== 0x54 || buffer[i + 2] !== 0x54 || buffer[i + 3] !== 0x50 || buffer[i + 4] !== 0x2f ||
    buffer[i + 5] !== 0x31 || buffer[i + 6] !== 0x2e || (buffer[i + 7] !== 0x31 && buffer[i + 7] !== 0x30) || buffer[i + 8] !== CR || buffer[i + 9] !== LF
  ) {
    return undefined;
  }
  const http10 = buffer[i + 7] === 0x30;
  i += 10;

  const headers: HeaderMap = {};
  let authority: string | undefined;
  // HTTP/1.0 closes after each answer unless the client asks to keep the connection (RFC 9112 §9.3).
  let close = http10;
  let fields = 0;
  while (i < end + 2) {
    // name ":" OWS value OWS CRLF
    const nameStart = i;
    while (TOKEN[buffer[i]!] === 1) i++;
    if (i === nameStart || buffer[i] !== 0x3a /* ':' */) return undefined;
    const name = latin1(buffer, nameStart, i).toLowerCase();
    i++;
    while (buffer[i] === SP || buffer[i] === 0x09) i++;
    const valueStart = i;
    while (FIELD_VALUE[buffer[i]!] === 1) i++;
    if (buffer[i] !== CR || buffer[i + 1] !== LF) return undefined;
    let valueEnd = i;
    while (valueEnd > valueStart && (buffer[valueEnd - 1] === SP || buffer[valueEnd - 1] === 0x09)) valueEnd--;
    i += 2;
    if (++fields > MAX_FIELDS || FALLBACK_FIELDS.has(name)) return undefined;
    const value = latin1(buffer, valueStart, valueEnd);
    const existing = headers[name];
    if (existing !== undefined) {
      if (SINGLETON_FIELDS.has(name)) return undefined;
      if (name === 'set-cookie') (existing as string[]).push(value);
      else headers[name] = `${existing as string}${name === 'cookie' ? '; ' : ', '}${value}`;
      if (name === 'connection') return undefined;
      continue;
    }
    switch (name) {
      case 'host':
        authority = value;
        break;
      case 'content-length':
        if (value !== '0') return undefined;
        break;
      case 'connection': {
        const token = value.toLowerCase();
        if (token === 'close') close = true;
        else if (token === 'keep-alive') close = false;
        else return undefined;
        break;
      }
    }
    headers[name] = name === 'set-cookie' ? [value] : value;
  }
  if (authority === undefined) return undefined;
  return { method, target, authority, headers, close, http10 };
}

// ---------------------------------------------------------------------------------
// The response

/** `Date` as node:http sends it, formatted once per second. */
let dateSecond = -1;
let dateText = '';
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const STATUS_LINES: string[] = [];
function statusLine(status: number): string {
  return (STATUS_LINES[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

function invalidHeader(name: string, value: string | undefined): Error {
  return Object.assign(new TypeError(value === undefined ? `Header name must be a valid HTTP token ["${name}"]` : `Invalid character in header content ["${name}"]`), {
    code: value === undefined ? 'ERR_INVALID_HTTP_TOKEN' : 'ERR_INVALID_CHAR',
  });
}

/** `name: value` lines, validated as node:http validates them. */
function fieldLines(fields: HeaderMap, skip?: ReadonlySet<string>): string {
  let text = '';
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined || skip?.has(name)) continue;
    if (!TOKEN_PATTERN.test(name)) throw invalidHeader(name, undefined);
    if (typeof value === 'string') {
      if (INVALID_FIELD_VALUE.test(value)) throw invalidHeader(name, value);
      text += `${name}: ${value}\r\n`;
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (INVALID_FIELD_VALUE.test(item)) throw invalidHeader(name, item);
        text += `${name}: ${item}\r\n`;
      }
    } else {
      text += `${name}: ${String(value)}\r\n`;
    }
  }
  return text;
}

/** Fields the framing of this hop owns: whatever a caller put there is replaced. */
const FRAMING_FIELDS: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'transfer-encoding']);

const LAST_CHUNK = '0\r\n';
/** A first body chunk up to this size is copied behind the head into one Buffer; a larger one is written beside it. */
const JOIN_LIMIT_BYTES = 16 * 1024;
const CRLF = '\r\n';

/** Status codes as metric label values, made once (shared with the node:http sinks). */
const STATUS_LABELS: readonly string[] = Array.from({ length: 600 }, (_, code) => String(code));
export const statusLabel = (status: number): string => STATUS_LABELS[status] ?? String(status);

/** node:http's answer to a head that took longer than headersTimeout; the lean server sends the same. */
export const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** How the body is delimited: none at all, Content-Length, chunked, or closing the connection (HTTP/1.0 clients). */
type Framing = 'none' | 'length' | 'chunked' | 'close';

class LeanResponseSink implements ResponseSink {
  status = 0;
  headersSent = false;
  private framing: Framing = 'none';
  finished = false;
  clientGone: (() => void) | undefined;
  /** The response head, until the body's first chunk or the end of the tick it was made in. */
  private pendingHead: string | undefined;

  constructor(
    private readonly connection: LeanHttp1Connection,
    private readonly head: boolean,
    private readonly http10: boolean,
  ) {}

  start(status: number, headers: HeaderMap, options: ResponseStartOptions = {}): void {
    const connection = this.connection;
    const bodyAllowed = !this.head && status !== 204 && status !== 304 && status >= 200;
    const close = connection.closeAfterAnswer(bodyAllowed && this.http10 && headers['content-length'] === undefined && !options.endStream);
    let framing: string;
    if (!bodyAllowed) {
      this.framing = 'none';
      framing = '';
    } else if (headers['content-length'] !== undefined) {
      this.framing = 'length';
      framing = '';
    } else if (options.endStream) {
      this.framing = 'none';
      framing = 'content-length: 0\r\n';
    } else if (this.http10) {
      this.framing = 'close';
      framing = '';
    } else {
      this.framing = 'chunked';
      framing = 'transfer-encoding: chunked\r\n';
    }
    const head = `${statusLine(status)}${fieldLines(headers, FRAMING_FIELDS)}${headers['date'] === undefined ? `date: ${httpDate()}\r\n` : ''}${framing}${close ? 'connection: close\r\n' : connection.keepAliveFields}\r\n`;
    this.headersSent = true;
    this.status = status;
    // The answer leaves with the others of this event-loop iteration (loop-flush.ts).
    corkUntilLoopEnd(connection.socket);
    connection.context.metrics.httpRequests.incPair(connection.listener.name, statusLabel(status));
    if (options.endStream) {
      connection.socket.write(head, 'latin1');
      this.finish();
      return;
    }
    // The head waits for the body's first chunk, if it comes within this tick, so both
    // leave in one write: one TLS record, and no writev of a string and a Buffer.
    this.pendingHead = head;
    process.nextTick(flushHead, this);
  }

  /** Writes the head if it is still waiting. */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === undefined) return;
    this.pendingHead = undefined;
    this.connection.socket.write(head, 'latin1');
  }

  write(chunk: Buffer): boolean {
    const socket = this.connection.socket;
    switch (this.framing) {
      case 'none':
        return true;
      case 'length':
      case 'close': {
        const head = this.pendingHead;
        if (head === undefined) return socket.write(chunk);
        this.pendingHead = undefined;
        if (chunk.length > JOIN_LIMIT_BYTES) {
          socket.cork();
          socket.write(head, 'latin1');
          const room = socket.write(chunk);
          socket.uncork();
          return room;
        }
        const joined = Buffer.allocUnsafe(head.length + chunk.length);
        joined.write(head, 0, 'latin1');
        chunk.copy(joined, head.length);
        return socket.write(joined);
      }
      case 'chunked': {
        if (chunk.length === 0) return true;
        socket.cork();
        this.flushHead();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        const room = socket.write(CRLF, 'latin1');
        socket.uncork();
        return room;
      }
    }
  }

  onceDrain(callback: () => void): void {
    this.connection.socket.once('drain', callback);
  }

  end(trailers?: HeaderMap): void {
    if (this.finished) return;
    const head = this.pendingHead ?? '';
    this.pendingHead = undefined;
    if (this.framing === 'chunked') this.connection.socket.write(`${head}${LAST_CHUNK}${trailers ? fieldLines(trailers, FRAMING_FIELDS) : ''}${CRLF}`, 'latin1');
    else if (head !== '') this.connection.socket.write(head, 'latin1');
    this.finish();
  }

  abort(): void {
    this.finished = true;
    this.pendingHead = undefined;
    this.connection.socket.destroy();
  }

  onClientGone(callback: () => void): void {
    this.clientGone = callback;
  }

  private finish(): void {
    this.finished = true;
    this.connection.answerFinished();
  }
}

function flushHead(sink: LeanResponseSink): void {
  sink.flushHead();
}

// ---------------------------------------------------------------------------------
// The connection

/** What the frontend keeps per HTTP/1.1 connection; shared with the node:http path. */
export interface Http1ConnectionTimes {
  inFlight: number;
  /** performance.now() when the last answer finished (or the connection was accepted). */
  idleSince: number;
  closeWhenIdle: boolean;
}

export interface LeanHost {
  readonly listener: RuntimeListener;
  readonly context: DataPlaneContext;
  /** Gives the connection to node:http; the socket is paused with every unread byte put back. */
  fallback(socket: Socket): void;
  /** The answer finished on a connection picked by closeWhenIdle. */
  idleAfterPick(socket: Socket): void;
  /** The connection ended (closed or handed over): stop sweeping it. */
  forget(connection: LeanHttp1Connection): void;
}

export class LeanHttp1Connection {
  /** Bytes read and not yet parsed (a partial head, or pipelined requests). */
  private buffer: Buffer | undefined;
  private sink: LeanResponseSink | undefined;
  private closeAfter = false;
  private driving = false;
  private readEnded = false;
  /** No answer yet on this connection: waiting for the first head is subject to headersTimeout. */
  private fresh = true;
  /** performance.now() when the head being read started arriving (or the connection was accepted). */
  private headSince: number;
  readonly keepAliveFields: string;
  readonly listener: RuntimeListener;
  readonly context: DataPlaneContext;

  constructor(
    private readonly host: LeanHost,
    readonly socket: Socket,
    private readonly connection: ConnectionInfo,
    private readonly times: Http1ConnectionTimes,
  ) {
    this.listener = host.listener;
    this.context = host.context;
    const keepAlive = this.context.options.keepAliveTimeoutMs;
    this.keepAliveFields = keepAlive > 0 ? `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(keepAlive / 1000)}\r\n` : 'connection: keep-alive\r\n';
    this.headSince = performance.now();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', ignore);
    socket.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.buffer === undefined) {
      this.buffer = chunk;
      if (this.sink === undefined) this.headSince = performance.now();
    } else {
      this.buffer = Buffer.concat([this.buffer, chunk]);
    }
    if (this.sink !== undefined) {
      // Pipelined while an answer is in flight: hold it, and stop reading once a whole head's worth waits.
      if (this.buffer.length > this.context.options.maxHeaderSize) this.socket.pause();
      return;
    }
    this.drive();
  };

  private readonly onEnd = (): void => {
    this.readEnded = true;
    this.closeAfter = true;
    if (this.sink === undefined && !this.driving) {
      if (this.buffer !== undefined) this.fallback(); // an unfinished head: node:http answers it as it would
      else this.socket.end();
    }
  };

  private readonly onClose = (): void => {
    this.host.forget(this);
    const sink = this.sink;
    if (sink !== undefined && !sink.finished) sink.clientGone?.();
  };

  /** Serves every complete head in the buffer, one at a time. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      while (this.sink === undefined && this.buffer !== undefined && !this.socket.destroyed) {
        const buffer = this.buffer;
        const end = buffer.indexOf(HEAD_END);
        if (end === -1) {
          if (buffer.length > this.context.options.maxHeaderSize || this.readEnded) this.fallback();
          return;
        }
        const parsed = end + 4 <= this.context.options.maxHeaderSize ? parseRequestHead(buffer, end) : undefined;
        if (parsed === undefined) {
          this.fallback();
          return;
        }
        this.buffer = end + 4 === buffer.length ? undefined : buffer.subarray(end + 4);
        this.serve(parsed);
      }
      if (this.sink === undefined && this.buffer === undefined && this.readEnded) this.socket.end();
    } finally {
      this.driving = false;
    }
  }

  private serve(head: ParsedHead): void {
    if (head.close) this.closeAfter = true;
    const sink = new LeanResponseSink(this, head.method === 'HEAD', head.http10);
    this.sink = sink;
    this.times.inFlight = 1;
    const request: DownstreamRequest = {
      connection: this.connection,
      protocol: 'HTTP/1.1',
      method: head.method,
      authority: head.authority,
      target: head.target,
      headers: head.headers,
      body: null,
      sink,
      startedAt: performance.now(),
    };
    this.context.forwarder.handle(request);
  }

  /** Whether this answer is the connection's last: the client asked, its framing needs it (`force`), or the generation retired. */
  closeAfterAnswer(force: boolean): boolean {
    if (force || this.listener.generation.retired) this.closeAfter = true;
    return this.closeAfter;
  }

  answerFinished(): void {
    this.sink = undefined;
    this.fresh = false;
    const times = this.times;
    times.inFlight = 0;
    const now = performance.now();
    times.idleSince = now;
    this.headSince = now;
    if (this.closeAfter) {
      // Let the client read the answer, then close (node:http's destroySoon).
      this.socket.end();
      return;
    }
    if (times.closeWhenIdle) this.host.idleAfterPick(this.socket);
    if (this.buffer !== undefined) {
      if (this.socket.isPaused()) this.socket.resume();
      if (!this.driving) this.drive();
    }
  }

  /**
   * Called by the frontend's sweep: a head that has taken longer than headersTimeout gets
   * 408 (node:http's answer to slowloris), an idle keep-alive connection past
   * keepAliveTimeout is closed. True: the connection is done.
   */
  sweep(now: number): boolean {
    if (this.sink !== undefined || this.socket.destroyed) return this.socket.destroyed;
    const { headersTimeoutMs, keepAliveTimeoutMs } = this.context.options;
    const waitingForHead = this.buffer !== undefined || this.fresh;
    if (waitingForHead) {
      if (headersTimeoutMs > 0 && now - this.headSince > headersTimeoutMs) {
        this.context.metrics.httpClientErrors.inc([this.listener.name, 'headers-timeout']);
        this.socket.end(REQUEST_TIMEOUT_RESPONSE);
        this.socket.setTimeout(1_000, () => this.socket.destroy());
        return true;
      }
    } else if (keepAliveTimeoutMs > 0 && now - this.times.idleSince > keepAliveTimeoutMs) {
      this.socket.destroy();
      return true;
    }
    return false;
  }

  private fallback(): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('error', ignore);
    socket.pause();
    if (this.buffer !== undefined) socket.unshift(this.buffer);
    this.buffer = undefined;
    this.host.forget(this);
    this.host.fallback(socket);
  }
}

function ignore(): void {}
