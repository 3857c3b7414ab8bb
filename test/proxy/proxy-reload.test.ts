// Hot reload: a new config applies to new connections at once; connections in flight
// finish on the config they started with; replacing a certificate drops nothing; a
// config swap under steady traffic loses no request.
import { expect } from 'chai';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { Agent, Client, Pool, request } from 'undici';
import type { ProxyConfig } from '../../src/ir/types.js';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  routeSource,
  rule,
  startHttpBackend,
  startProxy,
  startTcpEchoBackend,
  stopAllProxies,
  streamBackend,
  terminateBlock,
  testPki,
  tlsCertificate,
  tlsProbe,
  type HttpBackendServer,
  type RunningProxy,
  type StreamBackendServer,
  type TestPki,
} from './proxy-harness.js';

describe('proxy: hot reload', function () {
  this.timeout(20_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let blue: HttpBackendServer;
  let green: HttpBackendServer;
  let tcpEcho: StreamBackendServer;
  let address: string;
  let httpsPort: number;
  let tcpPort: number;

  /** HTTPS for demo.example.com → `backend`, with the RSA or the ECDSA certificate; a TCP listener unless left out. */
  function version(name: string, backend: HttpBackendServer, certificate: 'RSA' | 'ECDSA', withTcp = true): ProxyConfig {
    const material = certificate === 'RSA' ? pki.demoRsa : pki.demoEcdsa;
    return config(name, [
      listener('https', address, httpsPort, 'HTTPS', [terminateBlock('demo', 'demo.example.com', [tlsCertificate(`demo-${certificate}`, material, certificate)])], {
        httpRoutes: [httpRoute('demo', 'demo', ['demo.example.com'], [rule({ backends: [httpBackend(backend === blue ? 'blue' : 'green', [backend])] })])],
      }),
      ...(withTcp
        ? [
            listener('tcp', address, tcpPort, 'TCP', [plainBlock('tcp', 'TCP')], {
              tcpRoutes: [{ source: routeSource('tcp', 'TCPRoute'), serverBlock: 'tcp', hostnames: [], backends: [streamBackend('tcp', [tcpEcho])] }],
            }),
          ]
        : []),
    ]);
  }

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [httpsPort, tcpPort] = await Promise.all([freePort(address), freePort(address)]);
    blue = await startHttpBackend(address, 'blue');
    green = await startHttpBackend(address, 'green');
    tcpEcho = await startTcpEchoBackend(address, 'tcp-1');
    proxy = await startProxy();
    const answer = await proxy.put(version('v1', blue, 'RSA'));
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
  });

  const tlsConnect = { ca: '', servername: 'demo.example.com' };
  before(() => {
    tlsConnect.ca = pki.ca.certPem;
  });

  it('new connections see a new config as soon as PUT answers', async () => {
    const put = await proxy.put(version('v2', green, 'RSA'));
    expect(put.status).to.equal(200);
    // One process: the unchanged TCP listener is carried over compiled; the HTTPS route's new backend is compiled.
    const applied = proxy.logs.find((line) => line.msg === 'configuration applied' && line['version'] === 'v2');
    expect(applied?.['reused']).to.deep.equal({ listeners: 1, rulePlans: 0, compiledRulePlans: 1 });
    const client = new Client(`https://${address}:${httpsPort}`, { connect: tlsConnect });
    try {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'demo.example.com' } });
      expect(await response.body.text()).to.equal('Running on Pod green.\n');
    } finally {
      await client.close();
    }
    expect((await proxy.put(version('v3', blue, 'RSA'))).status).to.equal(200);
  });

  it('a request in flight finishes on the config it started with, even if its backend left the config', async () => {
    const client = new Client(`https://${address}:${httpsPort}`, { connect: tlsConnect });
    try {
      const slow = client.request({ path: '/slow?ms=600', method: 'GET', headers: { host: 'demo.example.com' } });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await proxy.put(version('v4', green, 'ECDSA'))).status).to.equal(200);
      const response = await slow;
      expect(response.statusCode).to.equal(200);
      expect(await response.body.text()).to.equal('Running on Pod blue.\n');
      // The old generation asked the client to move on: the next request uses a new connection and the new config.
      expect(response.headers['connection']).to.equal('close');
      const next = await client.request({ path: '/', method: 'GET', headers: { host: 'demo.example.com' } });
      expect(await next.body.text()).to.equal('Running on Pod green.\n');
    } finally {
      await client.close();
    }
  });

  it('an HTTP/2 session of a replaced config gets GOAWAY, its open stream still finishes; a new session sees the new config', async () => {
    expect((await proxy.put(version('v4b', blue, 'ECDSA'))).status).to.equal(200);
    const session = http2.connect(`https://${address}:${httpsPort}`, { ...tlsConnect });
    const h2get = (target: http2.ClientHttp2Session, path: string) =>
      new Promise<string>((resolve, reject) => {
        const stream = target.request({ ':path': path, ':authority': 'demo.example.com' });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
    try {
      expect(await h2get(session, '/')).to.equal('Running on Pod blue.\n');
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      const inFlight = h2get(session, '/slow?ms=400');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await proxy.put(version('v4c', green, 'ECDSA'))).status).to.equal(200);
      await goaway;
      expect(await inFlight, 'the stream open at GOAWAY finishes on the old config').to.equal('Running on Pod blue.\n');
    } finally {
      session.close();
    }
    const fresh = http2.connect(`https://${address}:${httpsPort}`, { ...tlsConnect });
    try {
      expect(await h2get(fresh, '/')).to.equal('Running on Pod green.\n');
    } finally {
      fresh.close();
    }
  });

  it('replacing the certificate drops no open connection; new handshakes get the new certificate', async () => {
    expect((await proxy.put(version('v5', green, 'RSA'))).status).to.equal(200);
    const socket = tls.connect({ host: address, port: httpsPort, ...tlsConnect, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.getPeerCertificate().serialNumber.toLowerCase()).to.equal(pki.demoRsa.serial);
    expect((await proxy.put(version('v6', green, 'ECDSA'))).status).to.equal(200);
    socket.write('GET / HTTP/1.1\r\nHost: demo.example.com\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('Running on Pod')) resolve(text);
      });
    });
    expect(answer).to.match(/^HTTP\/1\.1 200/);
    socket.destroy();
    const probe = await tlsProbe({ host: address, port: httpsPort, servername: 'demo.example.com', ca: pki.ca.certPem });
    expect(probe.keyType).to.equal('ECDSA');
  });

  it('a TCP stream in flight survives a config that removes its listener; the port then refuses', async () => {
    const socket = net.connect({ host: address, port: tcpPort });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('before\n');
    expect((await proxy.put(version('v7', green, 'ECDSA', false))).status).to.equal(200);
    socket.end('after\n');
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(received).to.equal('Running on Pod tcp-1.\nbefore\nafter\n');
    const refused = await new Promise<boolean>((resolve) => {
      const probe = net.connect({ host: address, port: tcpPort });
      probe.once('connect', () => (probe.destroy(), resolve(false)));
      probe.once('error', () => resolve(true));
    });
    expect(refused).to.equal(true);
  });

  it('swapping configs under traffic loses no request (keep-alive and new connections)', async function () {
    this.timeout(20_000);
    expect((await proxy.put(version('v8', blue, 'RSA'))).status).to.equal(200);
    const pool = new Pool(`https://${address}:${httpsPort}`, { connections: 8, connect: tlsConnect });
    const fresh = new Agent({ connect: tlsConnect, pipelining: 0 }); // pipelining 0: no keep-alive, a handshake per request
    const results = { ok: 0, failed: [] as string[], byBackend: new Map<string, number>() };
    let running = true;
    const loop = async (send: () => Promise<{ statusCode: number; body: { text(): Promise<string> } }>) => {
      while (running) {
        try {
          const response = await send();
          const text = await response.body.text();
          if (response.statusCode !== 200) results.failed.push(`${response.statusCode} ${text}`);
          else {
            results.ok++;
            results.byBackend.set(text, (results.byBackend.get(text) ?? 0) + 1);
          }
        } catch (error) {
          results.failed.push((error as Error).message);
        }
      }
    };
    const keepAlive = () => pool.request({ path: '/', method: 'GET', headers: { host: 'demo.example.com' } });
    const newConnection = () => request(`https://${address}:${httpsPort}/`, { dispatcher: fresh, headers: { host: 'demo.example.com' } });
    const loops = [...Array.from({ length: 6 }, () => loop(keepAlive)), ...Array.from({ length: 2 }, () => loop(newConnection))];
    // Traffic between every two swaps is counted in requests, not milliseconds, so a slow
    // machine makes the test longer, never weaker: at least 15 answers before each swap and after the last.
    const answered = () => results.ok + results.failed.length;
    const afterRequests = async (count: number) => {
      const target = answered() + count;
      while (answered() < target) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    const swaps: number[] = [];
    for (let i = 0; i < 8; i++) {
      await afterRequests(15);
      const answer = await proxy.put(version(`swap-${i}`, i % 2 === 0 ? green : blue, i % 2 === 0 ? 'ECDSA' : 'RSA'));
      swaps.push(answer.status);
    }
    await afterRequests(15);
    running = false;
    await Promise.all(loops);
    await pool.close();
    await fresh.close();
    expect(swaps.every((status) => status === 200)).to.equal(true);
    expect(results.failed, results.failed.slice(0, 5).join('\n')).to.have.length(0);
    expect(results.ok).to.be.at.least(8 * 15);
    expect(results.byBackend.get('Running on Pod blue.\n')).to.be.greaterThan(0);
    expect(results.byBackend.get('Running on Pod green.\n')).to.be.greaterThan(0);
  });
});
