// What a TLS connection negotiated, read once from the socket after the handshake and
// then formatted by each protocol the way upstream's echo reports it.
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { pemEncodeCertificate } from './go-compat.js';

export interface TlsFacts {
  /** Node's protocol name: "TLSv1.3", "TLSv1.2", ... */
  protocol: string | null;
  /** IANA cipher suite name, e.g. TLS_AES_128_GCM_SHA256 (what Go's tls.CipherSuiteName prints). */
  cipherSuite: string;
  /** The SNI the client sent, "" without one. */
  serverName: string;
  /** The ALPN protocol selected, "" when none. */
  alpnProtocol: string;
  /** The client's certificates, leaf first, as PEM; empty when it sent none. */
  peerCertificates: string[];
}

export function readTlsFacts(socket: TLSSocket): TlsFacts {
  const cipher = socket.getCipher();
  return {
    protocol: socket.getProtocol(),
    cipherSuite: cipher?.standardName ?? cipher?.name ?? '',
    serverName: serverNameOf(socket),
    alpnProtocol: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : '',
    peerCertificates: peerCertificateChain(socket),
  };
}

/**
 * The client's certificate chain, leaf first. Go reports exactly what the client sent;
 * Node's chain may end with the trust anchor from our CA bundle even when the client
 * did not send it (Node completes the chain). Each certificate appears once.
 */
function peerCertificateChain(socket: TLSSocket): string[] {
  const pems: string[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    pems.push(pemEncodeCertificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return pems;
}

/** The SNI the client sent; Node sets `servername` on server-side sockets (false without SNI) but does not type it. */
function serverNameOf(socket: TLSSocket): string {
  const name = (socket as TLSSocket & { servername?: string | false | null }).servername;
  return typeof name === 'string' ? name : '';
}
