// The I/O edge of ClientHello inspection: read from a freshly accepted socket until
// `parseClientHello` has an answer, then hand the socket back *paused*, together with
// every byte read, so whoever handles it next loses nothing:
//
// - passthrough: write `buffered` to the upstream, then pipe both ways;
// - termination: `socket.unshift(buffered)` and wrap it in a server `tls.TLSSocket`
//   (or `tlsServer.emit('connection', socket)`); Node's TLSSocket feeds data already
//   queued on the socket into the TLS engine before reading from the handle.
//
// The reader never destroys or writes to the socket: on any outcome the caller
// decides (an alert, an HTTP 400 for plaintext HTTP, or just `destroy()`). Once the
// promise settles, all listeners the reader added are gone, so the caller owns the
// socket's 'error' events from then on.
import type { Socket } from 'node:net';
import { PortcullisError } from '../lib/errors.js';
import {
  DEFAULT_CLIENT_HELLO_MAX_BYTES,
  parseClientHello,
  type ClientHello,
  type ClientHelloLimits,
  type ClientHelloRejection,
} from './clienthello.js';

export const DEFAULT_CLIENT_HELLO_TIMEOUT_MS = 5_000;

export interface ClientHelloReadOptions extends ClientHelloLimits {
  /** Give up when the hello is not complete this long after the call. Default 5 s. */
  timeoutMs?: number;
  /** Give up when this signal aborts (e.g. proxy shutdown). */
  signal?: AbortSignal;
}

/** Why reading stopped before the bytes gave an answer. */
export type ClientHelloInterruption =
  /** `timeoutMs` elapsed first. */
  | 'timeout'
  /** The client half-closed (FIN) first. */
  | 'eof'
  /** The socket failed first, e.g. ECONNRESET; `error` holds it. */
  | 'socket-error'
  /** The socket closed first without EOF or error, e.g. destroyed by someone else. */
  | 'closed'
  /** The caller's signal aborted first. */
  | 'aborted';

interface BufferedBytes {
  /** Every byte read from the socket, in order; the caller must forward or unshift them. */
  readonly buffered: Buffer;
}

export interface ClientHelloReadComplete extends BufferedBytes {
  readonly kind: 'complete';
  readonly hello: ClientHello;
  /** How many leading bytes of `buffered` are the hello's records; any rest (e.g. 0-RTT data) follows. */
  readonly consumed: number;
}

export interface ClientHelloReadInvalid extends BufferedBytes {
  readonly kind: 'invalid';
  readonly reason: ClientHelloRejection;
  readonly detail: string;
}

export interface ClientHelloReadInterrupted extends BufferedBytes {
  readonly kind: 'interrupted';
  readonly reason: ClientHelloInterruption;
  readonly detail: string;
  readonly error?: Error;
}

export type ClientHelloReadResult = ClientHelloReadComplete | ClientHelloReadInvalid | ClientHelloReadInterrupted;

/**
 * Reads the ClientHello from `socket` without consuming it for the next handler.
 * Resolves (never rejects for anything the peer does) with the socket paused.
 * Rejects only if the socket has a string encoding set, which would corrupt bytes.
 */
export function readClientHello(socket: Socket, options: ClientHelloReadOptions = {}): Promise<ClientHelloReadResult> {
  const maxBytes = options.maxBytes ?? DEFAULT_CLIENT_HELLO_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS;
  if (socket.readableEncoding !== null) {
    return Promise.reject(
      new PortcullisError('ERR_CLIENTHELLO_SOCKET_ENCODING', `readClientHello needs raw bytes, but the socket has encoding ${socket.readableEncoding}; do not call setEncoding() on TLS ports`),
    );
  }

  return new Promise<ClientHelloReadResult>((resolve) => {
    const received = new ReceivedBytes();
    let parseWhenLength = 1; // skip re-parsing until the parser's `need` has arrived
    let timer: NodeJS.Timeout | undefined;

    const finish = (result: ClientHelloReadResult): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      // Removing a 'data' listener does not stop a flowing stream; pausing does, so
      // later chunks wait in the socket's buffer instead of being emitted to no one.
      socket.pause();
      resolve(result);
    };
    const interrupted = (reason: ClientHelloInterruption, detail: string, error?: Error): void => {
      const result: ClientHelloReadInterrupted = { kind: 'interrupted', reason, detail: `${detail} after ${received.length} bytes, before the ClientHello was complete`, buffered: received.bytes() };
      finish(error === undefined ? result : { ...result, error });
    };

    function onData(chunk: Buffer): void {
      received.append(chunk);
      if (received.length < parseWhenLength) return;
      const buffered = received.bytes();
      const parsed = parseClientHello(buffered, { maxBytes });
      switch (parsed.kind) {
        case 'incomplete':
          parseWhenLength = received.length + parsed.need;
          return;
        case 'complete':
          finish({ kind: 'complete', hello: parsed.hello, consumed: parsed.consumed, buffered });
          return;
        case 'invalid':
          finish({ kind: 'invalid', reason: parsed.reason, detail: parsed.detail, buffered });
          return;
      }
    }
    function onEnd(): void {
      interrupted('eof', 'client ended the connection');
    }
    function onError(error: Error): void {
      const code = (error as NodeJS.ErrnoException).code;
      interrupted('socket-error', `socket failed (${code ?? error.message})`, error);
    }
    function onClose(): void {
      interrupted('closed', 'socket closed');
    }
    function onAbort(): void {
      interrupted('aborted', 'reading was aborted');
    }

    if (options.signal?.aborted) return onAbort();
    if (socket.destroyed) return onClose();
    if (socket.readableEnded) return onEnd();
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => interrupted('timeout', `no complete ClientHello within ${timeoutMs} ms`), timeoutMs);
    // Explicitly: a socket accepted with pauseOnConnect, or paused by the caller, does
    // not start flowing just because a 'data' listener was added.
    socket.resume();
  });
}

/**
 * The bytes read so far. The first chunk is kept as is (usually the whole hello arrives
 * in one), later ones are copied into a buffer that doubles, so trickled input costs
 * linear, not quadratic, copying.
 */
class ReceivedBytes {
  private storage: Buffer = Buffer.alloc(0);
  length = 0;

  append(chunk: Buffer): void {
    if (this.length === 0) {
      this.storage = chunk;
      this.length = chunk.length;
      return;
    }
    const needed = this.length + chunk.length;
    if (needed > this.storage.length) this.grow(needed); // the first chunk is exactly full, so it is never written into
    chunk.copy(this.storage, this.length);
    this.length = needed;
  }

  bytes(): Buffer {
    return this.storage.subarray(0, this.length);
  }

  private grow(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.storage.length, 1024));
    this.storage.copy(grown, 0, 0, this.length);
    this.storage = grown;
  }
}
