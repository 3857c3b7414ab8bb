// HTTP/1.1 Upgrade (WebSocket) through routed HTTP and HTTPS listeners, and CONNECT
// refused, with real clients: the `ws` package, curl, node:net, node:http2.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  terminateBlock,
  testPki,
  tlsCertificate,
  rawExchange,
  type RunningProxy,
  type TestPki,
} from './proxy-harness.js';

const run = promisify(execFile);

/** A WebSocket echo: greets with what it saw of the upgrade request, answers `<name>:<message>`. */
async function startWebSocketBackend(address: string, name: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade required\n'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ greeting: name, path: req.url, host: req.headers.host, xff: req.headers['x-forwarded-for'], proto: req.headers['x-forwarded-proto'], added: req.headers['x-added'] }));
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `${name}:${data.toString()}`, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function nextMessage(socket: WebSocket): Promise<WebSocket.RawData> {
  return new Promise((resolve, reject) => {
    socket.once('message', (data) => resolve(data));
    socket.once('error', reject);
  });
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

/** The status of a handshake the server did not switch: `ws` reports it as 'unexpected-response'. */
function refusedStatus(socket: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.once('open', () => reject(new Error('the upgrade succeeded')));
    socket.once('error', () => {});
  });
}

describe('proxy: WebSocket (HTTP/1.1 Upgrade) and CONNECT', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let address: string;
  let httpPort: number;
  let httpsPort: number;
  let wsBackend: { port: number; close: () => Promise<void> };

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [httpPort, httpsPort] = await Promise.all([freePort(address), freePort(address)]);
    wsBackend = await startWebSocketBackend(address, 'ws-1');
    const plain = await startHttpBackend(address, 'plain-1');
    const routes = (block: string) => [
      httpRoute(`ws-${block}`, block, [], [
        rule({
          matches: [{ path: { type: 'PathPrefix', value: '/ws' } }],
          filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-added', value: 'by-route' }] }],
          backends: [httpBackend('ws', [{ address, port: wsBackend.port }])],
        }),
        rule({ matches: [{ path: { type: 'PathPrefix', value: '/plain' } }], backends: [httpBackend('plain', [plain])] }),
        rule({ matches: [{ path: { type: 'PathPrefix', value: '/dead' } }], backends: [httpBackend('dead', [{ address, port: 1 }, { address, port: wsBackend.port }])] }),
        rule({ matches: [{ path: { type: 'PathPrefix', value: '/h2' } }], backends: [httpBackend('h2', [{ address, port: wsBackend.port }], 1, 'HTTP/2')] }),
      ]),
    ];
    proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, httpPort, 'HTTP', [plainBlock('web', 'HTTP')], { httpRoutes: routes('web') }),
        listener('https', address, httpsPort, 'HTTPS', [terminateBlock('demo', 'demo.example.com', [tlsCertificate('demo', pki.demoEcdsa)])], { httpRoutes: routes('demo') }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await wsBackend?.close();
    await closeAllBackends();
  });

  it('ws:// on an HTTP listener: routed with the request filters and X-Forwarded-*, messages both ways, clean close', async () => {
    const socket = new WebSocket(`ws://${address}:${httpPort}/ws/chat?room=1`, { headers: { host: 'chat.example.com' } });
    const greeting = nextMessage(socket);
    await opened(socket);
    const seen = JSON.parse((await greeting).toString());
    expect(seen).to.include({ greeting: 'ws-1', path: '/ws/chat?room=1', host: 'chat.example.com', proto: 'http', added: 'by-route' });
    expect(seen.xff).to.match(/^127\.\d+\.\d+\.\d+$/);
    socket.send('hello');
    expect((await nextMessage(socket)).toString()).to.equal('ws-1:hello');
    const big = Buffer.alloc(1024 * 1024, 7);
    socket.send(big);
    expect(Buffer.compare(await nextMessage(socket) as Buffer, big)).to.equal(0);
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.close(1000, 'bye');
    expect(await closed).to.equal(1000);
  });

  it('wss:// on an HTTPS listener (terminated, SNI demo.example.com)', async () => {
    const socket = new WebSocket(`wss://${address}:${httpsPort}/ws/secure`, { servername: 'demo.example.com', ca: pki.ca.certPem, headers: { host: 'demo.example.com' } } as WebSocket.ClientOptions);
    const greeting = nextMessage(socket);
    await opened(socket);
    expect(JSON.parse((await greeting).toString())).to.include({ path: '/ws/secure', proto: 'https' });
    socket.send('over tls');
    expect((await nextMessage(socket)).toString()).to.equal('ws-1:over tls');
    socket.close();
  });

  it('a refused endpoint: the upgrade goes to the next one', async () => {
    const socket = new WebSocket(`ws://${address}:${httpPort}/dead`);
    const greeting = nextMessage(socket);
    await opened(socket);
    expect(JSON.parse((await greeting).toString()).greeting).to.equal('ws-1');
    socket.close();
  });

  it('no route: 404 from the proxy, not a tunnel', async () => {
    expect(await refusedStatus(new WebSocket(`ws://${address}:${httpPort}/nowhere`))).to.equal(404);
  });

  it('a backend that does not switch: its answer is relayed, then the connection closes', async () => {
    const response = await rawExchange(address, httpPort, Buffer.from('GET /plain/u HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: something-else\r\n\r\n'));
    const text = response.received.toString();
    expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).to.match(/\r\nconnection: close\r\n/i);
    expect(text).to.match(/\r\n\r\nRunning on Pod plain-1\.\n$/);
    expect(response.ended).to.equal('eof');
    expect(await refusedStatus(new WebSocket(`ws://${address}:${httpPort}/plain`))).to.equal(200);
  });

  it('an HTTP/2 backend cannot take an Upgrade: 502', async () => {
    expect(await refusedStatus(new WebSocket(`ws://${address}:${httpPort}/h2`))).to.equal(502);
  });

  it('an Upgrade: h2c request is served as plain HTTP/1.1 (curl --http2 on http://)', async () => {
    const { stdout } = await run('curl', ['-sS', '--http2', '-o', '-', '-w', '\n%{http_version} %{http_code}', `http://${address}:${httpPort}/plain/x`]);
    expect(stdout).to.equal('Running on Pod plain-1.\n\n1.1 200');
  });

  it('CONNECT over HTTP/1.1: 501 and the connection closed (curl --proxytunnel, raw socket)', async () => {
    const curl = await run('curl', ['-sS', '--proxytunnel', '-x', `http://${address}:${httpPort}`, 'https://example.invalid/']).then(
      () => 'tunnelled',
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(curl).to.match(/CONNECT tunnel failed, response 501/);
    const raw = await rawExchange(address, httpPort, Buffer.from('CONNECT example.invalid:443 HTTP/1.1\r\nHost: example.invalid:443\r\n\r\n'));
    expect(raw.received.toString()).to.match(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(raw.ended).to.equal('eof');
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_http_requests_total{listener="http",code="501"}')).to.be.at.least(2);
  });

  it('CONNECT over HTTP/2: 501 on that stream, the session goes on', async () => {
    const session = http2.connect(`http://${address}:${httpPort}`);
    try {
      const status = (headers: http2.OutgoingHttpHeaders) =>
        new Promise<number>((resolve, reject) => {
          const stream = session.request(headers);
          stream.on('response', (h) => resolve(Number(h[':status'])));
          stream.on('error', reject);
          stream.resume();
          if (headers[':method'] !== 'CONNECT') stream.end();
        });
      expect(await status({ ':method': 'CONNECT', ':authority': 'example.invalid:443' })).to.equal(501);
      expect(await status({ ':path': '/plain/after' })).to.equal(200);
    } finally {
      session.close();
    }
  });

  it('plain keep-alive requests are unaffected by the Upgrade handling', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          http.get({ host: address, port: httpPort, path: '/plain/k', agent }, (res) => {
            ports.add(res.socket.localPort ?? 0);
            res.resume();
            res.on('end', () => resolve());
          }).on('error', reject);
        });
      }
      expect(ports.size).to.equal(1);
    } finally {
      agent.destroy();
    }
  });

});
