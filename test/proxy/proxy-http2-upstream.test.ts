// HTTP/2 (h2c) backends: one pooled session per endpoint, reused by every request and
// every client; a GOAWAY moves new requests to a fresh session, and requests the old one
// refused (above the GOAWAY's last stream id, RFC 9113 §6.8) are sent again there; a
// backend that drops its connections is reconnected to. Real node:http2 and gRPC peers.
import { expect } from 'chai';
import http2, { type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import {
  closeAllBackends,
  config,
  echoService,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  routeSource,
  rule,
  startGrpcBackend,
  startProxy,
  stopAllProxies,
  waitFor,
  type RunningProxy,
} from './proxy-harness.js';

interface H2Backend {
  port: number;
  sessions: Set<ServerHttp2Session>;
  /** The TCP connections under the sessions, to drop them without a GOAWAY. */
  sockets: Set<Socket>;
  sessionCount(): number;
  close(): Promise<void>;
}

/**
 * An h2c backend answering `session <n>` (which of its sessions served the request).
 * `/goaway-after`: answers, then closes its session gracefully (GOAWAY NO_ERROR).
 * `/slow`: answers after 300 ms. `/refuse-newer`: as a session's first stream, answers;
 * otherwise sends GOAWAY whose last stream id is 1, so this stream is refused, unanswered.
 */
async function startH2Backend(address: string): Promise<H2Backend> {
  const server = http2.createServer();
  const sessions = new Set<ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const numbers = new WeakMap<ServerHttp2Session, number>();
  let count = 0;
  server.on('session', (session) => {
    sessions.add(session);
    numbers.set(session, ++count);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const session = stream.session as ServerHttp2Session;
    const answer = () => stream.respond({ ':status': 200, 'content-type': 'text/plain' }) ?? stream.end(`session ${numbers.get(session)}`);
    switch (headers[':path']) {
      case '/goaway-after':
        answer();
        stream.once('close', () => session.close());
        return;
      case '/slow':
        setTimeout(answer, 300);
        return;
      case '/refuse-newer':
        if (stream.id === 1) return answer();
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
        return;
      default:
        answer();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    sockets,
    sessionCount: () => count,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('proxy: HTTP/2 upstream sessions (pooling, GOAWAY, reconnect)', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let address: string;
  let port: number;
  let backend: H2Backend;
  let client: http2.ClientHttp2Session;

  function get(path: string, session = client): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':path': path, ':authority': 'h2.example.com' });
      let text = '';
      let status = 0;
      stream.setEncoding('utf8');
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => resolve({ status, text }));
      stream.on('error', reject);
      stream.end();
    });
  }

  before(async function () {
    this.timeout(30_000);
    address = loopbackAddress();
    backend = await startH2Backend(address);
    const grpcBackend = await startGrpcBackend(address, 'grpc-pooled');
    port = await freePort(address);
    proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, port, 'HTTP', [plainBlock('web', 'HTTP')], {
          httpRoutes: [httpRoute('h2', 'web', ['h2.example.com'], [rule({ backends: [httpBackend('h2', [{ address, port: backend.port }], 1, 'HTTP/2')] })])],
          grpcRoutes: [{ source: routeSource('grpc', 'GRPCRoute'), serverBlock: 'web', hostnames: ['grpc.example.com'], rules: [{ matches: [], filters: [], backends: [httpBackend('grpc', [{ address, port: grpcBackend.port }], 1, 'HTTP/2')] }] }],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    client = http2.connect(`http://${address}:${port}`);
  });

  after(async () => {
    client?.close();
    await stopAllProxies();
    await backend?.close();
    await closeAllBackends();
  });

  it('reuses one session for sequential and concurrent requests, from several clients', async () => {
    const before = backend.sessionCount();
    for (let i = 0; i < 10; i++) expect((await get('/seq')).status).to.equal(200);
    const other = http2.connect(`http://${address}:${port}`);
    try {
      const answers = await Promise.all([...Array.from({ length: 20 }, () => get('/concurrent')), ...Array.from({ length: 20 }, () => get('/concurrent', other))]);
      expect(answers.every((answer) => answer.status === 200)).to.equal(true);
      expect(new Set(answers.map((answer) => answer.text)).size).to.equal(1);
    } finally {
      other.close();
    }
    expect(backend.sessionCount() - before).to.be.at.most(1);
  });

  it('a graceful GOAWAY from the backend: the next requests go to a fresh session, none fails', async () => {
    const first = await get('/goaway-after');
    expect(first.status).to.equal(200);
    await waitFor('the proxy to see the GOAWAY and the session close', () => (backend.sessions.size === 0 ? true : undefined));
    const sessionsBefore = backend.sessionCount();
    const answers = await Promise.all(Array.from({ length: 5 }, () => get('/after-goaway')));
    expect(answers.map((answer) => answer.status)).to.deep.equal([200, 200, 200, 200, 200]);
    expect(answers[0]!.text).to.not.equal(first.text);
    expect(backend.sessionCount()).to.equal(sessionsBefore + 1);
  });

  it('a stream above the GOAWAY\'s last stream id is refused, then sent again on a fresh session', async () => {
    // Start from a session without streams, so the two requests below are its streams 1 and 3.
    for (const session of backend.sessions) session.close();
    await waitFor('the previous session to close', () => (backend.sessions.size === 0 ? true : undefined));
    const sessionsBefore = backend.sessionCount();
    const slow = get('/slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = get('/refuse-newer');
    const [kept, retried] = await Promise.all([slow, refused]);
    expect(kept).to.deep.equal({ status: 200, text: `session ${sessionsBefore + 1}` });
    // Sent again on a fresh session, where it is stream 1 and answered.
    expect(retried).to.deep.equal({ status: 200, text: `session ${sessionsBefore + 2}` });
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_upstream_failures_total{listener="http",reason="resent-refused_stream"}')).to.be.at.least(1);
  });

  it('a backend that drops its connections without GOAWAY is reconnected to', async () => {
    expect((await get('/before-drop')).status).to.equal(200);
    const sessionsBefore = backend.sessionCount();
    for (const socket of backend.sockets) socket.destroy();
    await waitFor('the sessions to close', () => (backend.sessions.size === 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answer = await get('/after-drop');
    expect(answer.status).to.equal(200);
    expect(backend.sessionCount()).to.equal(sessionsBefore + 1);
  });

  it('gRPC (@grpc/grpc-js) calls share the pooled session to an h2c gRPC backend', async () => {
    const Client = grpc.makeGenericClientConstructor(echoService, 'Echo');
    const grpcClient = new Client(`${address}:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'grpc.example.com' });
    try {
      const call = () =>
        new Promise<string>((resolve, reject) =>
          (grpcClient as unknown as { Say: (request: Buffer, callback: (error: grpc.ServiceError | null, response?: Buffer) => void) => void }).Say(Buffer.from('hi'), (error, response) =>
            error ? reject(error) : resolve(response!.toString()),
          ),
        );
      const answers = await Promise.all(Array.from({ length: 10 }, call));
      expect(answers.every((answer) => answer.startsWith('grpc-pooled:hi'))).to.equal(true);
    } finally {
      grpcClient.close();
    }
  });
});
