// TLS termination of a socket whose ClientHello we already read. The certificate was
// chosen from that hello (certificate-selection.ts: block by SNI, RSA or ECDSA by
// signature_algorithms, a default block without SNI), so the handshake runs with one
// prebuilt SecureContext and no SNICallback: nothing is built during a handshake.
//
// The hello bytes go back in front of the socket (`unshift`); a server-side TLSSocket
// feeds bytes already queued on the socket to the TLS engine first.
//
// Client certificates (frontend mTLS, IR `TlsTermination.clientValidation`, Gateway API
// `spec.tls.frontend` / GEP-91): the block's SecureContext trusts its CA bundle and
// names those CAs in the CertificateRequest. `AllowValidOnly` makes OpenSSL refuse a
// handshake without a certificate (alert certificate_required, RFC 8446 §4.4.2.4) and
// closes a connection whose certificate does not verify; `AllowInsecureFallback` asks
// for a certificate and serves the connection whatever it sends.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { ClientValidation } from '../ir/types.js';

export type TerminationResult = { ok: true; socket: TLSSocket } | { ok: false; reason: string };

/** Stable metric reason for a handshake error: `handshake-<openssl reason>` or a few fixed ones. */
function handshakeFailureReason(error: NodeJS.ErrnoException): string {
  const code = error.code ?? '';
  if (code === 'ECONNRESET') return 'handshake-reset';
  if (code === 'EPIPE') return 'handshake-broken-pipe';
  if (code.startsWith('ERR_SSL_')) return `handshake-${code.slice('ERR_SSL_'.length).toLowerCase().replace(/_/g, '-')}`;
  return code ? `handshake-${code.toLowerCase()}` : 'handshake-error';
}

/**
 * Why the client's certificate failed verification (an OpenSSL X509_V_ERR name such as
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`), or undefined when it verified. Node fills
 * `authorized`/`authorizationError` only for sockets of a tls.Server
 * (_tls_wrap.js onServerSocketSecure); ours come from our own dispatch, so we ask the
 * handle the same question that code asks.
 */
function clientCertificateError(tlsSocket: TLSSocket): string | undefined {
  const handle = (tlsSocket as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  const error = handle?.verifyError?.();
  return error ? (error.code ?? 'UNKNOWN') : undefined;
}

/** What both layers of a terminated connection say about their writes (libuv and TLSWrap fields). */
interface WriteState {
  tlsQueued: number;
  tcpQueued: number;
  tcpWritten: number;
}

function writeState(tlsSocket: TLSSocket, socket: Socket): WriteState | undefined {
  type Handle = { writeQueueSize?: number; bytesWritten?: number } | null | undefined;
  const tlsHandle = (tlsSocket as unknown as { _handle?: Handle })._handle;
  const tcpHandle = (socket as unknown as { _handle?: Handle })._handle;
  if (tlsSocket.destroyed || !tlsHandle || !tcpHandle) return undefined;
  return { tlsQueued: tlsHandle.writeQueueSize ?? 0, tcpQueued: tcpHandle.writeQueueSize ?? 0, tcpWritten: tcpHandle.bytesWritten ?? 0 };
}

/**
 * Closes a connection whose TLS layer can no longer write. Node's TLSWrap (crypto_tls.cc,
 * OnStreamAfterWrite/EncOut; the family of nodejs/node#55804) keeps a failed write of its
 * own counted as in flight: when the client resets the connection just as the server sends
 * what follows the handshake (TLS 1.3 NewSessionTicket), the write fails with ECONNRESET,
 * no JavaScript hears of it, and every later write waits behind it forever. node:http2
 * stops reading while its write is in flight, so the reset is never read either: the
 * socket never closes, and its connection count and config generation stay held.
 * That write is attempted right after the 'secure' event, in the same turn; one look on
 * the next turn finds TLS bytes in flight that the TCP socket does not hold, and a second
 * look, after any finished write's callback has had its turn, confirms that nothing reached
 * the TCP socket meanwhile. A stuck TLS layer can never write again, so closing loses nothing.
 */
function closeIfTlsWritesStuck(tlsSocket: TLSSocket, socket: Socket): void {
  const stuck = (state: WriteState | undefined): state is WriteState => state !== undefined && state.tlsQueued > 0 && state.tcpQueued === 0;
  setImmediate(() => {
    const first = writeState(tlsSocket, socket);
    if (!stuck(first)) return;
    // The timer's phase comes before the one that runs finished writes' callbacks: look on the turn after.
    const timer = setTimeout(() => {
      setImmediate(() => {
        const second = writeState(tlsSocket, socket);
        if (stuck(second) && second.tcpWritten === first.tcpWritten) tlsSocket.destroy();
      });
    }, 20);
    timer.unref();
  });
}

export interface TerminationSettings {
  alpnProtocols: readonly string[];
  clientValidation: ClientValidation | undefined;
  timeoutMs: number;
}

export function terminateTls(socket: Socket, buffered: Buffer, secureContext: SecureContext, settings: TerminationSettings): Promise<TerminationResult> {
  const { alpnProtocols, clientValidation, timeoutMs } = settings;
  return new Promise((resolve) => {
    socket.unshift(buffered);
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext,
      ...(alpnProtocols.length > 0 ? { ALPNProtocols: [...alpnProtocols] } : {}),
      ...(clientValidation ? { requestCert: true, rejectUnauthorized: clientValidation.mode === 'AllowValidOnly' } : {}),
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
      if (clientValidation?.mode === 'AllowValidOnly') {
        const error = clientCertificateError(tlsSocket);
        if (error !== undefined) {
          settle({ ok: false, reason: `client-certificate-${error.toLowerCase().replace(/_/g, '-')}` });
          tlsSocket.destroy();
          return;
        }
      }
      settle({ ok: true, socket: tlsSocket });
      closeIfTlsWritesStuck(tlsSocket, socket);
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
