// Test support for the proxy's integration suites: spawn the real proxy process, PUT
// IR documents to its admin API, run real backends on loopback, build IR documents,
// make certificates (generated at test time; no key is committed).
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type {
  Backend,
  GrpcRoute,
  HttpBackend,
  HttpRoute,
  HttpRouteRule,
  Listener,
  ListenerProtocol,
  PassthroughRoute,
  ProxyConfig,
  RouteSource,
  ServerBlock,
  TcpRoute,
  TlsCertificate,
} from '../../src/ir/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { parsePrometheus } from '../../src/lib/metrics.js';
import { waitFor as waitUntil } from '../../src/lib/wait.js';
import { waitForLogLine, type LogLine } from '../support/log-lines.js';

export const proxyMain = fileURLToPath(new URL('../../src/proxy/main.js', import.meta.url));

// ---------------------------------------------------------------------------------
// Addresses

/** A random 127.x.y.z address (not 127.0.0.1), so suites running side by side do not collide. */
export function loopbackAddress(): string {
  const byte = (min: number) => min + Math.floor(Math.random() * (254 - min));
  return `127.${byte(1)}.${byte(1)}.${byte(1)}`;
}

/** A port free on `address` right now (the kernel's choice). */
export async function freePort(address: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------
// The proxy process

export type { LogLine } from '../support/log-lines.js';

export interface AdminAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface RunningProxy {
  child: ChildProcess;
  adminPort: number;
  logs: LogLine[];
  put(config: ProxyConfig | string): Promise<AdminAnswer>;
  get(path: string): Promise<AdminAnswer & { text: string }>;
  /** Parsed Prometheus samples: `name{labels}` → value. */
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

export async function startProxy(extraArgs: string[] = []): Promise<RunningProxy> {
  const args = [proxyMain, '--admin', '127.0.0.1:0', ...(extraArgs.includes('--workers') ? [] : ['--workers', '1']), ...extraArgs];
  // PROXY_NODE_OPTIONS reaches the proxy only, e.g. --insecure-http-parser to see the smuggling test fail.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', PORTCULLIS_LOG_LEVEL: 'info', ...(process.env.PROXY_NODE_OPTIONS ? { NODE_OPTIONS: process.env.PROXY_NODE_OPTIONS } : {}) } });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: LogLine[] = [];
  const listening = await waitForLogLine(child, logs, (line) => line.msg === 'proxy admin API listening', 'proxy', 10_000);
  const adminPort = listening['adminPort'] as number;
  // What a crash prints (a stack trace is not a log line): kept so that a request to a
  // proxy that died says how it died instead of only ECONNREFUSED.
  let stderrTail = '';
  child.stderr!.on('data', (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = async (error: Error): Promise<Error> => {
    // The refused connection can come before the exit event: give that a moment.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
    if (child.exitCode === null && child.signalCode === null) return error;
    return new Error(`${error.message}: the proxy exited (code ${child.exitCode}, signal ${child.signalCode}); its last stderr:\n${stderrTail}`);
  };
  const request = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: adminPort, method, path, agent: false, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      });
      req.on('error', (error) => void died(error).then(reject));
      req.end(body);
    });
  const parse = (text: string): Record<string, unknown> => {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  return {
    child,
    adminPort,
    logs,
    async put(config) {
      const answer = await request('PUT', '/config', typeof config === 'string' ? config : JSON.stringify(config));
      return { status: answer.status, body: parse(answer.text), headers: answer.headers };
    },
    async get(path) {
      const answer = await request('GET', path);
      return { status: answer.status, body: parse(answer.text), headers: answer.headers, text: answer.text };
    },
    async metrics() {
      const answer = await request('GET', '/metrics');
      return parsePrometheus(answer.text);
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** For `after` hooks: every proxy a suite started. */
export async function stopAllProxies(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

/** The library's waitFor, with this file's short signature. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000): Promise<T> {
  return waitUntil({ what, timeoutMs, intervalMs: 25 }, async () => probe());
}

// ---------------------------------------------------------------------------------
// Backends

export interface Closable {
  close(): Promise<void>;
}

const backends = new Set<Closable>();

export async function closeAllBackends(): Promise<void> {
  await Promise.all([...backends].map((b) => b.close().catch(() => {})));
  backends.clear();
}

function track<T extends Closable>(backend: T): T {
  backends.add(backend);
  return backend;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpBackendServer extends Closable {
  address: string;
  port: number;
  requests: SeenRequest[];
}

/**
 * An HTTP/1.1 echo like the reference guide's: `Running on Pod <name>.` and, in
 * headers, what it received (x-seen-host, x-seen-path, x-seen-xff, x-seen-proto).
 * `/slow?ms=N` waits before answering; `/stream` sends two chunks apart.
 */
export async function startHttpBackend(address: string, name: string): Promise<HttpBackendServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://backend');
      const answer = () => {
        res.setHeader('x-backend', name);
        res.setHeader('x-seen-host', req.headers.host ?? '');
        res.setHeader('x-seen-path', req.url ?? '');
        res.setHeader('x-seen-xff', String(req.headers['x-forwarded-for'] ?? ''));
        res.setHeader('x-seen-proto', String(req.headers['x-forwarded-proto'] ?? ''));
        res.setHeader('x-remove-me', 'backend');
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(`Running on Pod ${name}.\n${body ? `body=${body}\n` : ''}`);
      };
      const delay = Number(url.searchParams.get('ms') ?? '0');
      if (url.pathname.endsWith('/slow') && delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return track({ address, port: (server.address() as AddressInfo).port, requests, close: () => closeServer(server) });
}

export interface StreamBackendServer extends Closable {
  address: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
}

/** TCP echo: greets with `Running on Pod <name>.`, then echoes every byte; answers its FIN with FIN. */
export async function startTcpEchoBackend(address: string, name: string): Promise<StreamBackendServer> {
  const state = { connections: 0 };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    state.connections++;
    socket.on('error', () => {});
    socket.write(`Running on Pod ${name}.\n`);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return track({
    address,
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () => closeServer(server),
  });
}

/** The reference guide's TLS echo: its own certificate; `Running on Pod <name>.` then `Through TLS connection.`, then echo. */
export async function startTlsEchoBackend(address: string, name: string, certificate: KeyMaterial): Promise<StreamBackendServer> {
  const state = { connections: 0 };
  const server = tls.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (socket) => {
    state.connections++;
    socket.on('error', () => {});
    socket.write(`Running on Pod ${name}.\nThrough TLS connection.\n`);
    socket.pipe(socket);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return track({
    address,
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () => closeServer(server),
  });
}

/** A raw-bytes gRPC service `/echo.Echo/Say`, so no .proto is needed: the answer is `<name>:<request>` and the request metadata. */
export const echoService: grpc.ServiceDefinition = {
  Say: {
    path: '/echo.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: Buffer) => value,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (value: Buffer) => value,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

export async function startGrpcBackend(address: string, name: string): Promise<Closable & { port: number }> {
  const server = new grpc.Server();
  server.addService(echoService, {
    Say: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const seen = call.metadata.get('x-added')[0];
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', name);
      callback(null, Buffer.from(`${name}:${call.request.toString()}:${seen ?? ''}:${call.getPath()}`), trailer);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${address}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return track({ port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) });
}

// ---------------------------------------------------------------------------------
// Certificates

export interface TestPki {
  ca: CertificateAuthority;
  /** RSA 2048, CN and SAN demo.example.com (the reference guide's certificate, CA-signed here). */
  demoRsa: KeyMaterial;
  demoEcdsa: KeyMaterial;
  wildcard: KeyMaterial;
  other: KeyMaterial;
}

let pki: Promise<TestPki> | undefined;

/** One CA and leaves per test run. */
export function testPki(): Promise<TestPki> {
  pki ??= (async () => {
    const ca = await createCertificateAuthority('Portcullis proxy test CA');
    const [demoRsa, demoEcdsa, wildcard, other] = await Promise.all([
      issueCertificate(ca, { commonName: 'demo.example.com', dnsNames: ['demo.example.com'], algorithm: 'rsa-2048' }),
      issueCertificate(ca, { commonName: 'demo.example.com', dnsNames: ['demo.example.com'], algorithm: 'ecdsa-p256' }),
      issueCertificate(ca, { commonName: '*.wild.example.com', dnsNames: ['*.wild.example.com'], algorithm: 'ecdsa-p256' }),
      issueCertificate(ca, { commonName: 'other.example.com', dnsNames: ['other.example.com'], algorithm: 'ecdsa-p256' }),
    ]);
    return { ca, demoRsa, demoEcdsa, wildcard, other };
  })();
  return pki;
}

export function subjectAltNames(pem: string): string {
  return new X509Certificate(pem).subjectAltName ?? '';
}

export function tlsCertificate(id: string, material: KeyMaterial, keyType: TlsCertificate['keyType'] = material.keyPem.length > 1000 ? 'RSA' : 'ECDSA'): TlsCertificate {
  return { id, source: `Secret default/${id}`, keyType, certificateChainPem: material.certPem, privateKeyPem: material.keyPem };
}

// ---------------------------------------------------------------------------------
// IR builders

export function routeSource(name: string, kind: RouteSource['kind'] = 'HTTPRoute', creationTimestamp = '2024-01-01T00:00:00Z'): RouteSource {
  return { kind, namespace: 'default', name, creationTimestamp };
}

export function httpBackend(name: string, endpoints: { address: string; port: number }[], weight = 1, protocol: HttpBackend['protocol'] = 'HTTP/1.1'): HttpBackend {
  return { kind: 'Resolved', name, weight, protocol, endpoints: endpoints.map(({ address, port }) => ({ address, port })) };
}

export function streamBackend(name: string, endpoints: { address: string; port: number }[], weight = 1): Backend {
  return { kind: 'Resolved', name, weight, endpoints: endpoints.map(({ address, port }) => ({ address, port })) };
}

export function rule(partial: Partial<HttpRouteRule> & Pick<HttpRouteRule, 'backends'>): HttpRouteRule {
  return { matches: [], filters: [], ...partial };
}

export function httpRoute(name: string, serverBlock: string, hostnames: string[], rules: HttpRouteRule[]): HttpRoute {
  return { source: routeSource(name), serverBlock, hostnames, rules };
}

export function terminateBlock(id: string, hostname: string | undefined, certificates: TlsCertificate[], protocol: 'HTTPS' | 'TLS' = 'HTTPS'): ServerBlock {
  return { id, protocol, ...(hostname ? { hostname } : {}), tls: { mode: 'Terminate', certificates }, sources: [`test ${id}`] };
}

export function passthroughBlock(id: string, hostname: string | undefined): ServerBlock {
  return { id, protocol: 'TLS', ...(hostname ? { hostname } : {}), tls: { mode: 'Passthrough' }, sources: [`test ${id}`] };
}

export function plainBlock(id: string, protocol: 'HTTP' | 'TCP', hostname?: string): ServerBlock {
  return { id, protocol, ...(hostname ? { hostname } : {}), sources: [`test ${id}`] };
}

export function listener(
  name: string,
  address: string,
  port: number,
  protocol: ListenerProtocol,
  serverBlocks: ServerBlock[],
  routes: { httpRoutes?: HttpRoute[]; grpcRoutes?: GrpcRoute[]; tcpRoutes?: TcpRoute[]; tlsPassthrough?: PassthroughRoute[] } = {},
): Listener {
  return { name, address, port, protocol, serverBlocks, httpRoutes: routes.httpRoutes ?? [], grpcRoutes: routes.grpcRoutes ?? [], tcpRoutes: routes.tcpRoutes ?? [], tlsPassthrough: routes.tlsPassthrough ?? [] };
}

export function config(version: string, listeners: Listener[]): ProxyConfig {
  return { version, listeners };
}

// ---------------------------------------------------------------------------------
// Clients

export interface TlsProbe {
  authorized: boolean;
  authorizationError?: string;
  alpnProtocol: string | false;
  subject: string;
  subjectAltName: string;
  /** The leaf's public key type as Node reports it (`rsa`/`ec` via asn1Curve presence). */
  keyType: 'RSA' | 'ECDSA';
  protocol: string | null;
  /** First bytes the server sent after the handshake (passthrough echoes), within a short wait. */
  greeting: string;
}

/** Connects with Node `tls`, returns what the handshake showed, then closes. */
export function tlsProbe(options: { host: string; port: number; servername?: string; ALPNProtocols?: string[]; ca: string; sigalgs?: string; readGreeting?: boolean }): Promise<TlsProbe> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      ca: options.ca,
      ...(options.servername !== undefined ? { servername: options.servername } : {}),
      ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
      ...(options.sigalgs ? { sigalgs: options.sigalgs } : {}),
      rejectUnauthorized: false,
      // Without SNI Node would check the certificate against the IP; we assert SANs ourselves.
      checkServerIdentity: () => undefined,
    });
    let greeting = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (greeting += chunk));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const finish = () => {
        resolve({
          authorized: socket.authorized,
          ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
          alpnProtocol: socket.alpnProtocol ?? false,
          subject: peer.subject?.CN ?? '',
          subjectAltName: peer.subjectaltname ?? '',
          keyType: (peer as tls.PeerCertificate & { asn1Curve?: string }).asn1Curve ? 'ECDSA' : 'RSA',
          protocol: socket.getProtocol(),
          greeting,
        });
        // end(), not destroy(): our Finished must reach the server, or its handshake never completes.
        socket.end();
        setTimeout(() => socket.destroy(), 500).unref();
      };
      if (options.readGreeting) setTimeout(finish, 150);
      else finish();
    });
  });
}

/** Opens a raw TCP connection, writes `bytes`, and reports how the proxy ended it. */
export function rawExchange(host: string, port: number, bytes: Buffer | undefined, timeoutMs = 3_000): Promise<{ received: Buffer; ended: 'eof' | 'reset' | 'timeout'; elapsedMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = net.connect({ host, port });
    let done = false;
    const finish = (ended: 'eof' | 'reset' | 'timeout') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), ended, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish('eof'));
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('eof'));
    socket.once('connect', () => {
      if (bytes) socket.write(bytes);
    });
  });
}

/** A raw `GET / HTTP/1.1` with `Connection: close` over a TLS connection made with `options`; resolves with all the bytes answered. */
export function tlsGetAndClose(options: tls.ConnectionOptions, host: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const secure = tls.connect(options);
    let text = '';
    secure.setEncoding('utf8');
    secure.on('data', (chunk: string) => (text += chunk));
    secure.once('error', reject);
    secure.once('end', () => resolve(text));
    secure.once('secureConnect', () => secure.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  });
}
