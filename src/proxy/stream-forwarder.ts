// Byte streams to backends: TCP listeners, TLS terminated with a TCP stream inside,
// and TLS passthrough. Connect to one endpoint of a backend (the next one on failure),
// then relay both ways:
//
// - backpressure through pipe();
// - half-close: a FIN from one side ends the other side's writing only (both sockets
//   are allowHalfOpen), so protocols that shut down their sending side and keep
//   reading (e.g. `printf … | nc`) work; the stream is done when both sides have ended;
// - an error or abrupt close on either side destroys both (a reset becomes a reset), so
//   nothing hangs half-dead;
// - an optional idle timeout closes streams without traffic.
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend, Endpoint, InvalidBackend, WeightedBackend } from '../ir/types.js';
import { PortcullisError } from '../lib/errors.js';
import { pickWeightedRandom, RoundRobin } from './load-balancing.js';

/** A stream route's backends, prepared for choosing: weighted random, then round-robin endpoints. */
export class StreamBackendPlan {
  private readonly rotations = new Map<Backend, RoundRobin<Endpoint>>();

  constructor(readonly backends: readonly WeightedBackend[]) {
    for (const backend of backends) if (backend.kind === 'Resolved') this.rotations.set(backend, new RoundRobin(backend.endpoints));
  }

  /** A backend by weight; undefined when every weight is zero. */
  pickBackend(): WeightedBackend | undefined {
    return pickWeightedRandom(this.backends.map((backend) => ({ value: backend, weight: backend.weight })));
  }

  endpointAttempts(backend: Backend, max: number): Endpoint[] {
    return this.rotations.get(backend)?.attempts(max) ?? [];
  }
}

export type StreamTarget =
  | { kind: 'endpoints'; backend: Backend; endpoints: Endpoint[] }
  | { kind: 'invalid-backend'; backend: InvalidBackend }
  | { kind: 'no-endpoints'; backend: Backend }
  | { kind: 'no-backend' };

export function chooseStreamTarget(plan: StreamBackendPlan, maxAttempts: number): StreamTarget {
  const backend = plan.pickBackend();
  if (!backend) return { kind: 'no-backend' };
  if (backend.kind === 'Invalid') return { kind: 'invalid-backend', backend };
  const endpoints = plan.endpointAttempts(backend, maxAttempts);
  if (endpoints.length === 0) return { kind: 'no-endpoints', backend };
  return { kind: 'endpoints', backend, endpoints };
}

export class UpstreamConnectError extends PortcullisError {
  constructor(
    message: string,
    readonly attempts: { endpoint: Endpoint; code: string }[],
  ) {
    super('ERR_UPSTREAM_CONNECT', message);
  }
}

/** Bytes per upstream read: small for new connections, doubled while reads fill it, up to Node's own 64 KiB. */
const UPSTREAM_READ_MIN_BYTES = 8 * 1024;
const UPSTREAM_READ_MAX_BYTES = 64 * 1024;

/**
 * Upstream reads land in one reused buffer (net.Socket `onread`) instead of a new
 * 64 KiB allocation per read: the profile of a passthrough download showed the relay's
 * CPU in per-read allocation and garbage collection. The buffer is written on to the
 * client at once; only when that write does not complete synchronously (the client's
 * socket buffer is full, or a TLS client) does the written memory stay referenced, and
 * the next read goes to a fresh buffer. Bytes that arrive before relay() takes over
 * (a server-first protocol) are copied aside and the socket paused. The buffer starts
 * small (a connection's first reads are TLS handshake flights; measured: a 64 KiB buffer
 * per connection made new passthrough connections cost 20% more CPU) and grows while
 * reads fill it.
 */
class UpstreamReader {
  private buffer = Buffer.allocUnsafe(UPSTREAM_READ_MIN_BYTES);
  private held = false;
  private filled = false;
  private consumer: ((chunk: Buffer) => boolean) | undefined;
  readonly early: Buffer[] = [];

