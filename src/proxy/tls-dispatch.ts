// Every connection on an HTTPS or TLS port starts here: read the ClientHello (bounded,
// timed, without decrypting), choose what the hello asks for (certificate-selection.ts),
// then pass it through to a TLSRoute backend or terminate it and serve HTTP or a TCP
// stream inside. So HTTPS termination and TLS passthrough share one port, split by SNI.
//
// A hello we refuse (an SNI no block serves, no SNI where one is needed) gets the
// connection closed without a word: the Gateway API conformance suite counts a FIN or
// RST as a rejection, and a client must not be able to tell a passthrough port from a
// terminating one by our alerts. Anything that is not a ClientHello gets no answer
// either (plain HTTP gets a 400 in plain HTTP, as nginx does). A counter says why.
import type { Socket } from 'node:net';
import { readClientHello } from './clienthello-reader.js';
import type { RuntimeListener } from './config-state.js';
import { selectTlsAction } from './certificate-selection.js';
import type { DataPlaneContext } from './data-plane-context.js';
import { HttpFrontend } from './http-frontend.js';
import { passThrough } from './passthrough.js';
import { forwardTerminatedStream } from './tcp-proxy.js';
import { terminateTls } from './termination.js';

/** The internal_error alert (RFC 8446 §6.2), for a certificate we should have and lack. */
const INTERNAL_ERROR_ALERT = Buffer.from([21, 0x03, 0x03, 0x00, 0x02, 2, 80]);

const PLAIN_HTTP_ON_TLS_PORT = Buffer.from(
  'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 71\r\n\r\n{"message":"this port speaks TLS: a plain HTTP request was sent to it"}',
);

/**
 * Sends `finalBytes` (if any) and closes. Unread input is drained meanwhile, so the
 * close is a FIN, not an RST that could make the peer drop our last bytes; a peer that
 * never closes its side is cut off after `lingerMs`.
 */
export function closeWith(socket: Socket, finalBytes: Buffer | undefined, lingerMs = 1_000): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.on('data', () => {});
  socket.resume();
  if (finalBytes) socket.end(finalBytes);
  else socket.end();
}

export async function handleTlsConnection(listener: RuntimeListener, socket: Socket, context: DataPlaneContext): Promise<void> {
  const dispatch = listener.tlsDispatch;
  if (!dispatch) {
    context.metrics.connectionsRejected.inc([listener.name, 'no-tls-config']);
    socket.destroy();
    return;
  }
  const { options, metrics } = context;
  const read = await readClientHello(socket, { timeoutMs: options.clientHelloTimeoutMs, maxBytes: options.clientHelloMaxBytes });

  if (read.kind === 'interrupted') {
    metrics.tlsHandshakeFailures.inc([listener.name, `clienthello-${read.reason}`]);
    socket.destroy();
    return;
  }
  if (read.kind === 'invalid') {
    metrics.tlsHandshakeFailures.inc([listener.name, `clienthello-${read.reason}`]);
    if (read.reason === 'http') closeWith(socket, PLAIN_HTTP_ON_TLS_PORT);
    else socket.destroy();
    return;
  }

  const hello = read.hello;
  const action = selectTlsAction(dispatch, hello);
  switch (action.kind) {
    case 'refuse':
      metrics.tlsHandshakeFailures.inc([listener.name, action.reason]);
      closeWith(socket, undefined);
      return;
    case 'passthrough':
      passThrough(listener, socket, read.buffered, action.route, context);
      return;
    case 'terminate':
      break;
  }

  const secureContext = listener.secureContextOf(action.certificate);
  if (!secureContext) {
    metrics.tlsHandshakeFailures.inc([listener.name, 'no-certificate']);
    closeWith(socket, INTERNAL_ERROR_ALERT);
    return;
  }
  const terminated = await terminateTls(socket, read.buffered, secureContext, {
    alpnProtocols: action.alpnProtocols,
    clientValidation: action.block.tls?.mode === 'Terminate' ? action.block.tls.clientValidation : undefined,
    timeoutMs: options.handshakeTimeoutMs,
  });
  if (!terminated.ok) {
    metrics.tlsHandshakeFailures.inc([listener.name, terminated.reason]);
    socket.destroy();
    return;
  }
  metrics.tlsHandshakes.inc([listener.name, 'terminate']);
  const tlsSocket = terminated.socket;
  const tls = { serverBlock: action.block.id, serverName: hello.serverName };
  if (action.block.protocol === 'HTTPS') {
    HttpFrontend.of(listener, context).acceptTls(tlsSocket, { listener, clientAddress: socket.remoteAddress ?? '', scheme: 'https', tls }, secureContext);
    return;
  }
  forwardTerminatedStream(listener, tlsSocket, action.block.id, hello.serverName, context);
}
