// --workers N: node:cluster workers share the listening sockets; a PUT answers only
// once every worker applied the config (or rolls all of them back); a worker that dies
// is replaced and gets the serving config; metrics are summed over workers.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Agent, request } from 'undici';
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
  waitFor,
  type HttpBackendServer,
  type RunningProxy,
  type TestPki,
} from './proxy-harness.js';

describe('proxy: --workers 2 (node:cluster)', function () {
  this.timeout(20_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let echo: HttpBackendServer;
  let address: string;
  let httpsPort: number;
  let agent: Agent;

  const v1 = () =>
    config('v1', [
      listener('https', address, httpsPort, 'HTTPS', [terminateBlock('demo', 'demo.example.com', [tlsCertificate('demo', pki.demoEcdsa)])], {
        httpRoutes: [httpRoute('demo', 'demo', [], [rule({ backends: [httpBackend('echo', [echo])] })])],
      }),
    ]);

  /** `count` requests, each on a new TLS connection so both workers take some. */
  async function sendRequests(count: number): Promise<string[]> {
    const answers: string[] = [];
    for (let i = 0; i < count; i++) {
      const response = await request(`https://${address}:${httpsPort}/`, { dispatcher: agent, headers: { host: 'demo.example.com' } });
      answers.push(`${response.statusCode} ${await response.body.text()}`);
    }
    return answers;
  }

  function appliedBy(versionName: string): number[] {
    return proxy.logs.filter((line) => line.msg === 'configuration applied' && line['version'] === versionName).map((line) => line['pid'] as number);
  }

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    httpsPort = await freePort(address);
    echo = await startHttpBackend(address, 'echo-1');
    agent = new Agent({ connect: { ca: pki.ca.certPem, servername: 'demo.example.com' }, pipelining: 0 });
    proxy = await startProxy(['--workers', '2']);
  });

  after(async () => {
    await agent?.close();
    await stopAllProxies();
    await closeAllBackends();
  });

  it('applies a PUT on every worker before answering 200', async () => {
    const answer = await proxy.put(v1());
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(new Set(appliedBy('v1')).size).to.equal(2);
    const answers = await sendRequests(20);
    expect(answers.every((a) => a === '200 Running on Pod echo-1.\n'), answers.join('|')).to.equal(true);
  });

  it('sums metrics over workers', async () => {
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_workers')).to.equal(2);
    expect(metrics.get('portcullis_http_requests_total{listener="https",code="200"}')).to.be.at.least(20);
    expect(metrics.get('portcullis_connections_accepted_total{listener="https"}')).to.be.at.least(20);
  });

  it('reports the memory of the primary and of the workers summed, as the kernel counts it', async () => {
    const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    const workers = [...new Set(appliedBy('v1'))];
    expect(workers).to.have.length(2);
    const metrics = await proxy.metrics();
    const primary = metrics.get('portcullis_process_resident_memory_bytes{process="primary"}');
    const summed = metrics.get('portcullis_process_resident_memory_bytes{process="worker"}');
    // RSS moves a little between the proxy's reading and ours: within 20%, where one worker
    // missed (or counted twice) would be off by half.
    expect(primary).to.be.closeTo(rssOf(proxy.child.pid!), rssOf(proxy.child.pid!) * 0.2);
    const kernelSum = workers.reduce((sum, pid) => sum + rssOf(pid), 0);
    expect(summed).to.be.closeTo(kernelSum, kernelSum * 0.2);
    for (const role of ['primary', 'worker']) {
      const young = metrics.get(`portcullis_process_heap_used_bytes{process="${role}",generation="young"}`);
      const old = metrics.get(`portcullis_process_heap_used_bytes{process="${role}",generation="old"}`);
      // A Node process holds a few MiB of old-generation objects (its own modules and ours) at least.
      expect(old, role).to.be.greaterThan(2 * 1024 * 1024);
      expect(young, role).to.be.at.least(0);
      expect(old! + young!, role).to.be.lessThan(metrics.get(`portcullis_process_resident_memory_bytes{process="${role}"}`)!);
    }
  });

  it('a bind failure on the workers rolls every worker back (409) and v1 keeps serving', async () => {
    const blocker = net.createServer();
    const blockedPort = await freePort(address);
    await new Promise<void>((resolve) => blocker.listen(blockedPort, address, () => resolve()));
    try {
      const answer = await proxy.put(config('v2', [...v1().listeners, listener('blocked', address, blockedPort, 'HTTP', [plainBlock('plain', 'HTTP')])]));
      expect(answer.status, JSON.stringify(answer.body)).to.equal(409);
      expect(appliedBy('v2')).to.have.length(0);
      expect(await sendRequests(4)).to.deep.equal(Array(4).fill('200 Running on Pod echo-1.\n'));
    } finally {
      blocker.close();
    }
  });

  it('a worker that dies is replaced and gets the serving config', async () => {
    const [victim] = appliedBy('v1');
    process.kill(victim!, 'SIGKILL');
    const replacement = await waitFor(
      'a new worker to apply v1',
      () => appliedBy('v1').find((pid) => pid !== victim && !appliedBy('v1').slice(0, 2).includes(pid)),
      8_000,
    );
    expect(replacement).to.be.a('number');
    expect(await sendRequests(10)).to.deep.equal(Array(10).fill('200 Running on Pod echo-1.\n'));
    expect((await proxy.metrics()).get('portcullis_workers')).to.equal(2);
  });

  it('a later PUT sends the workers only what changed (also the replacement): each carries the unchanged listener over and serves the new one', async () => {
    const plainPort = await freePort(address);
    const plain = listener('plain', address, plainPort, 'HTTP', [plainBlock('plain', 'HTTP')], { httpRoutes: [httpRoute('plain', 'plain', [], [rule({ backends: [httpBackend('echo', [echo])] })])] });
    const answer = await proxy.put(config('v3', [...v1().listeners, plain]));
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const applied = proxy.logs.filter((line) => line.msg === 'configuration applied' && line['version'] === 'v3');
    expect(applied.map((line) => line['reused'])).to.deep.equal([{ listeners: 1, rulePlans: 0, compiledRulePlans: 1 }, { listeners: 1, rulePlans: 0, compiledRulePlans: 1 }]);
    expect(new Set(applied.map((line) => line['pid'])).size).to.equal(2);
    const plainAnswers: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await request(`http://${address}:${plainPort}/`, { reset: true });
      plainAnswers.push(`${response.statusCode} ${await response.body.text()}`);
    }
    expect(plainAnswers).to.deep.equal(Array(10).fill('200 Running on Pod echo-1.\n'));
    expect(await sendRequests(6)).to.deep.equal(Array(6).fill('200 Running on Pod echo-1.\n'));
  });
});