  readonly onread = {
    buffer: (): Buffer => {
      if (this.held || this.filled) {
        const size = this.filled ? Math.min(this.buffer.length * 2, UPSTREAM_READ_MAX_BYTES) : this.buffer.length;
        this.buffer = Buffer.allocUnsafe(size);
        this.held = false;
        this.filled = false;
      }
      return this.buffer;
    },
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      if (bytes === buffer.length && buffer.length < UPSTREAM_READ_MAX_BYTES) this.filled = true;
      const chunk = (buffer as Buffer).subarray(0, bytes);
      if (this.consumer) return this.consumer(chunk);
      this.early.push(Buffer.from(chunk));
      return false;
    },
  };

  /** The chunk last given to the consumer is still referenced by a pending write. */
  hold(): void {
    this.held = true;
  }

  consume(consumer: (chunk: Buffer) => boolean): void {
    this.consumer = consumer;
  }
}

/** The reader of a socket made by connectEndpoint (a symbol property: cheaper per connection than a WeakMap). */
const READER = Symbol('portcullis.upstreamReader');
type ReadingSocket = Socket & { [READER]?: UpstreamReader };

/** Connects to one endpoint; rejects on error or after `timeoutMs`. */
export function connectEndpoint(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const reader = new UpstreamReader();
    const socket = net.connect({ host: endpoint.address, port: endpoint.port, allowHalfOpen: true, noDelay: true, onread: reader.onread });
    (socket as ReadingSocket)[READER] = reader;
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onAbort = (): void => fail(Object.assign(new Error('client went away while connecting'), { code: 'ABORTED' }));
    const timer = setTimeout(() => fail(Object.assign(new Error(`connect timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    socket.once('connect', () => {
      cleanup();
      resolve(socket);
    });
    socket.on('error', onError);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Tries `endpoints` in order; the first that accepts wins. */
export async function connectFirstAvailable(endpoints: readonly Endpoint[], timeoutMs: number, signal?: AbortSignal, onFailure?: (endpoint: Endpoint, code: string) => void): Promise<{ socket: Socket; endpoint: Endpoint }> {
  const attempts: { endpoint: Endpoint; code: string }[] = [];
  for (const endpoint of endpoints) {
    try {
      return { socket: await connectEndpoint(endpoint, timeoutMs, signal), endpoint };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
      attempts.push({ endpoint, code });
      if (code === 'ABORTED') break;
      onFailure?.(endpoint, code);
    }
  }
  const tried = attempts.map((a) => `${a.endpoint.address}:${a.endpoint.port} (${a.code})`).join(', ');
  throw new UpstreamConnectError(`no endpoint accepted the connection; tried ${tried || 'none'}`, attempts);
}

export interface RelayOptions {
  /** Written to the upstream before anything else (the ClientHello already read, for passthrough). */
  initialBytes?: Buffer | undefined;
  /** 0 or absent: no idle timeout. */
  idleTimeoutMs?: number;
  /** Called once with the byte counts when both sides are closed. */
  onClose?: (result: RelayResult) => void;
}

export interface RelayResult {
  bytesFromClient: number;
  bytesFromUpstream: number;
  /** What ended the stream: both sides finished, an error (its code), or the idle timeout. */
  outcome: 'completed' | 'idle-timeout' | `error:${string}`;
}

/** Destroys with a TCP reset where the socket supports it, so the peer sees what we saw. */
function resetOrDestroy(stream: Duplex): void {
  const socket = stream as Socket;
  if (typeof socket.resetAndDestroy === 'function' && (socket as unknown as { _handle?: unknown })._handle && !(socket as { encrypted?: boolean }).encrypted) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {
      // Not a TCP handle (e.g. a TLS socket): fall through.
    }
  }
  stream.destroy();
}

/**
 * How many bytes `stream` delivers from now on: bytes already buffered in it, plus what
 * its socket reads later (net.Socket counts them natively, TLS sockets after decryption),
 * so the relay adds no JavaScript per chunk for counting. A Duplex without `bytesRead`
 * is counted by a 'data' listener.
 */
function bytesDeliveredFrom(stream: Duplex): () => number {
  const socket = stream as Partial<Socket>;
  if (typeof socket.bytesRead === 'number') {
    const start = socket.bytesRead - stream.readableLength;
    return () => (socket.bytesRead ?? start) - start;
  }
  let count = 0;
  stream.on('data', (chunk: Buffer) => (count += chunk.length));
  return () => count;
}

/**
 * The idle timeout of a relay without per-chunk work: net.Socket#setTimeout re-arms a
 * timer on every read and write (measured: ≈ 3.5% of a passthrough keep-alive relay's
 * CPU), so instead one timer looks at the byte counts of both sides every quarter of
 * the limit and calls `onIdle` once they have not moved for the whole limit (so an idle
 * stream closes between 1 and 1.25 times the limit after its last byte).
 */
function watchIdle(idleTimeoutMs: number, activity: () => number, onIdle: () => void): NodeJS.Timeout {
  const period = Math.max(1, Math.floor(idleTimeoutMs / 4));
  let seen = activity();
  let quietSince = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const current = activity();
    if (current !== seen) {
      seen = current;
      quietSince = now;
      return;
    }
    if (now - quietSince >= idleTimeoutMs) {
      clearInterval(timer);
      onIdle();
    }
  }, period);
  timer.unref();
  return timer;
}

/**
 * Relays `client` ⇄ `upstream` until both are closed. `client` may be paused with
 * unread data (it is resumed by the pipe). Never throws; every error destroys both.
 * After set-up, a chunk costs only the read and the write: byte counts come from the
 * sockets' own counters and the idle timeout is checked by one coarse timer.
 */
export function relay(client: Duplex, upstream: Socket, options: RelayOptions = {}): void {
  const initialLength = options.initialBytes?.length ?? 0;
  const fromClient = bytesDeliveredFrom(client);
  const reader = (upstream as ReadingSocket)[READER];
  // With the reused read buffer every chunk passes through toClient, which counts it.
  let bytesFromUpstreamViaReader = 0;
  const fromUpstream = reader ? () => bytesFromUpstreamViaReader : bytesDeliveredFrom(upstream);
  let outcome: RelayResult['outcome'] | undefined;
  let closed = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const finish = (reason: RelayResult['outcome']): void => {
    if (outcome !== undefined) return;
    outcome = reason;
    if (reason !== 'completed') {
      resetOrDestroy(client);
      resetOrDestroy(upstream);
    }
  };
  const onClosed = (): void => {
    if (++closed < 2) return;
    if (idleTimer) clearInterval(idleTimer);
    if (outcome === undefined) outcome = 'completed';
    options.onClose?.({ bytesFromClient: initialLength + fromClient(), bytesFromUpstream: fromUpstream(), outcome });
  };

  client.on('error', (error: NodeJS.ErrnoException) => finish(`error:${error.code ?? 'client'}`));
  upstream.on('error', (error: NodeJS.ErrnoException) => finish(`error:${error.code ?? 'upstream'}`));
  // A side that closes without having ended cleanly (destroyed, reset) takes the other with it.
  client.once('close', () => {
    if (!client.readableEnded || !client.writableFinished) finish('error:client-closed');
    else if (!upstream.destroyed && upstream.writableFinished && upstream.readableEnded) upstream.destroy();
    onClosed();
  });
  upstream.once('close', () => {
    if (!upstream.readableEnded || !upstream.writableFinished) finish('error:upstream-closed');
    else if (!client.destroyed && client.writableFinished && client.readableEnded) client.destroy();
    onClosed();
  });

  if (options.idleTimeoutMs && options.idleTimeoutMs > 0) {
    // Either direction counts as activity.
    idleTimer = watchIdle(options.idleTimeoutMs, () => fromClient() + fromUpstream(), () => finish('idle-timeout'));
  }

  if (options.initialBytes && options.initialBytes.length > 0) upstream.write(options.initialBytes);
  // pipe() ends the destination when the source ends (FIN → FIN), keeping the other direction open.
  client.pipe(upstream);
  if (!reader) {
    upstream.pipe(client);
    return;
  }
  // The same for upstream → client, from the reused read buffer (UpstreamReader).
  const toClient = (chunk: Buffer): boolean => {
    bytesFromUpstreamViaReader += chunk.length;
    const flushed = client.write(chunk);
    if (client.writableLength > 0) reader.hold();
    if (flushed) return true;
    client.once('drain', () => upstream.resume());
    return false;
  };
  upstream.once('end', () => client.end());
  for (const chunk of reader.early.splice(0)) toClient(chunk);
  reader.consume(toClient);
  if (client.writableNeedDrain) client.once('drain', () => upstream.resume());
  else upstream.resume();
}
