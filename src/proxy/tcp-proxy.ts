// Streams to backends chosen by a route: TCP listeners (TCPRoute), TLS terminated with a
// TCP stream inside (TLSRoute/TCPRoute on a Terminate block), and TLS passthrough
// (TLSRoute on a Passthrough block, see passthrough.ts). The route is known; choose a
// backend by weight, connect to one of its endpoints (the next on failure), relay.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PassthroughRoute, TcpRoute } from '../ir/types.js';
import type { RuntimeListener } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import { proxyProtocolV2Header } from './proxy-protocol.js';
import { selectTcpRoute } from './route-table.js';
import { chooseStreamTarget, connectFirstAvailable, relay } from './stream-forwarder.js';

export type StreamKind = 'tcp' | 'tls-terminated' | 'passthrough';

/** Closes a client we will not serve. `reason` is counted; the socket gets no bytes (EOF after any pending write). */
export function refuseStream(listener: RuntimeListener, client: Socket | TLSSocket, reason: string, context: DataPlaneContext): void {
  context.metrics.connectionsRejected.inc([listener.name, reason]);
  client.destroy();
}

/**
 * Relays `client` to a backend of `route`. `initialBytes` (the ClientHello, for
 * passthrough) reach the backend first. Resolves once the relay is set up or refused.
 */
export async function forwardStreamToRoute(
  listener: RuntimeListener,
  client: Socket | TLSSocket,
  route: TcpRoute | PassthroughRoute,
  kind: StreamKind,
  initialBytes: Buffer | undefined,
  context: DataPlaneContext,
): Promise<void> {
  const plan = listener.streamPlan(route);
  if (!plan) return refuseStream(listener, client, 'no-route', context);
  const target = chooseStreamTarget(plan, context.options.upstreamMaxAttempts);
  switch (target.kind) {
    case 'no-backend':
    case 'invalid-backend':
      return refuseStream(listener, client, 'invalid-backend', context);
    case 'no-endpoints':
      return refuseStream(listener, client, 'no-endpoints', context);
    case 'endpoints':
      break;
  }
  // Give up connecting if the client leaves meanwhile.
  const abort = new AbortController();
  const onClientClose = (): void => abort.abort();
  client.once('close', onClientClose);
  let upstream: Socket;
  try {
    ({ socket: upstream } = await connectFirstAvailable(target.endpoints, context.options.upstreamConnectTimeoutMs, abort.signal, (_endpoint, code) =>
      context.metrics.upstreamFailures.inc([listener.name, `connect-${code.toLowerCase()}`]),
    ));
  } catch {
    if (abort.signal.aborted) return; // the client is gone already
    return refuseStream(listener, client, 'upstream-connect-failed', context);
  } finally {
    client.off('close', onClientClose);
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  context.metrics.streamConnections.inc([listener.name, kind]);
  // The PROXY header goes first, before the ClientHello of a passthrough stream.
  const proxyHeader = target.backend.proxyProtocol ? proxyProtocolV2Header({ address: client.remoteAddress, port: client.remotePort }, { address: client.localAddress, port: client.localPort }) : undefined;
  relay(client, upstream, {
    initialBytes: proxyHeader ? Buffer.concat(initialBytes ? [proxyHeader, initialBytes] : [proxyHeader]) : initialBytes,
    idleTimeoutMs: context.options.streamIdleTimeoutMs,
    onClose: (result) => {
      context.metrics.streamBytes.inc([listener.name, 'client-to-backend'], result.bytesFromClient);
      context.metrics.streamBytes.inc([listener.name, 'backend-to-client'], result.bytesFromUpstream);
    },
  });
}

/** A TCP listener: its single block's route (the one without hostnames). */
export function handleTcpConnection(listener: RuntimeListener, socket: Socket, context: DataPlaneContext): void {
  const block = listener.ir.serverBlocks[0];
  const route = block ? selectTcpRoute(listener.routeTable, block.id, undefined)?.value : undefined;
  if (!route) return refuseStream(listener, socket, 'no-route', context);
  void forwardStreamToRoute(listener, socket, route, 'tcp', undefined, context);
}

/** TLS terminated on a TLS block: the TCPRoute/TLSRoute serving the SNI (or the one without hostnames). */
export function forwardTerminatedStream(listener: RuntimeListener, socket: TLSSocket, blockId: string, serverName: string | undefined, context: DataPlaneContext): void {
  const route = selectTcpRoute(listener.routeTable, blockId, serverName)?.value;
  if (!route) return refuseStream(listener, socket, 'no-route', context);
  void forwardStreamToRoute(listener, socket, route, 'tls-terminated', undefined, context);
}
