// Starts every configured listener of the echo backend and stops them again.
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import { PortcullisError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { portFlag, tlsListeners, type EchoConfig, type ListenerName } from './config.js';
import { answerDatagram } from './datagram-echo.js';
import { GrpcEcho } from './grpc-echo.js';
import { createEchoHandler, createH2cOnlyHandler, type HttpEchoSettings } from './http-echo.js';
import { HttpFrontend } from './http-frontend.js';
import { ConnectionTracker, listenTcp, listenUdp, type BoundListener } from './listeners.js';
import { certificatePresent, ServingCertificate } from './serving-certificate.js';
import { serveStreamEcho, serveTlsStreamEcho, type StreamEchoSettings } from './stream-echo.js';

/** How long in-flight exchanges get to finish on shutdown before their sockets are destroyed. */
const shutdownGraceMs = 500;

export interface StartedEcho extends AsyncDisposable {
  readonly listeners: readonly BoundListener[];
  readonly certificate: ServingCertificate | undefined;
  close(): Promise<void>;
}

export async function startEcho(config: EchoConfig, log: Logger): Promise<StartedEcho> {
  const ports = { ...config.ports };
  const certificate = await loadCertificateFor(config, ports, log);
  const tracker = new ConnectionTracker();
  const bound: BoundListener[] = [];
  const httpSettings: HttpEchoSettings = { format: config.format, pod: config.pod, httpPortLabel: config.httpPortLabel ?? '' };
  const streamSettings: StreamEchoSettings = { protocol: config.streamProtocol, pod: config.pod, tcpPortLabel: '' };
  const usesHttpFrontend = ports.http !== 0 || ports.https !== 0 || (ports.tls !== 0 && config.tlsEchoAlpn === 'dispatch');
  const http = usesHttpFrontend ? new HttpFrontend(createEchoHandler(httpSettings), { webSocketPath: '/ws' }) : undefined;
  const grpc = ports.grpc !== 0 || ports.grpcTls !== 0 ? new GrpcEcho(config.pod) : undefined;
  const tlsServers: TlsServer[] = [];
  const tlsServer = (options: TlsOptions, onSecure: (socket: TLSSocket) => void): TlsServer => {
    const server = makeTlsServer(certificate!, options, onSecure, log);
    tlsServers.push(server);
    return server;
  };
  const listen = async (name: ListenerName, onConnection: Parameters<typeof listenTcp>[4]): Promise<void> => {
    if (ports[name] === 0) return;
    bound.push(await listenTcp(name, config.address, ports[name], tracker, onConnection));
  };

  try {
    if (http) await listen('http', (socket) => http.acceptCleartext(socket));
    if (ports.h2c !== 0) {
      const h2c = new HttpFrontend(createH2cOnlyHandler(httpSettings));
      await listen('h2c', (socket) => h2c.acceptCleartext(socket));
    }
    if (http && ports.https !== 0) {
      const server = tlsServer({ ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => http.acceptTls(socket));
      await listen('https', (socket) => server.emit('connection', socket));
    }
    await listen('tcp', (socket) => serveStreamEcho(socket, streamSettings));
    if (ports.tls !== 0) {
      const server =
        config.tlsEchoAlpn === 'dispatch'
          ? tlsServer({ ALPNCallback: selectEchoAlpn }, (socket) => (isHttpAlpn(socket) ? http!.acceptTls(socket) : serveTlsStreamEcho(socket, streamSettings)))
          : tlsServer({}, (socket) => serveTlsStreamEcho(socket, streamSettings));
      await listen('tls', (socket) => server.emit('connection', socket));
    }
    if (grpc) {
      await listen('grpc', (socket) => grpc.acceptCleartext(socket));
      if (ports.grpcTls !== 0) {
        const server = tlsServer({ ALPNProtocols: ['h2'] }, (socket) => grpc.acceptTls(socket));
        await listen('grpcTls', (socket) => server.emit('connection', socket));
      }
    }
    if (ports.udp !== 0) bound.push(await listenUdp('udp', config.address, ports.udp, answerDatagram(config.datagramProtocol, config.pod)));
  } catch (err) {
    await Promise.all(bound.map((listener) => listener.close()));
    grpc?.close();
    certificate?.stop();
    throw err;
  }

  // Labels the echo reports, now that "auto" ports have numbers.
  const portOf = (name: ListenerName): number | undefined => bound.find((listener) => listener.name === name)?.port;
  httpSettings.httpPortLabel = config.httpPortLabel ?? String(portOf('http') ?? '');
  streamSettings.tcpPortLabel = String(portOf('tcp') ?? '');
  const tlsPort = portOf('tls');
  const tlsPortLabel = tlsPort !== undefined ? String(tlsPort) : config.tlsPortLabel;
  if (tlsPortLabel !== undefined) streamSettings.tlsPortLabel = tlsPortLabel;

  if (certificate) {
    certificate.onChange((options) => {
      for (const server of tlsServers) server.setSecureContext(options);
    });
    certificate.watch(config.certificateCheckIntervalMs);
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      certificate?.stop();
      await Promise.all([...bound.map((listener) => listener.close()), tracker.drain(shutdownGraceMs)]);
      grpc?.close();
    })());
  return { listeners: bound, certificate, close, [Symbol.asyncDispose]: close };
}

