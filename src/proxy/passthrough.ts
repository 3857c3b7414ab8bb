// TLS passthrough (Gateway API TLS listener, `tls.mode: Passthrough`): the ClientHello
// selected a TLSRoute by SNI; the stream goes to one of its backends untouched — the
// hello bytes we read first, then everything else both ways. The backend terminates
// TLS, so the client sees the backend's certificate.
import type { Socket } from 'node:net';
import type { PassthroughRoute } from '../ir/types.js';
import type { RuntimeListener } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import { forwardStreamToRoute } from './tcp-proxy.js';

export function passThrough(listener: RuntimeListener, socket: Socket, helloBytes: Buffer, route: PassthroughRoute, context: DataPlaneContext): void {
  context.metrics.tlsHandshakes.inc([listener.name, 'passthrough']);
  void forwardStreamToRoute(listener, socket, route, 'passthrough', helloBytes, context);
}
