// The controller's /healthz, /readyz and /metrics (--metrics-address) against the real API
// server and proxy: what it reports must be what happened (a route programmed moves its
// counters, and the version it names is the one the proxy serves), and what it cannot do
// (an API server that does not answer, a proxy it cannot reach, a port taken) shows.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { request } from 'undici';
import { controllerName } from '../../src/controller/gatewayapi-types.js';
import { SuiteContext } from '../../src/harness/context.js';
import { awaitConvergence, defaultTimeouts } from '../../src/harness/timeouts.js';
import { parsePrometheus } from '../../src/lib/metrics.js';
import { distEntry } from '../../src/lib/paths.js';
import { freePort } from '../../src/lib/process.js';
import { clusterStartTimeoutMs, sharedCluster, testHome } from '../support/shared-cluster.js';
import { echoWorkload } from './echo-workload.js';
import { ownClasses, startController, stop, type Spawned } from './spawned-controllers.js';

const group = 'gateway.networking.k8s.io';

async function get(url: string, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; text: string }> {
  const response = await request(url, { method, headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: response.statusCode, text: await response.body.text() };
}

async function metrics(base: string): Promise<Map<string, number>> {
  const answer = await get(`${base}/metrics`);
  expect(answer.status).to.equal(200);
  return parsePrometheus(answer.text);
}

/** The label value of the one sample of `family`, e.g. the version of an _info gauge. */
function onlyLabel(samples: Map<string, number>, family: string): string | undefined {
  const keys = [...samples.keys()].filter((key) => key.startsWith(`${family}{`));
  expect(keys, family).to.have.length(1);
  return /="([^"]*)"/.exec(keys[0]!)?.[1];
}