/**
 * Decides whether TLS listeners run. Asked for explicitly (a path or TLS port given):
 * the certificate must load. Only defaults: a missing default certificate turns the
 * TLS listeners off, as the reference echo serves TLS only when configured for it.
 */
async function loadCertificateFor(config: EchoConfig, ports: EchoConfig['ports'], log: Logger): Promise<ServingCertificate | undefined> {
  const wanted = tlsListeners.filter((name) => ports[name] !== 0);
  if (wanted.length === 0) return undefined;
  const files = config.certificate;
  if (!files) {
    throw new PortcullisError('ECHO_BAD_CERTIFICATE', `${wanted.map(portFlag).join(', ')} need a certificate: set --tls-cert and --tls-key`);
  }
  if (!files.required && !(await certificatePresent(files))) {
    log.info('no serving certificate; TLS listeners are off', { certFile: files.certFile, off: wanted });
    for (const name of wanted) ports[name] = 0;
    return undefined;
  }
  return ServingCertificate.load(files, log);
}

function makeTlsServer(certificate: ServingCertificate, options: TlsOptions, onSecure: (socket: TLSSocket) => void, log: Logger): TlsServer {
  const verifyClients = certificate.verifiesClients;
  const server = createTlsServer({
    ...certificate.secureContextOptions(),
    ...options,
    allowHalfOpen: true,
    // Like Go's tls.VerifyClientCertIfGiven: ask, verify what is sent, accept clients that send none.
    ...(verifyClients ? { requestCert: true, rejectUnauthorized: false } : {}),
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.on('error', () => socket.destroy());
    if (verifyClients && !socket.authorized && socket.getPeerCertificate()?.raw) {
      log.debug('client certificate rejected', { reason: String(socket.authorizationError) });
      socket.destroy();
      return;
    }
    onSecure(socket);
  });
  server.on('tlsClientError', (err, socket) => {
    log.debug('TLS handshake failed', { error: err.message });
    socket.destroy();
  });
  return server;
}

/**
 * ALPN on the TLS echo port: h2, then http/1.1, get the HTTP echo; any other protocol
 * the client offers is accepted (its first) and gets the stream echo, so clients that
 * send ALPN for their own protocol are not refused with no_application_protocol.
 */
function selectEchoAlpn({ protocols }: { servername: string; protocols: string[] }): string | undefined {
  if (protocols.includes('h2')) return 'h2';
  if (protocols.includes('http/1.1')) return 'http/1.1';
  return protocols[0];
}

function isHttpAlpn(socket: TLSSocket): boolean {
  return socket.alpnProtocol === 'h2' || socket.alpnProtocol === 'http/1.1';
}
