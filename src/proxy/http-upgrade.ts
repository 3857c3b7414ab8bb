// HTTP/1.1 Upgrade (RFC 9110 §7.8) — WebSocket (RFC 6455 §4) in practice — and CONNECT.
//
// node:http hands an Upgrade request over as the raw client socket (its 'upgrade'
// event). The request is routed like any other (route-table, filters, weighted
// backends): the forwarder then calls forwardUpgrade, which opens a fresh connection
// to an endpoint of the chosen HTTP/1.1 backend and sends the request with its
// `Connection: upgrade` and `Upgrade` headers. A `101 Switching Protocols` answer is
// relayed and both connections become one byte stream (stream-forwarder relay: half
// close, resets, idle timeout); any other answer is relayed and the client connection
// closed, since it is no longer parsed as HTTP.
//
// Answers the proxy makes itself on such a connection (404, 421, 503, redirects …) go
// through RawHttp1Sink: an HTTP/1.1 response written on the socket, then close.
//
// CONNECT is refused with 501 (HTTP/1.1 and HTTP/2): the gateway routes requests to
// Services and is not a forward proxy, so no route can tunnel to an authority the
// client names (RFC 9110 §9.3.6 lets a server refuse what it does not support).
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpBackend } from '../ir/types.js';
import type { HeaderMap } from './http-filters.js';
import { relay } from './stream-forwarder.js';
import { upstreamTlsOptions, type Http1Upstream } from './upstream-pools.js';

/** What the frontend saw of an Upgrade request beyond its head. */
export interface UpgradeRequest {
  /** The client connection, detached from node:http. */
  readonly socket: Duplex;
  /** Bytes the client sent after the request head (early frames). */
  readonly head: Buffer;
  /** The `Upgrade` header as received, e.g. `websocket`. */
  readonly protocol: string;
  /** The request's sink, told when the protocol switched. */
  readonly sink: RawHttp1Sink;
}

function headLines(headers: HeaderMap): string {
  let text = '';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${item}\r\n`;
  }
  return text;
}

/**
 * A response written as raw HTTP/1.1 on a socket node:http no longer manages: the body
 * is delimited by its Content-Length or by closing the connection (RFC 9112 §6.3),
 * which happens after every answer.
 */
export class RawHttp1Sink {
  status = 0;
  private started = false;
  private finished = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onStart: (status: number) => void,
  ) {}

  get headersSent(): boolean {
    return this.started;
  }

  start(status: number, headers: HeaderMap, options: { endStream?: boolean } = {}): void {
    const head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\n${headLines({ ...headers, connection: 'close' })}\r\n`;
    this.started = true;
    this.status = status;
    this.onStart(status);
    if (options.endStream) this.finish(head);
    else this.socket.write(head);
  }

  write(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  onceDrain(callback: () => void): void {
    this.socket.once('drain', callback);
  }

  end(): void {
    this.finish();
  }

  /** The backend's 101 went out on the socket, which is now a tunnel: nothing more to write. */
  switchedProtocols(): void {
    this.started = true;
    this.finished = true;
    this.status = 101;
    this.onStart(101);
  }

  abort(): void {
    this.finished = true;
    this.socket.destroy();
  }

  onClientGone(callback: () => void): void {
    this.socket.once('close', () => {
      if (!this.finished) callback();
    });
  }

  private finish(last?: string): void {
    if (this.finished) return;
    this.finished = true;
    // Let the client read the answer: close our side, drop the connection shortly after.
    this.socket.end(last);
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }
}

export interface UpgradeExchange {
  upstream: Http1Upstream;
  backend: HttpBackend;
  method: string;
  path: string;
  authority: string;
  headers: HeaderMap;
  connectTimeoutMs: number;
  /** Waiting for the backend's answer gives up after this; 0: never. */
  responseTimeoutMs: number;
  /** The tunnel closes after this long without traffic; 0: never. */
  idleTimeoutMs: number;
}

export type UpgradeOutcome =
  | { kind: 'upgraded'; status: 101 }
  | { kind: 'answered'; response: IncomingMessage }
  | { kind: 'not-sent'; code: string }
  | { kind: 'failed'; code: string };

/**
 * Sends the Upgrade request to one endpoint. On 101 the tunnel is set up before this
 * resolves; on any other answer the caller relays `response`.
 */
export function sendUpgrade(client: UpgradeRequest, exchange: UpgradeExchange, onTunnelClose: (bytes: { fromClient: number; fromBackend: number }) => void): Promise<UpgradeOutcome> {
  return new Promise((resolve) => {
    const { endpoint } = exchange.upstream;
    const headers: HeaderMap = { ...exchange.headers, host: exchange.authority, connection: 'upgrade', upgrade: client.protocol };
    const options: http.RequestOptions = {
      host: endpoint.address,
      port: endpoint.port,
      method: exchange.method,
      path: exchange.path,
      headers: headers as http.OutgoingHttpHeaders,
      agent: false,
      setHost: false,
      timeout: exchange.connectTimeoutMs,
    };
    const request = exchange.backend.tls ? https.request({ ...options, ...upstreamTlsOptions(exchange.backend.tls, ['http/1.1']) }) : http.request(options);
    let connected = false;
    let settled = false;
    let responseTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: UpgradeOutcome): void => {
      if (settled) return;
      settled = true;
      if (responseTimer) clearTimeout(responseTimer);
      resolve(outcome);
    };
    request.once('socket', (socket: Socket) => {
      const onConnected = (): void => {
        connected = true;
        request.setTimeout(0);
        if (exchange.responseTimeoutMs > 0) responseTimer = setTimeout(() => request.destroy(Object.assign(new Error('no answer from the backend'), { code: 'ETIMEDOUT' })), exchange.responseTimeoutMs);
      };
      socket.once(exchange.backend.tls ? 'secureConnect' : 'connect', onConnected);
    });
    request.once('timeout', () => request.destroy(Object.assign(new Error(`connect timed out after ${exchange.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    request.on('error', (error: NodeJS.ErrnoException) => settle(connected ? { kind: 'failed', code: error.code ?? 'ERROR' } : { kind: 'not-sent', code: error.code ?? 'ERROR' }));
    request.once('upgrade', (response: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
      upstreamSocket.setTimeout(0);
      client.sink.switchedProtocols();
      const answer = `HTTP/1.1 101 ${response.statusMessage || 'Switching Protocols'}\r\n${headLines(rawHeaderMap(response.rawHeaders))}\r\n`;
      client.socket.write(answer);
      if (upstreamHead.length > 0) client.socket.write(upstreamHead);
      relay(client.socket, upstreamSocket, {
        initialBytes: client.head.length > 0 ? client.head : undefined,
        idleTimeoutMs: exchange.idleTimeoutMs,
        onClose: (result) => onTunnelClose({ fromClient: result.bytesFromClient, fromBackend: result.bytesFromUpstream }),
      });
      settle({ kind: 'upgraded', status: 101 });
    });
    request.once('response', (response: IncomingMessage) => settle({ kind: 'answered', response }));
    request.end();
  });
}

/** The 101's headers as the backend sent them (names lower-cased; Connection/Upgrade kept: they are the point). */
function rawHeaderMap(raw: string[]): HeaderMap {
  const headers: HeaderMap = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const existing = headers[name];
    headers[name] = existing === undefined ? raw[i + 1]! : [...(Array.isArray(existing) ? existing : [existing]), raw[i + 1]!];
  }
  return headers;
}
