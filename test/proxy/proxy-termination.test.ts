// TLS termination end to end: the real proxy process configured through its admin API,
// real backends on loopback, real clients (curl, Node tls, undici, node:http2,
// @grpc/grpc-js). Reference scenario 1's shape: an HTTPS listener for demo.example.com,
// reached by `curl https://<ip>/echo -H 'Host: demo.example.com'` without SNI.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'undici';
import {
  closeAllBackends,
  config,
  echoService,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  routeSource,
  rule,
  startGrpcBackend,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  terminateBlock,
  testPki,
  tlsCertificate,
  tlsProbe,
  type HttpBackendServer,
  type RunningProxy,
  type TestPki,
} from './proxy-harness.js';
import type { ProxyConfig } from '../../src/ir/types.js';

const run = promisify(execFile);

describe('proxy: TLS termination (HTTPS listener, HTTP/1.1, HTTP/2, gRPC)', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let echo: HttpBackendServer;
  let other: HttpBackendServer;
  let address: string;
  let port: number;
  let tmp: string;
  let caFile: string;

  function scenarioConfig(version: string, grpcPort: number): ProxyConfig {
    return config(version, [
      listener('https', address, port, 'HTTPS', [
        terminateBlock('demo', 'demo.example.com', [tlsCertificate('demo-rsa', pki.demoRsa, 'RSA'), tlsCertificate('demo-ecdsa', pki.demoEcdsa, 'ECDSA')]),
        terminateBlock('other', 'other.example.com', [tlsCertificate('other', pki.other, 'ECDSA')]),
        terminateBlock('wild', '*.wild.example.com', [tlsCertificate('wild', pki.wildcard, 'ECDSA')]),
      ], {
        httpRoutes: [
          httpRoute('demo-example', 'demo', ['demo.example.com'], [
            rule({ matches: [{ path: { type: 'PathPrefix', value: '/echo' } }], backends: [httpBackend('echo', [echo])] }),
            rule({ matches: [{ path: { type: 'Exact', value: '/broken' } }], backends: [], invalidBackendResponse: { status: 500, reason: 'Service default/missing not found' } }),
            rule({ matches: [{ path: { type: 'PathPrefix', value: '/empty' } }], backends: [httpBackend('empty', [])] }),
            rule({ matches: [{ path: { type: 'PathPrefix', value: '/redirect' } }], backends: [], filters: [{ type: 'RequestRedirect', hostname: 'redirected.example.com', statusCode: 302 }] }),
            rule({
              matches: [{ path: { type: 'PathPrefix', value: '/headers' } }],
              backends: [httpBackend('echo', [echo])],
              filters: [
                { type: 'RequestHeaderModifier', set: [{ name: 'X-Set', value: 'one' }], add: [{ name: 'X-Add', value: 'two' }], remove: ['X-Remove'] },
                { type: 'ResponseHeaderModifier', set: [{ name: 'X-Resp', value: 'yes' }], remove: ['X-Remove-Me'] },
              ],
            }),
            rule({
              matches: [{ path: { type: 'PathPrefix', value: '/rewrite' } }],
              backends: [httpBackend('echo', [echo])],
              filters: [{ type: 'URLRewrite', hostname: 'rewritten.example.com', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/echo' } }],
            }),
            rule({ matches: [{ path: { type: 'PathPrefix', value: '/dead' } }], backends: [httpBackend('dead', [{ address, port: deadPort }, echo])] }),
          ]),
          httpRoute('other', 'other', [], [rule({ backends: [httpBackend('other', [other])] })]),
          httpRoute('www', 'wild', ['www.wild.example.com'], [rule({ backends: [httpBackend('echo', [echo])] })]),
        ],
        grpcRoutes: [
          {
            source: routeSource('grpc-echo', 'GRPCRoute'),
            serverBlock: 'wild',
            hostnames: ['grpc.wild.example.com'],
            rules: [
              {
                matches: [{ method: { type: 'Exact', service: 'echo.Echo' } }],
                filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-added', value: 'by-proxy' }] }],
                backends: [httpBackend('grpc-echo', [{ address, port: grpcPort }], 1, 'HTTP/2')],
              },
            ],
          },
        ],
      }),
    ]);
  }

  let grpcPort: number;
  let deadPort: number;

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [port, deadPort] = await Promise.all([freePort(address), freePort(address)]);
    echo = await startHttpBackend(address, 'echo-1');
    other = await startHttpBackend(address, 'other-1');
    grpcPort = (await startGrpcBackend(address, 'grpc-1')).port;
    tmp = await mkdtemp(join(tmpdir(), 'portcullis-proxy-'));
    caFile = join(tmp, 'ca.crt');
    await writeFile(caFile, pki.ca.certPem);
    proxy = await startProxy();
    const answer = await proxy.put(scenarioConfig('v1', grpcPort));
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('scenario 1: curl to the IP without SNI, Host demo.example.com → routed to the echo', async () => {
    const { stdout } = await run('curl', ['-sS', '-k', '--cacert', caFile, '-H', 'Host: demo.example.com', `https://${address}:${port}/echo`]);
    expect(stdout).to.equal('Running on Pod echo-1.\n');
  });

  it('curl --resolve with SNI verifies the chain against the CA and routes', async () => {
    const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '--resolve', `demo.example.com:${port}:${address}`, '-w', '\n%{http_version}', `https://demo.example.com:${port}/echo/curl`]);
    expect(stdout).to.equal('Running on Pod echo-1.\n\n2');
  });

  it('curl --http1.0 (ALPN offers only http/1.0) is served over HTTP/1.0, not refused', async () => {
    const { stdout } = await run('curl', ['-sS', '--http1.0', '--cacert', caFile, '--resolve', `demo.example.com:${port}:${address}`, `https://demo.example.com:${port}/echo/curl`]);
    expect(stdout).to.equal('Running on Pod echo-1.\n');
    const probe = await tlsProbe({ host: address, port, servername: 'demo.example.com', ALPNProtocols: ['http/1.0'], ca: pki.ca.certPem });
    expect(probe.alpnProtocol).to.equal('http/1.0');
  });

  it('serves the block certificate chosen by SNI, ECDSA or RSA by the client signature algorithms, ALPN h2 and http/1.1', async () => {
    const ecdsa = await tlsProbe({ host: address, port, servername: 'demo.example.com', ALPNProtocols: ['h2', 'http/1.1'], ca: pki.ca.certPem });
    expect(ecdsa, JSON.stringify(ecdsa)).to.include({ authorized: true, alpnProtocol: 'h2', subject: 'demo.example.com', subjectAltName: 'DNS:demo.example.com', keyType: 'ECDSA' });
    const rsa = await tlsProbe({ host: address, port, servername: 'demo.example.com', ALPNProtocols: ['http/1.1'], ca: pki.ca.certPem, sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' });
    expect(rsa, JSON.stringify(rsa)).to.include({ authorized: true, alpnProtocol: 'http/1.1', subject: 'demo.example.com', keyType: 'RSA' });
    const wild = await tlsProbe({ host: address, port, servername: 'www.wild.example.com', ca: pki.ca.certPem });
    expect(wild).to.include({ authorized: true, subjectAltName: 'DNS:*.wild.example.com' });
    const noSni = await tlsProbe({ host: address, port, ca: pki.ca.certPem });
    expect(noSni, 'no SNI: the first Terminate block is the default').to.include({ subject: 'demo.example.com' });
  });

  it('refuses an SNI no block serves instead of sending a default certificate: closed, no alert', async () => {
    const failure = await tlsProbe({ host: address, port, servername: 'unknown.example.org', ca: pki.ca.certPem }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).to.match(/disconnected before secure TLS connection/i);
  });

  describe('with undici (SNI and Host set independently)', () => {
    let client: Client;
    before(() => {
      client = new Client(`https://${address}:${port}`, { connect: { servername: 'demo.example.com', ca: pki.ca.certPem } });
    });
    after(() => client.close());

    // undici derives the SNI from the Host header unless the request names one itself.
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const response = await client.request({ path, method: 'GET', headers: { host: 'demo.example.com', ...headers }, servername: 'demo.example.com' } as Parameters<Client['request']>[0]);
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    };

    it('routes by Host and path, sets X-Forwarded-For and X-Forwarded-Proto', async () => {
      const response = await get('/echo/a?b=c');
      expect(response.status).to.equal(200);
      expect(response.text).to.equal('Running on Pod echo-1.\n');
      expect(response.headers['x-seen-path']).to.equal('/echo/a?b=c');
      expect(response.headers['x-seen-host']).to.equal('demo.example.com');
      expect(response.headers['x-seen-xff']).to.match(/^127\.\d+\.\d+\.\d+$/);
      expect(response.headers['x-seen-proto']).to.equal('https');
    });

    it('sets X-Forwarded-Host, X-Forwarded-Port and Forwarded; overwrites a spoofed proto, appends to the hop lists', async () => {
      const before = echo.requests.length;
      const response = await get('/echo/fwd', { 'x-forwarded-proto': 'spoofed', 'x-forwarded-for': '198.51.100.7', forwarded: 'for=198.51.100.7', 'x-forwarded-port': '1' });
      expect(response.status).to.equal(200);
      const seen = echo.requests[before]!.headers;
      const client = String(seen['x-forwarded-for']).split(', ')[1];
      expect(seen['x-forwarded-for']).to.match(/^198\.51\.100\.7, 127\.\d+\.\d+\.\d+$/);
      expect(seen['x-forwarded-proto']).to.equal('https');
      expect(seen['x-forwarded-host']).to.equal('demo.example.com');
      expect(seen['x-forwarded-port']).to.equal(String(port));
      expect(seen['forwarded']).to.equal(`for=198.51.100.7, for=${client};host=demo.example.com;proto=https`);
    });

    it('X-Forwarded-Host keeps the client\'s Host when URLRewrite replaces it upstream', async () => {
      const before = echo.requests.length;
      await get('/rewrite/x', { host: 'demo.example.com:' + port });
      const seen = echo.requests[before]!.headers;
      expect(seen.host).to.equal('rewritten.example.com');
      expect(seen['x-forwarded-host']).to.equal(`demo.example.com:${port}`);
      expect(seen['forwarded']).to.match(new RegExp(`;host="demo\\.example\\.com:${port}";proto=https$`));
    });

    it('answers 404 with a JSON body when no route matches', async () => {
      const response = await get('/nothing-here');
      expect(response.status).to.equal(404);
      expect(response.headers['content-type']).to.equal('application/json');
      expect(JSON.parse(response.text)).to.deep.equal({ message: 'no route matched', host: 'demo.example.com', path: '/nothing-here' });
    });

    it('answers 421 when the Host belongs to another server block than the SNI selected', async () => {
      const response = await get('/', { host: 'other.example.com' });
      expect(response.status, response.text).to.equal(421);
      expect(JSON.parse(response.text).host).to.equal('other.example.com');
    });

    it('answers the invalid backend status (500) and 503 for a backend without endpoints', async () => {
      expect((await get('/broken')).status).to.equal(500);
      const empty = await get('/empty');
      expect(empty.status).to.equal(503);
      expect(JSON.parse(empty.text).message).to.match(/no healthy upstream/);
    });

    it('retries a refused connection on the next endpoint', async () => {
      for (let i = 0; i < 4; i++) {
        const response = await get('/dead');
        expect(response.status, response.text).to.equal(200);
      }
    });

    it('RequestRedirect: Location with the listener port, status from the filter', async () => {
      const response = await get('/redirect/x?q=1');
      expect(response.status).to.equal(302);
      expect(response.headers.location).to.equal(`https://redirected.example.com:${port}/redirect/x?q=1`);
    });

    it('RequestHeaderModifier and ResponseHeaderModifier', async () => {
      const before = echo.requests.length;
      const response = await get('/headers', { 'x-add': 'one', 'x-remove': 'gone', 'x-set': 'original' });
      expect(response.status).to.equal(200);
      const seen = echo.requests[before]!.headers;
      expect(seen['x-set']).to.equal('one');
      expect(seen['x-add']).to.equal('one,two');
      expect(seen['x-remove']).to.equal(undefined);
      expect(response.headers['x-resp']).to.equal('yes');
      expect(response.headers['x-remove-me']).to.equal(undefined);
    });

    it('URLRewrite: prefix and hostname', async () => {
      const response = await get('/rewrite/deeper?k=v');
      expect(response.headers['x-seen-path']).to.equal('/echo/deeper?k=v');
      expect(response.headers['x-seen-host']).to.equal('rewritten.example.com');
    });

    it('forwards request bodies', async () => {
      const response = await client.request({ path: '/echo/post', method: 'POST', headers: { host: 'demo.example.com', 'content-type': 'text/plain' }, body: 'hello body' });
      expect(await response.body.text()).to.equal('Running on Pod echo-1.\nbody=hello body\n');
    });
  });

  it('HTTP/2 clients are served over ALPN h2 (to an HTTP/1.1 backend)', async () => {
    const session = http2.connect(`https://${address}:${port}`, { servername: 'demo.example.com', ca: pki.ca.certPem });
    try {
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const stream = session.request({ ':path': '/echo/h2', ':authority': 'demo.example.com' });
        let status = 0;
        let text = '';
        stream.on('response', (headers) => (status = Number(headers[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        stream.on('end', () => resolve({ status, text }));
        stream.on('error', reject);
      });
      expect(answer).to.deep.equal({ status: 200, text: 'Running on Pod echo-1.\n' });
    } finally {
      session.close();
    }
  });

  it('GRPCRoute: @grpc/grpc-js over TLS (ALPN h2) to an h2c backend, header filter applied, trailers relayed', async () => {
    const EchoClient = grpc.makeGenericClientConstructor(echoService, 'Echo');
    const client = new EchoClient(`${address}:${port}`, grpc.credentials.createSsl(Buffer.from(pki.ca.certPem)), {
      'grpc.ssl_target_name_override': 'grpc.wild.example.com',
      'grpc.default_authority': 'grpc.wild.example.com',
    }) as unknown as grpc.Client & { Say: (request: Buffer, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: Buffer) => void) => grpc.ClientUnaryCall };
    try {
      let trailers: grpc.Metadata | undefined;
      const response = await new Promise<Buffer>((resolve, reject) => {
        const call = client.Say(Buffer.from('hello'), { deadline: Date.now() + 5_000 }, (error, value) => (error ? reject(error) : resolve(value!)));
        call.on('status', (status: grpc.StatusObject) => (trailers = status.metadata));
      });
      expect(response.toString()).to.equal('grpc-1:hello:by-proxy:/echo.Echo/Say');
      await new Promise((resolve) => setImmediate(resolve));
      expect(trailers?.get('x-served-by')).to.deep.equal(['grpc-1']);
    } finally {
      client.close();
    }
  });

  describe('metrics (after the traffic above)', () => {
    it('counts handshakes and requests by status in /metrics', async () => {
      const metrics = await proxy.metrics();
      expect(metrics.get('portcullis_tls_handshakes_total{listener="https",mode="terminate"}')).to.be.greaterThan(3);
      expect(metrics.get('portcullis_http_requests_total{listener="https",code="404"}')).to.be.at.least(1);
      expect(metrics.get('portcullis_http_requests_total{listener="https",code="421"}')).to.be.at.least(1);
      expect(metrics.get('portcullis_tls_handshake_failures_total{listener="https",reason="unknown-server-name"}')).to.be.at.least(1);
      expect(metrics.get('portcullis_config_version_info{version="v1"}')).to.equal(1);
    });

  });
});
