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

/** Connects to one endpoint; rejects on error or after `timeoutMs`. */
export function connectEndpoint(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: endpoint.address, port: endpoint.port, allowHalfOpen: true, noDelay: true });
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
 * Relays `client` ⇄ `upstream` until both are closed. `client` may be paused with
 * unread data (it is resumed by the pipe). Never throws; every error destroys both.
 */
export function relay(client: Duplex, upstream: Socket, options: RelayOptions = {}): void {
  let bytesFromClient = options.initialBytes?.length ?? 0;
  let bytesFromUpstream = 0;
  let outcome: RelayResult['outcome'] | undefined;
  let closed = 0;

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
    if (outcome === undefined) outcome = 'completed';
    options.onClose?.({ bytesFromClient, bytesFromUpstream, outcome });
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

  client.on('data', (chunk: Buffer) => (bytesFromClient += chunk.length));
  upstream.on('data', (chunk: Buffer) => (bytesFromUpstream += chunk.length));

  if (options.idleTimeoutMs && options.idleTimeoutMs > 0) {
    const onIdle = (): void => finish('idle-timeout');
    upstream.setTimeout(options.idleTimeoutMs, () => {
      // Either direction counts as activity: socket timeouts track reads and writes of that socket.
      onIdle();
    });
  }

  if (options.initialBytes && options.initialBytes.length > 0) upstream.write(options.initialBytes);
  // pipe() ends the destination when the source ends (FIN → FIN), keeping the other direction open.
  client.pipe(upstream);
  upstream.pipe(client);
}
