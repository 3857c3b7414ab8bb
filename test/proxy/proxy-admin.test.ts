// The admin API contract the controller relies on: PUT /config answers 200 only once the
// listeners are bound; an invalid document (400) or a port in use (409) changes nothing
// and the last good config keeps serving; GET /config never shows a private key.
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
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
  rawExchange,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  terminateBlock,
  testPki,
  tlsCertificate,
  type HttpBackendServer,
  type RunningProxy,
  type TestPki,
} from './proxy-harness.js';

function httpGet(host: string, port: number, path = '/'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

describe('proxy: admin API', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let echo: HttpBackendServer;
  let address: string;
  let httpPort: number;
  let httpsPort: number;
  let v1: ProxyConfig;

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [httpPort, httpsPort] = await Promise.all([freePort(address), freePort(address)]);
    echo = await startHttpBackend(address, 'echo-1');
    proxy = await startProxy();
    v1 = config('v1', [
      listener('http', address, httpPort, 'HTTP', [plainBlock('plain', 'HTTP')], { httpRoutes: [httpRoute('r', 'plain', [], [rule({ backends: [httpBackend('echo', [echo])] })])] }),
      listener('https', address, httpsPort, 'HTTPS', [terminateBlock('demo', 'demo.example.com', [tlsCertificate('demo', pki.demoRsa, 'RSA')])]),
    ]);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
  });

  it('before the first PUT: healthy, not ready, no config', async () => {
    expect((await proxy.get('/healthz')).status).to.equal(200);
    const ready = await proxy.get('/readyz');
    expect(ready.status).to.equal(503);
    expect(ready.body['reason']).to.match(/no configuration/);
    expect((await proxy.get('/config')).status).to.equal(404);
  });

  it('PUT /config answers 200 {version} once the listeners accept connections', async () => {
    const answer = await proxy.put(v1);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.body['version']).to.equal('v1');
    // No waiting: "Programmed" means bound.
    expect((await httpGet(address, httpPort)).text).to.equal('Running on Pod echo-1.\n');
    const ready = await proxy.get('/readyz');
    expect(ready.status).to.equal(200);
    // What the controller's watchdog compares with the version it last applied.
    expect(ready.body['version']).to.equal('v1');
  });

  it('GET /config returns the serving config with private keys redacted', async () => {
    const answer = await proxy.get('/config');
    expect(answer.status).to.equal(200);
    expect(answer.headers['x-portcullis-config-version']).to.equal('v1');
    expect(answer.text).to.not.contain('PRIVATE KEY');
    const served = answer.body as unknown as ProxyConfig;
    const certificate = (served.listeners[1]!.serverBlocks[0]!.tls as { certificates: { privateKeyPem: string; certificateChainPem: string }[] }).certificates[0]!;
    expect(certificate.privateKeyPem).to.equal('[REDACTED]');
    expect(certificate.certificateChainPem).to.equal(pki.demoRsa.certPem);
  });

  it('an invalid config answers 400 with the problems; the last good one keeps serving', async () => {
    const invalid = JSON.parse(JSON.stringify(v1)) as ProxyConfig;
    invalid.version = 'v-bad';
    invalid.listeners[0]!.port = 70_000;
    invalid.listeners[1]!.serverBlocks[0]!.hostname = 'Not A Hostname';
    const answer = await proxy.put(invalid);
    expect(answer.status).to.equal(400);
    expect(answer.body['error']).to.equal('IR_INVALID');
    expect(answer.body['servingVersion']).to.equal('v1');
    const problems = answer.body['problems'] as { code: string; path: string }[];
    expect(problems.map((p) => p.code)).to.include.members(['INVALID_PORT', 'INVALID_HOSTNAME']);
    expect(problems.find((p) => p.code === 'INVALID_PORT')?.path).to.equal('/listeners/0/port');
    expect((await httpGet(address, httpPort)).status).to.equal(200);
    expect((await proxy.get('/config')).body['version']).to.equal('v1');
  });

  it('a body that is not JSON answers 400 INVALID_JSON', async () => {
    const answer = await proxy.put('{"version": ');
    expect(answer.status).to.equal(400);
    expect(answer.body['error']).to.equal('INVALID_JSON');
  });

  it('a port in use answers 409 LISTENER_BIND_FAILED; nothing of the new config stays bound', async () => {
    const blocker = net.createServer();
    const blockedPort = await freePort(address);
    await new Promise<void>((resolve) => blocker.listen(blockedPort, address, () => resolve()));
    const freshPort = await freePort(address);
    try {
      const answer = await proxy.put(
        config('v2', [
          ...v1.listeners,
          listener('fresh', address, freshPort, 'HTTP', [plainBlock('plain', 'HTTP')], { httpRoutes: [httpRoute('r', 'plain', [], [rule({ backends: [httpBackend('echo', [echo])] })])] }),
          listener('blocked', address, blockedPort, 'HTTP', [plainBlock('plain', 'HTTP')]),
        ]),
      );
      expect(answer.status, JSON.stringify(answer.body)).to.equal(409);
      expect(answer.body['error']).to.equal('LISTENER_BIND_FAILED');
      expect(answer.body['listeners']).to.deep.equal([
        { listener: 'blocked', address, port: blockedPort, code: 'EADDRINUSE', message: (answer.body['listeners'] as { message: string }[])[0]!.message },
      ]);
      expect(answer.body['message']).to.match(/EADDRINUSE/);
      expect((await rawExchange(address, freshPort, undefined, 1_000)).ended, 'the listener bound for the failed apply is closed again').to.equal('reset');
      expect((await httpGet(address, httpPort)).status).to.equal(200);
      expect((await proxy.get('/config')).body['version']).to.equal('v1');
    } finally {
      blocker.close();
    }
  });

  it('a listener left out of the next config is closed; the others keep their sockets', async () => {
    const answer = await proxy.put(config('v3', [v1.listeners[0]!]));
    expect(answer.status).to.equal(200);
    expect((await rawExchange(address, httpsPort, undefined, 1_000)).ended).to.equal('reset');
    expect((await httpGet(address, httpPort)).status).to.equal(200);
  });

  it('unknown routes and methods: 404 and 405', async () => {
    expect((await proxy.get('/nope')).status).to.equal(404);
    const post = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.adminPort, method: 'POST', path: '/config' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(post).to.equal(405);
  });

  it('GET /metrics: config applies and where their time went, rejections by reason, version', async () => {
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_config_applies_total')).to.equal(2);
    const validate = metrics.get('portcullis_config_apply_phase_seconds_total{phase="validate"}')!;
    const serve = metrics.get('portcullis_config_apply_phase_seconds_total{phase="serve"}')!;
    expect(validate).to.be.greaterThan(0);
    expect(serve).to.be.greaterThan(0);
    // Summed over both applies: at least the whole of the last one.
    expect(validate + serve).to.be.at.least(metrics.get('portcullis_config_last_apply_duration_seconds')!);
    expect(metrics.get('portcullis_config_rejections_total{reason="invalid"}')).to.equal(1);
    expect(metrics.get('portcullis_config_rejections_total{reason="invalid-json"}')).to.equal(1);
    expect(metrics.get('portcullis_config_rejections_total{reason="bind-failed"}')).to.equal(1);
    expect(metrics.get('portcullis_config_version_info{version="v3"}')).to.equal(1);
    expect(metrics.get('portcullis_config_version_info{version="v1"}')).to.equal(undefined);
    expect(metrics.get('portcullis_http_requests_total{listener="http",code="200"}')).to.be.at.least(4);
  });

  it('never logs key material', () => {
    const text = JSON.stringify(proxy.logs);
    expect(text).to.not.contain('PRIVATE KEY');
    expect(text).to.not.contain(pki.demoRsa.keyPem.split('\n')[1]!);
  });
});
