// A plaintext HTTP listener: HTTP/1.1 and h2c with prior knowledge on the same port
// (GRPCRoute on an HTTP listener), weighted backends, an InvalidBackend's share answered
// 500, and route timeouts.
import { expect } from 'chai';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
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
  startHttpBackend,
  type HttpBackendServer,
  startProxy,
  stopAllProxies,
  testPki,
  type RunningProxy,
} from './proxy-harness.js';

describe('proxy: plaintext HTTP listener (HTTP/1.1, h2c, gRPC, weights, timeouts)', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let address: string;
  let port: number;
  let pool: Pool;
  let secureBackend: https.Server;
  let flakyBackend: net.Server;
  let backendA: HttpBackendServer;
  let backendB: HttpBackendServer;

  before(async function () {
    this.timeout(30_000);
    address = loopbackAddress();
    port = await freePort(address);
    const [a, b, grpcBackend] = await Promise.all([startHttpBackend(address, 'a'), startHttpBackend(address, 'b'), startGrpcBackend(address, 'grpc-plain')]);
    [backendA, backendB] = [a, b];
    // A backend that speaks HTTPS with a CA-signed certificate (BackendTLSPolicy).
    const pki = await testPki();
    secureBackend = https.createServer({ cert: pki.other.certPem, key: pki.other.keyPem }, (req, res) => res.end(`secure backend saw ${req.headers.host} over ${(req.socket as unknown as { servername: string }).servername}\n`));
    await new Promise<void>((resolve) => secureBackend.listen(0, address, () => resolve()));
    const securePort = (secureBackend.address() as AddressInfo).port;
    // A backend that drops the first connection of each pair after reading the request (the keep-alive race, forced).
    let connectionCount = 0;
    flakyBackend = net.createServer((socket) => {
      const drop = connectionCount++ % 2 === 0;
      socket.on('error', () => {});
      socket.once('data', () => {
        if (drop) socket.destroy();
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond');
      });
    });
    await new Promise<void>((resolve) => flakyBackend.listen(0, address, () => resolve()));
    const flakyPort = (flakyBackend.address() as AddressInfo).port;
    const upstreamTls = (serverName: string) => ({ serverName, trust: { kind: 'CaBundle' as const, caCertificatesPem: pki.ca.certPem } });
    proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], {
          httpRoutes: [
            httpRoute('web', 'plain', ['web.example.com'], [
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/weighted' } }], backends: [httpBackend('a', [a], 1), httpBackend('b', [b], 3)] }),
              rule({
                matches: [{ path: { type: 'PathPrefix', value: '/per-backend' } }],
                filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-rule', value: 'all' }] }],
                backends: [
                  { ...httpBackend('a', [a]), filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'Backend', value: 'a' }], remove: ['x-rule'] }, { type: 'ResponseHeaderModifier', add: [{ name: 'x-served-by', value: 'a' }] }] },
                  { ...httpBackend('b', [b]), filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'Backend', value: 'b' }] }] },
                ],
              }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/half-invalid' } }], backends: [httpBackend('a', [a], 1), { kind: 'Invalid', name: 'missing', weight: 1, reason: 'Service default/missing not found' }] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/slow' } }], backends: [httpBackend('a', [a])], timeouts: { requestMs: 200 } }),
              rule({ matches: [{ path: { type: 'Exact', value: '/' }, method: 'GET', headers: [{ type: 'Exact', name: 'x-variant', value: 'b' }] }], backends: [httpBackend('b', [b])] }),
              rule({ matches: [{ path: { type: 'Exact', value: '/' } }], backends: [httpBackend('a', [a])] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/flaky' } }], backends: [httpBackend('flaky', [{ address, port: flakyPort }])] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/upstream-tls' } }], backends: [{ ...httpBackend('secure', [{ address, port: securePort }]), tls: upstreamTls('other.example.com') }] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/upstream-tls-wrong-name' } }], backends: [{ ...httpBackend('secure', [{ address, port: securePort }]), tls: upstreamTls('wrong.example.com') }] }),
            ]),
          ],
          grpcRoutes: [{ source: routeSource('grpc', 'GRPCRoute'), serverBlock: 'plain', hostnames: ['grpc.example.com'], rules: [{ matches: [], filters: [], backends: [httpBackend('grpc', [{ address, port: grpcBackend.port }], 1, 'HTTP/2')] }] }],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    pool = new Pool(`http://${address}:${port}`, { connections: 4 });
  });

  after(async () => {
    secureBackend?.close();
    flakyBackend?.close();
    await pool?.close();
    await stopAllProxies();
    await closeAllBackends();
  });

  async function get(path: string, headers: Record<string, string> = {}) {
    const response = await pool.request({ path, method: 'GET', headers: { host: 'web.example.com', ...headers } });
    return { status: response.statusCode, text: await response.body.text() };
  }

  it('HTTP/1.1: path, method and header matches with Gateway API precedence', async () => {
    expect((await get('/')).text).to.equal('Running on Pod a.\n');
    expect((await get('/', { 'x-variant': 'b' })).text).to.equal('Running on Pod b.\n');
  });

  it('no route: 404 in JSON for GET; for HEAD the same status with no body and no content type', async () => {
    const miss = await pool.request({ path: '/', method: 'GET', headers: { host: 'nobody.example.com' } });
    expect(miss.statusCode).to.equal(404);
    expect(miss.headers['content-type']).to.equal('application/json');
    expect(await miss.body.json()).to.have.property('message');
    const head = await pool.request({ path: '/', method: 'HEAD', headers: { host: 'nobody.example.com' } });
    expect(head.statusCode).to.equal(404);
    expect(head.headers).not.to.have.property('content-type');
    expect(await head.body.text()).to.equal('');
  });

  it('weights: 1:3 over every four requests (smooth weighted round-robin)', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push((await get('/weighted')).text);
    expect(answers.filter((t) => t === 'Running on Pod a.\n')).to.have.length(2);
    expect(answers.filter((t) => t === 'Running on Pod b.\n')).to.have.length(6);
  });

  it("a backendRef's own header filters apply only to its requests, after the rule's", async () => {
    const answers: { backend: string; servedBy: unknown }[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await pool.request({ path: '/per-backend', method: 'GET', headers: { host: 'web.example.com' } });
      await response.body.text();
      answers.push({ backend: String(response.headers['x-backend']), servedBy: response.headers['x-served-by'] });
    }
    expect(answers.filter((a) => a.backend === 'a')).to.have.length(2);
    for (const answer of answers) expect(answer.servedBy, JSON.stringify(answer)).to.equal(answer.backend === 'a' ? 'a' : undefined);
    const seenByA = backendA.requests.filter((r) => r.url === '/per-backend');
    const seenByB = backendB.requests.filter((r) => r.url === '/per-backend');
    expect(seenByA.map((r) => [r.headers['backend'], r.headers['x-rule']])).to.deep.equal([['a', undefined], ['a', undefined]]);
    expect(seenByB.map((r) => [r.headers['backend'], r.headers['x-rule']])).to.deep.equal([['b', 'all'], ['b', 'all']]);
  });

  it("an InvalidBackend keeps its share of requests, answered 500", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get('/half-invalid')).status);
    expect(statuses.filter((s) => s === 500)).to.have.length(3);
    expect(statuses.filter((s) => s === 200)).to.have.length(3);
  });

  it('a route request timeout answers 504', async () => {
    const started = Date.now();
    const response = await get('/slow?ms=1500');
    expect(response.status).to.equal(504);
    expect(Date.now() - started).to.be.lessThan(1_000);
  });

  it('upstream TLS (BackendTLSPolicy): CA bundle, SNI = serverName, and the name is verified', async () => {
    const ok = await get('/upstream-tls');
    expect(ok).to.deep.equal({ status: 200, text: 'secure backend saw web.example.com over other.example.com\n' });
    const wrong = await get('/upstream-tls-wrong-name');
    expect(wrong.status, 'a backend certificate that does not match serverName is refused').to.equal(503);
  });

  it('a GET whose backend connection closes before any answer is sent once more; a POST is not (502)', async () => {
    expect(await get('/flaky')).to.deep.equal({ status: 200, text: 'second' });
    const post = await pool.request({ path: '/flaky', method: 'POST', headers: { host: 'web.example.com' }, body: 'payload' });
    expect(post.statusCode).to.equal(502);
    await post.body.dump();
  });

  it('h2c with prior knowledge on the same port', async () => {
    const session = http2.connect(`http://${address}:${port}`);
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': 'web.example.com' });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
      expect(text).to.equal('Running on Pod a.\n');
    } finally {
      session.close();
    }
  });

  it('gRPC over h2c (insecure channel) to an h2c backend', async () => {
    const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');
    const client = new EchoClient(`${address}:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'grpc.example.com' }) as unknown as grpc.Client & {
      Say: (request: Buffer, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: Buffer) => void) => void;
    };
    try {
      const response = await new Promise<Buffer>((resolve, reject) => client.Say(Buffer.from('plain'), { deadline: Date.now() + 5_000 }, (error, value) => (error ? reject(error) : resolve(value!))));
      expect(response.toString()).to.equal('grpc-plain:plain::/echo.Echo/Say');
    } finally {
      client.close();
    }
  });
});
