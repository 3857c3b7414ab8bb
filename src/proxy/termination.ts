// TLS termination of a socket whose ClientHello we already read. The certificate was
// chosen from that hello (certificate-selection.ts: block by SNI, RSA or ECDSA by
// signature_algorithms, a default block without SNI), so the handshake runs with one
// prebuilt SecureContext and no SNICallback: nothing is built during a handshake.
//
// The hello bytes go back in front of the socket (`unshift`); a server-side TLSSocket
// feeds bytes already queued on the socket to the TLS engine first.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';

export type TerminationResult = { ok: true; socket: TLSSocket } | { ok: false; reason: string };

/** Stable metric reason for a handshake error: `handshake-<openssl reason>` or a few fixed ones. */
function handshakeFailureReason(error: NodeJS.ErrnoException): string {
  const code = error.code ?? '';
  if (code === 'ECONNRESET') return 'handshake-reset';
  if (code === 'EPIPE') return 'handshake-broken-pipe';
  if (code.startsWith('ERR_SSL_')) return `handshake-${code.slice('ERR_SSL_'.length).toLowerCase().replace(/_/g, '-')}`;
  return code ? `handshake-${code.toLowerCase()}` : 'handshake-error';
}

export function terminateTls(socket: Socket, buffered: Buffer, secureContext: SecureContext, alpnProtocols: readonly string[], timeoutMs: number): Promise<TerminationResult> {
  return new Promise((resolve) => {
    socket.unshift(buffered);
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext,
      ...(alpnProtocols.length > 0 ? { ALPNProtocols: [...alpnProtocols] } : {}),
    });
    let settled = false;
    const settle = (result: TerminationResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tlsSocket.off('secure', onSecure);
      tlsSocket.off('close', onClose);
      tlsSocket.off('end', onEnd);
      resolve(result);
    };
    const timer = setTimeout(() => {
      settle({ ok: false, reason: 'handshake-timeout' });
      tlsSocket.destroy();
    }, timeoutMs);
    const onSecure = (): void => {
      // A server TLSSocket made outside tls.Server keeps `secureConnecting` true; node:http2
      // would then wait for a 'secureConnect' that never comes (tls.Server clears it itself).
      (tlsSocket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      settle({ ok: true, socket: tlsSocket });
    };
    const onClose = (): void => settle({ ok: false, reason: 'handshake-closed' });
    // The client half-closed before finishing the handshake; on an allowHalfOpen socket
    // nothing else would ever close it.
    const onEnd = (): void => {
      settle({ ok: false, reason: 'handshake-eof' });
      tlsSocket.destroy();
    };
    // Installed for the socket's whole life: whoever takes it over adds its own.
    tlsSocket.on('error', (error: NodeJS.ErrnoException) => settle({ ok: false, reason: handshakeFailureReason(error) }));
    socket.on('error', () => {});
    tlsSocket.once('secure', onSecure);
    tlsSocket.once('close', onClose);
    tlsSocket.once('end', onEnd);
  });
}
