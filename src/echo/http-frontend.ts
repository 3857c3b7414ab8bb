// Hands accepted sockets to Node's HTTP/1.1 or HTTP/2 server machinery. Neither server
// listens itself: the listeners own the ports (and the connection tracking), and this
// decides per connection which protocol speaks.
//
// - Cleartext: a connection that opens with the HTTP/2 preface ("PRI * HTTP/2.0", RFC
//   9113 §3.4) is h2c with prior knowledge; anything else is HTTP/1.1.
// - TLS: by the ALPN protocol the handshake selected: "h2" is HTTP/2, otherwise HTTP/1.1.
import { createServer as createHttp1Server, ServerResponse, type IncomingMessage, type Server as Http1Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { HttpHandler } from './http-echo.js';
import { acceptWebSocket, isWebSocketUpgrade } from './websocket-echo.js';

const http2PrefaceStart = Buffer.from('PRI');

export interface HttpFrontendOptions {
  /** The path that accepts WebSocket upgrades; undefined: upgrades are ignored and the request answered as usual. */
  webSocketPath?: string;
}

export class HttpFrontend {
  private readonly http1: Http1Server;
  private readonly http2: Http2Server;

  constructor(handler: HttpHandler, options: HttpFrontendOptions = {}) {
    this.http1 = createHttp1Server(handler);
    this.http2 = createHttp2Server(handler);
    this.http2.on('session', (session) => session.on('error', () => session.destroy()));
    const webSocketPath = options.webSocketPath;
    if (webSocketPath !== undefined) {
      this.http1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (isWebSocketUpgrade(req) && pathOf(req).replaceAll('//', '/') === webSocketPath) return acceptWebSocket(req, socket, head);
        // RFC 9110 §7.8: a server may ignore Upgrade and answer the request as it is.
        answerUpgradeAsUsual(handler, req, socket, head);
      });
    }
  }

  acceptCleartext(socket: Socket): void {
    let first = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      first = Buffer.concat([first, chunk]);
      if (first.length < http2PrefaceStart.length && first.equals(http2PrefaceStart.subarray(0, first.length))) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (first.subarray(0, http2PrefaceStart.length).equals(http2PrefaceStart)) {
        // Node's HTTP/2 session reads from the native handle and would miss the bytes
        // we already read, so it gets a stream that replays them first.
        this.http2.emit('connection', new ReplayingSocket(socket, first));
        return;
      }
      socket.unshift(first);
      this.http1.emit('connection', socket);
      socket.resume();
    };
    const onEnd = (): void => void socket.end();
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  acceptTls(socket: TLSSocket): void {
    if (socket.alpnProtocol === 'h2') this.http2.emit('connection', socket);
    else this.http1.emit('connection', socket);
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function answerUpgradeAsUsual(handler: HttpHandler, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (head.length > 0) socket.unshift(head);
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  res.on('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  handler(req, res);
}

/** A duplex over a socket that first yields bytes already read from it. */
class ReplayingSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;

  constructor(
    private readonly socket: Socket,
    replay: Buffer,
  ) {
    super();
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    this.push(replay);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