describe('controller: /healthz, /readyz and /metrics', function () {
  this.timeout(clusterStartTimeoutMs);
  let kubeconfigPath: string;
  let base: string;
  let proxyAdmin: string;
  let ctx: SuiteContext;
  const spawned: Spawned[] = [];

  before(async function () {
    const cluster = await sharedCluster();
    kubeconfigPath = cluster.kubeconfigPath;
    base = `http://127.0.0.1:${cluster.config.controllerMetricsPort}`;
    proxyAdmin = `http://127.0.0.1:${cluster.config.proxyAdminPort}`;
    ctx = new SuiteContext(cluster.kubeConfig(), `controller-health-${randomBytes(3).toString('hex')}`, { gatewayClass: 'portcullis', ingressClass: 'portcullis', controllerName }, defaultTimeouts, '.');
    await ctx.createNamespace();
    await ctx.applyObjects(echoWorkload('echo'));
  });

  after(async function () {
    await Promise.all(spawned.map((s) => stop(s)));
    await ctx?.deleteNamespace();
  });

  it('the cluster\'s controller is alive and ready, and a route it programs moves its counters to the version the proxy serves', async function () {
    expect(await get(`${base}/healthz`)).to.deep.include({ status: 200 });
    const ready = await get(`${base}/readyz`);
    expect(ready.status).to.equal(200);
    expect(JSON.parse(ready.text)).to.deep.equal({ status: 'ready', proxyProgrammed: true });

    const before = await metrics(base);
    await ctx.applyObjects([
      { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'counted' }, spec: { gatewayClassName: 'portcullis', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } } as KubernetesObject,
      { apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'counted' }, spec: { parentRefs: [{ name: 'counted' }], hostnames: ['counted.example.com'], rules: [{ backendRefs: [{ name: 'echo', port: 1027 }] }] } } as KubernetesObject,
    ]);
    await ctx.podsReady('app=echo', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('counted', 'HTTPRoute', 'counted');
    await awaitConvergence('the route served', ctx.timeouts, async () => {
      const response = await request(`http://${address}/`, { headers: { host: 'counted.example.com' }, headersTimeout: 5000, bodyTimeout: 5000 });
      expect(response.statusCode).to.equal(200);
      await response.body.dump();
    });

    const after = await metrics(base);
    const grew = (sample: string) => expect(after.get(sample) ?? 0, sample).to.be.greaterThan(before.get(sample) ?? 0);
    grew('portcullis_controller_programs_total{result="applied"}');
    grew('portcullis_controller_passes_total{kind="translate"}');
    for (const phase of ['wait', 'translate', 'serialize', 'program']) grew(`portcullis_controller_program_phase_seconds_total{phase="${phase}"}`);
    expect(after.get('portcullis_controller_last_program_phase_seconds{phase="program"}')).to.be.greaterThan(0);
    expect(after.get('portcullis_controller_proxy_programmed')).to.equal(1);
    expect(after.get('portcullis_controller_writes_status'), 'the only replica writes status').to.equal(1);
    expect(after.get('portcullis_controller_watched_objects{kind="HTTPRoute"}')).to.be.at.least(1);
    expect(after.get('portcullis_controller_watched_objects{kind="Gateway"}')).to.be.at.least(1);
    expect(after.get('portcullis_controller_resident_memory_bytes')).to.be.greaterThan(20 * 2 ** 20);
    expect(after.get('portcullis_controller_heap_used_bytes{generation="old"}')).to.be.greaterThan(0);
    // Later passes may program again meanwhile: compare until both sides agree.
    await awaitConvergence('the controller names the version the proxy serves', ctx.timeouts, async () => {
      const serving = JSON.parse((await get(`${proxyAdmin}/readyz`)).text) as { version: string };
      expect(onlyLabel(await metrics(base), 'portcullis_controller_proxy_config_version_info')).to.equal(serving.version);
    });
  });

  it('answers 404 naming its routes, and 405 naming the methods', async function () {
    const missing = await get(`${base}/config`);
    expect(missing.status).to.equal(404);
    expect(JSON.parse(missing.text).message).to.equal('no route /config; routes: /healthz, /readyz, /metrics');
    const wrong = await get(`${base}/metrics`, 'POST');
    expect(wrong.status).to.equal(405);
    expect(JSON.parse(wrong.text).message).to.equal('/metrics accepts GET');
  });

  it('is alive but not ready while the API server does not answer, and says why', async function () {
    // Accepts connections and never answers: the controller's first list waits.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const kubeconfig = join(testHome, `silent-${port}.kubeconfig`);
    try {
      writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: silent, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: nobody, user: {token: none}}]
contexts: [{name: silent, context: {cluster: silent, user: nobody}}]
current-context: silent
`);
      const controller = await startController(kubeconfig, 'http://127.0.0.1:1', ownClasses(`silent-${port}`).args, { untilStarted: false });
      spawned.push(controller);
      expect((await get(`${controller.metricsUrl}/healthz`)).status).to.equal(200);
      const ready = await get(`${controller.metricsUrl}/readyz`);
      expect(ready.status).to.equal(503);
      expect(JSON.parse(ready.text)).to.deep.equal({ status: 'not-ready', reason: 'the caches have not listed every watched kind yet', proxyProgrammed: false });
      expect((await metrics(controller.metricsUrl)).get('portcullis_controller_passes_total{kind="translate"}') ?? 0, 'no pass before the caches list').to.equal(0);
    } finally {
      silent.close();
      rmSync(kubeconfig, { force: true });
    }
  });

  it('counts the programs a proxy it cannot reach refused, and says so in /readyz', async function () {
    const unreachable = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const controller = await startController(kubeconfigPath, unreachable, ownClasses(`unreachable-${randomBytes(3).toString('hex')}`).args);
    spawned.push(controller);
    await awaitConvergence('an unreachable proxy counted', ctx.timeouts, async () => {
      const samples = await metrics(controller.metricsUrl);
      expect(samples.get('portcullis_controller_programs_total{result="unreachable"}') ?? 0).to.be.at.least(1);
      expect(samples.get('portcullis_controller_proxy_programmed')).to.equal(0);
    });
    const ready = await get(`${controller.metricsUrl}/readyz`);
    expect(ready.status, 'ready: it knows the cluster; the proxy has readiness of its own').to.equal(200);
    expect(JSON.parse(ready.text)).to.deep.equal({ status: 'ready', proxyProgrammed: false });
  });

  it('exits with one line naming --metrics-address when its port is taken', async function () {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const child = spawn(process.execPath, [distEntry('src/controller/main.js'), `--kubeconfig=${kubeconfigPath}`, `--metrics-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).to.equal(1);
      const line = stderr.split('\n').find((l) => l.includes('could not start'));
      expect(JSON.parse(line!).err).to.equal(`could not listen on 127.0.0.1:${port} for /healthz, /readyz and /metrics (EADDRINUSE): choose another address with --metrics-address HOST:PORT, or --metrics-address off`);
    } finally {
      taken.close();
    }
  });
});
