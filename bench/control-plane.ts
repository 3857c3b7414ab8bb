// Measurement 5 (issue 7): the control plane on the local provider. With 10, 100 and
// 1,000 HTTPRoutes already programmed on one Gateway, how long from applying one more
// route (and from changing the listener's certificate Secret) until the first request
// that sees the change succeeds — p50 and p99 over several probes. Also: translate time,
// controller and proxy RSS per 1,000 routes and per 1,000 certificates (in the cluster,
// 1,000 Ingress hosts each with its own TLS Secret; and in a bare proxy, 1,000 server
// blocks with their own certificates against the same blocks sharing one).
//
// The cluster lives in a temporary PORTCULLIS_HOME and is deleted at the end.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { KubernetesObject } from '@kubernetes/client-node';
import { controllerName, ingressClassName, type Gateway } from '../src/controller/gatewayapi-types.js';
import { programPhases, type ProgramPhase } from '../src/controller/metrics.js';
import { applyPhases, type ApplyPhase } from '../src/proxy/metrics.js';
import { SuiteContext } from '../src/harness/context.js';
import { defaultTimeouts } from '../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../src/lib/certs.js';
import { onInterrupt } from '../src/lib/interrupt.js';
import { parsePrometheus } from '../src/lib/metrics.js';
import { packageRoot } from '../src/lib/paths.js';
import { measureProxyConfigApply } from './proxy-config-apply.js';
import { liveHeapBytes } from './lib/live-heap.js';
import { median, percentile, processTree, rssBytes } from './lib/system.js';
import type { Row } from './report.js';
import { measureTranslate } from './translate.js';

export interface ControlPlaneResult {
  rows: Row[];
  skipped: string[];
  markdown: string;
}

export interface ControlPlaneOptions {
  routeCounts: readonly number[];
  /** Probes per change kind and route count. */
  probes: number;
  log: (line: string) => void;
}

const NAMESPACE = 'bench';
const PROBE_TIMEOUT_MS = 120_000;
const DOMAIN = 'bench.test';
const MiB = 2 ** 20;

/** GET http://address/ with this Host on a new connection; the status, or 0 on a connection error. */
function probeHttp(address: string, host: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: address, port: 80, path: '/', headers: { host }, agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** The serial number of the certificate served for this SNI on address:443, or '' on failure. */
function probeServedSerial(address: string, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: address, port: 443, servername, rejectUnauthorized: false, timeout: 2_000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber ?? '';
      socket.destroy();
      resolve(serial.toUpperCase());
    });
    socket.on('timeout', () => socket.destroy());
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(''));
  });
}

/** Polls `check` every 2 ms until it is true; milliseconds since `startedAt`, or Infinity after `timeoutMs`. */
async function until(startedAt: number, check: () => Promise<boolean>, timeoutMs = PROBE_TIMEOUT_MS): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - startedAt;
    if (performance.now() - startedAt > timeoutMs) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Like until(), for set-up steps that must succeed. */
async function mustReach(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const ms = await until(performance.now(), check, timeoutMs);
  if (!Number.isFinite(ms)) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s`);
  return ms;
}

/** Gateway status: routes attached to the listener, i.e. the controller has written status for the last change. */
async function attachedRoutes(ctx: SuiteContext, listener: string): Promise<number> {
  const gateway = await ctx.getCustom<Gateway>('Gateway', 'bench').catch(() => undefined);
  return gateway?.status?.listeners?.find((l) => l.name === listener)?.attachedRoutes ?? -1;
}

/** In the form getPeerCertificate().serialNumber has. */
function serialOf(material: KeyMaterial): string {
  return new X509Certificate(material.certPem).serialNumber.toUpperCase();
}

function httpRoute(name: string, host: string): KubernetesObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name },
    spec: { parentRefs: [{ name: 'bench', sectionName: 'http' }], hostnames: [host], rules: [{ backendRefs: [{ name: 'echo', port: 1027 }] }] },
  } as KubernetesObject;
}

function tlsSecret(name: string, material: KeyMaterial): KubernetesObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': material.certPem, 'tls.key': material.keyPem } } as KubernetesObject;
}

/** Applies objects `concurrency` at a time (one server-side apply each, as `kubectl apply` does). */
async function applyMany(ctx: SuiteContext, objects: KubernetesObject[], concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < objects.length) {
      const object = objects[next++]!;
      await ctx.applyObjects([object]);
    }
  }));
}

/** Pids of the cluster's controller and proxy (the proxy with its workers), found by their command lines. */
function componentPids(proxyAdminPort: number): { controller: number[]; proxy: number[] } {
  const matches = { controller: new Map<number, number>(), proxy: new Map<number, number>() };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline = '';
    let ppid = 0;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
    } catch {
      continue;
    }
    if (cmdline.includes('src/controller/main.js') && cmdline.includes(`--proxy-admin=http://127.0.0.1:${proxyAdminPort}`)) matches.controller.set(Number(entry), ppid);
    if (cmdline.includes('src/proxy/main.js') && cmdline.includes(`127.0.0.1:${proxyAdminPort}`)) matches.proxy.set(Number(entry), ppid);
  }
  // node:cluster workers share the primary's command line: start from the one whose parent is not a match.
  const tree = (found: Map<number, number>) => {
    const root = [...found].find(([, ppid]) => !found.has(ppid));
    return root ? processTree(root[0]) : [];
  };
  return { controller: tree(matches.controller), proxy: tree(matches.proxy) };
}

type Phase = ProgramPhase | `proxy ${ApplyPhase}`;

/** Both sides' own account of the configurations applied: how many, and seconds per phase summed over them. */
export interface PhaseTotals {
  programs: number;
  applies: number;
  seconds: Record<Phase, number>;
}

async function metricsOf(url: string): Promise<Map<string, number>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return parsePrometheus(await response.text());
}

/** The controller's phases (src/controller/metrics.ts) and, within its "program", the proxy's (src/proxy/metrics.ts). */
async function phaseTotals(controllerMetricsUrl: string, proxyMetricsUrl: string): Promise<PhaseTotals> {
  const [controller, proxy] = await Promise.all([metricsOf(controllerMetricsUrl), metricsOf(proxyMetricsUrl)]);
  const seconds = {} as Record<Phase, number>;
  for (const phase of programPhases) seconds[phase] = controller.get(`portcullis_controller_program_phase_seconds_total{phase="${phase}"}`) ?? 0;
  for (const phase of applyPhases) seconds[`proxy ${phase}`] = proxy.get(`portcullis_config_apply_phase_seconds_total{phase="${phase}"}`) ?? 0;
  return { programs: controller.get('portcullis_controller_programs_total{result="applied"}') ?? 0, applies: proxy.get('portcullis_config_applies_total') ?? 0, seconds };
}

/** Where the programs between two readings spent their time: the mean milliseconds per phase. */
export interface PhaseMeans {
  programs: number;
  ms: Record<Phase, number>;
}

const phases: readonly Phase[] = [...programPhases, ...applyPhases.map((phase) => `proxy ${phase}` as const)];

function phaseMeans(before: PhaseTotals, after: PhaseTotals): PhaseMeans | undefined {
  const programs = after.programs - before.programs;
  // Every program is one apply; anything else (a second programmer) would mix the two.
  if (programs <= 0 || after.applies - before.applies !== programs) return undefined;
  const ms = {} as Record<Phase, number>;
  for (const phase of phases) ms[phase] = ((after.seconds[phase] - before.seconds[phase]) * 1000) / programs;
  return { programs, ms };
}

/** How long the probes' phases are read again while the controller has not counted the proxy's last apply. */
const PHASES_SETTLE_MS = 5_000;

/**
 * The phases of the programs since `before`, read once the two sides agree on how many
 * there were. The proxy counts an apply before it answers the PUT, and the last probe is
 * served from that moment; the controller counts the program only when the answer reaches
 * it. Read at once, the last program is often the proxy's and not yet the controller's
 * (with 1,000 routes the answer takes longest): so read again until they agree.
 */
export async function phasesSince(before: PhaseTotals, read: () => Promise<PhaseTotals>, log: (line: string) => void, settleMs = PHASES_SETTLE_MS): Promise<PhaseMeans | undefined> {
  const deadline = performance.now() + settleMs;
  for (;;) {
    const after = await read();
    const means = phaseMeans(before, after);
    if (means || performance.now() >= deadline) {
      if (!means) log(`the controller counted ${after.programs - before.programs} programs and the proxy ${after.applies - before.applies} applies: the phases cannot be split`);
      return means;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** How long after a burst of configuration passes RSS is read. */
const SETTLE_MS = 40_000;
const SETTLE_SAMPLE_MS = 2_000;

/**
 * RSS of the controller and the proxy once a burst of work has settled: the lowest of the
 * readings taken every 2 s for SETTLE_MS. V8 gives a burst's garbage back to the system only
 * once allocation has calmed down, and not on a schedule: a bare proxy (2 workers) pushed 30
 * growing configurations up to 1,000 certificates held 181 MiB more than empty for 20 s, then
 * 98 MiB from 30 s on; after 180 pushes its tree read 116+150+158 MiB 40 s after one burst and
 * 114+90+90 after the next, identical, one. A single reading measured when the garbage went.
 */
async function settledRss(pids: Pids): Promise<{ controller: number; proxy: number }> {
  let controller = Number.POSITIVE_INFINITY;
  let proxy = Number.POSITIVE_INFINITY;
  for (let waited = 0; waited < SETTLE_MS; waited += SETTLE_SAMPLE_MS) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_SAMPLE_MS));
    controller = Math.min(controller, rssOf(pids.controller));
    proxy = Math.min(proxy, rssOf(pids.proxy));
  }
  return { controller, proxy };
}

type Pids = { controller: readonly number[]; proxy: readonly number[] };

/**
 * What the controller and the proxy hold in JavaScript: the live heap of every process
 * after a full collection (bench/lib/live-heap.ts), undefined if an inspector could not be
 * reached. The collection also shrinks their heaps, so a tier is measured after its
 * latency probes, never just before them.
 */
async function liveHeaps(pids: Pids, log: (line: string) => void): Promise<{ controllerHeap: number | undefined; proxyHeap: number | undefined }> {
  return { controllerHeap: await liveHeapOf(pids.controller, log), proxyHeap: await liveHeapOf(pids.proxy, log) };
}

async function settledMemory(pids: Pids, log: (line: string) => void): Promise<{ controller: number; proxy: number; controllerHeap: number | undefined; proxyHeap: number | undefined }> {
  return { ...(await settledRss(pids)), ...(await liveHeaps(pids, log)) };
}

async function liveHeapOf(pids: readonly number[], log: (line: string) => void): Promise<number | undefined> {
  let sum = 0;
  try {
    for (const pid of pids) sum += await liveHeapBytes(pid);
    return sum;
  } catch (error) {
    log(`live heap not measured: ${(error as Error).message}`);
    return undefined;
  }
}

function difference(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? 'not measured' : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** MiB per 1,000 of something, from the bytes `count` of them added. */
function perThousand(bytes: number, count: number): number {
  return ((bytes / count) * 1000) / MiB;
}

function heapRow(id: string, measurement: string, bytes: number | undefined, count: number): Row {
  return { id, measurement, unit: 'MiB', better: 'lower', values: bytes === undefined ? {} : { Portcullis: perThousand(bytes, count) }, note: bytes === undefined ? 'not measured: see the log' : undefined };
}

function rssOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (() => {
    try {
      return rssBytes(pid);
    } catch {
      return 0;
    }
  })(), 0);
}

interface Tier {
  routes: number;
  programMs: number;
  probes: number;
  routeApply: number[];
  secretChange: number[];
  controllerRss: number;
  proxyRss: number;
  controllerHeap: number | undefined;
  proxyHeap: number | undefined;
  /** Where the probes' programs spent their time, as the controller and the proxy count it; undefined if that is not known. */
  phases: PhaseMeans | undefined;
}

function phaseRow(tier: Tier): string {
  const probes = [...tier.routeApply, ...tier.secretChange].filter(Number.isFinite);
  const mean = probes.reduce((sum, ms) => sum + ms, 0) / probes.length;
  if (!tier.phases) return `| ${tier.routes} | not known: see the log | | | | | | | | ${mean.toFixed(0)} ms |`;
  const { programs, ms } = tier.phases;
  const all = programPhases.reduce((sum, phase) => sum + ms[phase], 0);
  return `| ${tier.routes} | ${programs} | ${phases.map((phase) => `${ms[phase].toFixed(1)} ms`).join(' | ')} | ${all.toFixed(0)} ms | ${mean.toFixed(0)} ms |`;
}

export async function runControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneResult> {
  const { log } = options;
  const skipped: string[] = [];
  if (process.getuid?.() !== 0) {
    return { rows: [], skipped: ['5. control plane: the local provider needs root (network namespaces)'], markdown: '' };
  }

  const rows: Row[] = [];
  const lines: string[] = [];
  // Translate time, pure (no cluster): bench/translate.ts.
  for (const routes of options.routeCounts) {
    const t = await measureTranslate(routes, 20);
    log(`translate ${routes} routes: median ${t.medianMs.toFixed(1)} ms, p90 ${t.p90Ms.toFixed(1)} ms`);
    rows.push({ id: `translate-${routes}`, measurement: `5. translate time, ${routes} HTTPRoutes × 3 rules (median of 20)`, unit: 'ms', better: 'lower', values: { Portcullis: t.medianMs } });
  }

  // A bare proxy: memory per 1,000 certificates and the PUT /config time, bench/proxy-config-apply.ts.
  const blocks = Math.max(...options.routeCounts);
  const shared = await measureProxyConfigApply(blocks, false);
  const distinct = await measureProxyConfigApply(blocks, true);
  const perThousandCerts = perThousand(distinct.rssBytes - shared.rssBytes, blocks);
  log(`bare proxy, ${blocks} blocks: RSS ${(shared.rssBytes / MiB).toFixed(0)} MiB with one certificate, ${(distinct.rssBytes / MiB).toFixed(0)} MiB with ${blocks}; PUT ${distinct.firstMs.toFixed(0)} ms (new certificates), ${distinct.cachedMs.toFixed(0)} ms (cached)`);
  rows.push({ id: 'proxy-put-certs', measurement: `5. proxy PUT /config, ${blocks} HTTPS blocks with their own new certificates`, unit: 'ms', better: 'lower', values: { Portcullis: distinct.firstMs } });
  rows.push({ id: 'proxy-rss-certs', measurement: '5. proxy RSS per 1,000 certificates (bare proxy, one worker)', unit: 'MiB', better: 'lower', values: { Portcullis: perThousandCerts } });

  const home = mkdtempSync(join(tmpdir(), 'portcullis-bench-cluster-'));
  const previousHome = process.env.PORTCULLIS_HOME;
  process.env.PORTCULLIS_HOME = home;
  const { deleteLocalCluster, startLocalCluster } = await import('../src/cluster/local/provider.js');
  const clusterStarted = performance.now();
  // Interrupted while it starts (the first run builds the control plane for minutes): nothing
  // has the cluster yet to tear it down, so delete it by name, and the folder with it.
  const forgetStarting = onInterrupt(async () => {
    await deleteLocalCluster('bench');
    rmSync(home, { recursive: true, force: true });
  });
  const cluster = await startLocalCluster({ name: 'bench', apiPort: 0, progress: (line) => log(`cluster: ${line}`) }).finally(forgetStarting);
  log(`local cluster up in ${((performance.now() - clusterStarted) / 1000).toFixed(1)} s`);
  const forgetCluster = onInterrupt(async () => {
    await cluster.down();
    rmSync(home, { recursive: true, force: true });
  });
  const tiers: Tier[] = [];
  try {
    const ctx = new SuiteContext(cluster.kubeConfig(), NAMESPACE, { gatewayClass: 'portcullis', ingressClass: ingressClassName, controllerName }, defaultTimeouts, join(packageRoot, 'manifests', 'scenarios'));
    await ctx.createNamespace();
    await ctx.applyFile('echo.yaml');
    await ctx.podsReady('app=echo', 1);
    const ca: CertificateAuthority = await createCertificateAuthority('bench control-plane CA');
    const issue = (host: string) => issueCertificate(ca, { commonName: host, dnsNames: [host], algorithm: 'ecdsa-p256' });
    await ctx.applyObjects([tlsSecret('listener-cert', await issue(`secret.${DOMAIN}`))]);
    await ctx.applyObjects([{
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'bench' },
      spec: { gatewayClassName: 'portcullis', listeners: [
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'https', port: 443, protocol: 'HTTPS', hostname: `secret.${DOMAIN}`, tls: { certificateRefs: [{ name: 'listener-cert' }] } },
      ] },
    } as KubernetesObject]);
    const address = await ctx.gatewayAddress('bench');
    const pids = componentPids(cluster.config.proxyAdminPort);
    const controllerMetricsUrl = `http://127.0.0.1:${cluster.config.controllerMetricsPort}/metrics`;
    const proxyMetricsUrl = `http://127.0.0.1:${cluster.config.proxyAdminPort}/metrics`;
    log(`gateway at ${address}; controller pids ${pids.controller.join(',')}, proxy pids ${pids.proxy.join(',')}`);
    await ctx.applyObjects([httpRoute('route-0', `r-0.${DOMAIN}`)]);
    await mustReach('the first route served', async () => (await probeHttp(address, `r-0.${DOMAIN}`)) === 200, 120_000);
    const baseline = await settledMemory(pids, log);

    let programmed = 1;
    for (const target of [...options.routeCounts].sort((a, b) => a - b)) {
      const started = performance.now();
      const batch = Array.from({ length: target - programmed }, (_, i) => httpRoute(`route-${programmed + i}`, `r-${programmed + i}.${DOMAIN}`));
      await applyMany(ctx, batch);
      programmed = target;
      await mustReach(`route ${target - 1} served`, async () => (await probeHttp(address, `r-${target - 1}.${DOMAIN}`)) === 200, 600_000);
      const programMs = performance.now() - started;
      // Steady state before probing: the controller has caught up (status written for every route).
      await mustReach(`${target} routes attached in the Gateway status`, async () => (await attachedRoutes(ctx, 'http')) >= target + tiers.reduce((sum, t) => sum + t.probes, 0), 900_000);
      const rss = await settledRss(pids);
      const { probes } = options;
      const tier: Tier = { routes: target, programMs, probes, routeApply: [], secretChange: [], controllerRss: rss.controller, proxyRss: rss.proxy, controllerHeap: undefined, proxyHeap: undefined, phases: undefined };
      log(`${target} routes programmed in ${(programMs / 1000).toFixed(1)} s; RSS controller ${(tier.controllerRss / MiB).toFixed(0)} MiB, proxy ${(tier.proxyRss / MiB).toFixed(0)} MiB`);
      const totalsBefore = await phaseTotals(controllerMetricsUrl, proxyMetricsUrl).catch((error: unknown) => log(`metrics not read: ${(error as Error).message}`));
      for (let probe = 0; probe < probes; probe++) {
        const name = `probe-${target}-${probe}`;
        const host = `p-${target}-${probe}.${DOMAIN}`;
        const applied = performance.now();
        await ctx.applyObjects([httpRoute(name, host)]);
        tier.routeApply.push(await until(applied, async () => (await probeHttp(address, host)) === 200));
        const material = await issue(`secret.${DOMAIN}`);
        const serial = serialOf(material);
        const changed = performance.now();
        await ctx.applyObjects([tlsSecret('listener-cert', material)]);
        tier.secretChange.push(await until(changed, async () => (await probeServedSerial(address, `secret.${DOMAIN}`)) === serial));
      }
      log(`${target} routes: route apply → served p50 ${median(tier.routeApply).toFixed(0)} ms p99 ${percentile(tier.routeApply, 0.99).toFixed(0)} ms; Secret change → served p50 ${median(tier.secretChange).toFixed(0)} ms p99 ${percentile(tier.secretChange, 0.99).toFixed(0)} ms`);
      tier.phases = totalsBefore
        ? await phasesSince(totalsBefore, () => phaseTotals(controllerMetricsUrl, proxyMetricsUrl), log).catch((error: unknown) => void log(`metrics not read: ${(error as Error).message}`))
        : undefined;
      if (tier.phases) log(`${target} routes: the probes' ${tier.phases.programs} programs, mean per phase: ${phases.map((phase) => `${phase} ${tier.phases!.ms[phase].toFixed(1)} ms`).join(', ')}`);
      else log(`${target} routes: where the probes' time went is not known (the metrics could not be read, or the proxy applied other configurations meanwhile)`);
      Object.assign(tier, await liveHeaps(pids, log));
      log(`${target} routes and the probe routes so far: live heap controller ${mib(tier.controllerHeap)}, proxy ${mib(tier.proxyHeap)}`);
      tiers.push(tier);
    }

    // Certificates: Ingress hosts, each with its own TLS Secret, as many as the largest route tier.
    const certificates = blocks;
    const secrets = await Promise.all(Array.from({ length: certificates }, (_, i) => issue(`c-${i}.${DOMAIN}`)));
    // The live heap as the largest tier left it (nothing changed since); a collection now would
    // come just before the timed applies.
    const lastTier = tiers[tiers.length - 1];
    const before = { ...(await settledRss(pids)), controllerHeap: lastTier?.controllerHeap, proxyHeap: lastTier?.proxyHeap };
    const started = performance.now();
    let appliedMs = 0;
    const applying = applyMany(ctx, secrets.flatMap((material, i) => [
      tlsSecret(`cert-${i}`, material),
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: `ingress-${i}` }, spec: { ingressClassName: 'portcullis', tls: [{ hosts: [`c-${i}.${DOMAIN}`], secretName: `cert-${i}` }], rules: [{ host: `c-${i}.${DOMAIN}`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'echo', port: { number: 1027 } } } }] } }] } } as KubernetesObject,
    ])).then(() => (appliedMs = performance.now() - started));
    const lastSerial = serialOf(secrets[certificates - 1]!);
    // Every Ingress of the class publishes the same address: the first one's tells where to probe.
    const ingressAddress = await ctx.ingressAddress('ingress-0');
    await mustReach(`Ingress certificate ${certificates - 1} served`, async () => (await probeServedSerial(ingressAddress, `c-${certificates - 1}.${DOMAIN}`)) === lastSerial, 900_000);
    const certificatesMs = performance.now() - started;
    await applying;
    // The status of every Ingress, written after the proxy serves them: the last one applied is the last one written.
    await ctx.ingressAddress(`ingress-${certificates - 1}`);
    const statusesMs = performance.now() - started;
    const after = await settledMemory(pids, log);
    log(`${certificates} Ingress hosts with their own certificates: applied in ${(appliedMs / 1000).toFixed(1)} s, served in ${(certificatesMs / 1000).toFixed(1)} s, every status written in ${(statusesMs / 1000).toFixed(1)} s; RSS controller +${((after.controller - before.controller) / MiB).toFixed(0)} MiB, proxy +${((after.proxy - before.proxy) / MiB).toFixed(0)} MiB; live heap controller +${mib(difference(after.controllerHeap, before.controllerHeap))}, proxy +${mib(difference(after.proxyHeap, before.proxyHeap))}`);

    const largest = tiers[tiers.length - 1]!;
    const timeouts = (samples: number[]) => {
      const count = samples.filter((ms) => !Number.isFinite(ms)).length;
      return count > 0 ? `${count} of ${samples.length} not served within ${PROBE_TIMEOUT_MS / 1000} s` : undefined;
    };
    for (const tier of tiers) {
      rows.push({ id: `route-apply-${tier.routes}`, measurement: `5. HTTPRoute applied → first 200, ${tier.routes} routes programmed: p50`, unit: 'ms', better: 'lower', values: { Portcullis: median(tier.routeApply) } });
      rows.push({ id: `route-apply-p99-${tier.routes}`, measurement: `5. HTTPRoute applied → first 200, ${tier.routes} routes programmed: p99 (${tier.probes} probes)`, unit: 'ms', better: 'lower', values: { Portcullis: percentile(tier.routeApply, 0.99) }, note: timeouts(tier.routeApply) });
      rows.push({ id: `secret-change-${tier.routes}`, measurement: `5. Secret changed → new certificate served, ${tier.routes} routes programmed: p50`, unit: 'ms', better: 'lower', values: { Portcullis: median(tier.secretChange) } });
      rows.push({ id: `secret-change-p99-${tier.routes}`, measurement: `5. Secret changed → new certificate served, ${tier.routes} routes programmed: p99 (${tier.probes} probes)`, unit: 'ms', better: 'lower', values: { Portcullis: percentile(tier.secretChange, 0.99) }, note: timeouts(tier.secretChange) });
    }
    // The largest tier's RSS was read with the smaller tiers' probe routes in place too, its
    // live heap after its own probes as well.
    const routesAtLargest = largest.routes + tiers.slice(0, -1).reduce((sum, t) => sum + t.probes, 0);
    const routesAtLargestHeap = routesAtLargest + largest.probes;
    rows.push({ id: 'controller-rss-routes', measurement: `5. controller RSS per 1,000 HTTPRoutes (from 1 to ${routesAtLargest})`, unit: 'MiB', better: 'lower', values: { Portcullis: perThousand(largest.controllerRss - baseline.controller, routesAtLargest - 1) } });
    rows.push({ id: 'proxy-rss-routes', measurement: `5. proxy RSS per 1,000 HTTPRoutes (from 1 to ${routesAtLargest}; primary + workers)`, unit: 'MiB', better: 'lower', values: { Portcullis: perThousand(largest.proxyRss - baseline.proxy, routesAtLargest - 1) } });
    rows.push(heapRow('controller-heap-routes', `5. controller live JS heap per 1,000 HTTPRoutes (from 1 to ${routesAtLargestHeap})`, difference(largest.controllerHeap, baseline.controllerHeap), routesAtLargestHeap - 1));
    rows.push(heapRow('proxy-heap-routes', `5. proxy live JS heap per 1,000 HTTPRoutes (from 1 to ${routesAtLargestHeap}; primary + workers)`, difference(largest.proxyHeap, baseline.proxyHeap), routesAtLargestHeap - 1));
    rows.push({ id: 'certs-served', measurement: `5. ${certificates} Ingress hosts with own TLS Secret, applied 16 at a time: first apply → last certificate served, seconds`, unit: 's', better: 'lower', values: { Portcullis: certificatesMs / 1000 }, note: `applying them took ${(appliedMs / 1000).toFixed(1)} s` });
    rows.push({ id: 'certs-status', measurement: `5. the same: first apply → every Ingress status written, seconds`, unit: 's', better: 'lower', values: { Portcullis: statusesMs / 1000 } });
    rows.push({ id: 'controller-rss-certs', measurement: `5. controller RSS per 1,000 Ingress hosts with own TLS Secret (${certificates} added)`, unit: 'MiB', better: 'lower', values: { Portcullis: perThousand(after.controller - before.controller, certificates) } });
    rows.push({ id: 'proxy-rss-certs-cluster', measurement: `5. proxy RSS per 1,000 Ingress hosts with own TLS Secret (${certificates} added; primary + workers)`, unit: 'MiB', better: 'lower', values: { Portcullis: perThousand(after.proxy - before.proxy, certificates) } });
    rows.push(heapRow('controller-heap-certs', `5. controller live JS heap per 1,000 Ingress hosts with own TLS Secret (${certificates} added)`, difference(after.controllerHeap, before.controllerHeap), certificates));
    rows.push(heapRow('proxy-heap-certs-cluster', `5. proxy live JS heap per 1,000 Ingress hosts with own TLS Secret (${certificates} added; primary + workers)`, difference(after.proxyHeap, before.proxyHeap), certificates));

    lines.push(`## Control plane (measurement 5): how

- A local cluster (\`startLocalCluster\`, src/cluster/local/provider.ts) in a temporary PORTCULLIS_HOME; the
  controller and the proxy run as the provider starts them (the proxy with its default worker count).
  One Gateway with an HTTP listener (port 80) and an HTTPS listener (port 443, \`secret.${DOMAIN}\`, certificate
  from the Secret \`listener-cert\`); every HTTPRoute has its own hostname and sends to the echo Deployment.
- Routes are applied 16 at a time (server-side apply, what \`kubectl apply --server-side\` sends) until ${options.routeCounts.join(', ')} are programmed
  (the last one answers 200), then the controller is let catch up (the Gateway's attachedRoutes counts them all). Then, ${options.probes} times per tier:
  apply one more HTTPRoute and poll
  \`GET /\` with its Host on new connections every 2 ms until a 200; and replace the listener's Secret with a new
  certificate and poll TLS handshakes until the new serial is served. The clock starts when the apply request is sent
  (kubectl's own start-up, ~0.1–0.3 s, is not counted).
- Memory: RSS (VmRSS) of the controller and of the proxy's process tree once each tier is served and settled: the
  lowest of readings every ${SETTLE_SAMPLE_MS / 1000} s for ${SETTLE_MS / 1000} s (V8 returns a burst's garbage to the system some
  20–40 s after it, not on a schedule). RSS counts the node binary's pages in every process and V8's unused
  reserve, so what each holds is also read as its live JS heap: each process (the controller; the proxy's
  primary and workers, summed) is sent SIGUSR1, which opens Node's inspector, asked over it for a full garbage
  collection and the heap in use after it, and the inspector is closed again (bench/lib/live-heap.ts); for a
  tier after its probes (the collection shrinks the heaps, which must not weigh on the probes); per 1,000
  routes from the difference between 1 route and the largest tier. Certificates: ${certificates} Ingresses, each with its
  own host and TLS Secret (so this includes an Ingress rule each); and a bare proxy (\`bench/proxy-config-apply.ts\`,
  one worker) with ${blocks} HTTPS blocks each with its own certificate against the same blocks sharing one.
- Translate time: \`bench/translate.ts\` (pure function, 3 rules per route, median of 20 after warm-up).

| routes programmed | time to program them | route apply → 200 p50 / p99 | Secret change → served p50 / p99 | controller RSS | proxy RSS | controller live JS heap | proxy live JS heap |
|---:|---:|---:|---:|---:|---:|---:|---:|
${tiers.map((t) => `| ${t.routes} | ${(t.programMs / 1000).toFixed(1)} s | ${median(t.routeApply).toFixed(0)} / ${percentile(t.routeApply, 0.99).toFixed(0)} ms | ${median(t.secretChange).toFixed(0)} / ${percentile(t.secretChange, 0.99).toFixed(0)} ms | ${(t.controllerRss / MiB).toFixed(0)} MiB | ${(t.proxyRss / MiB).toFixed(0)} MiB | ${mib(t.controllerHeap)} | ${mib(t.proxyHeap)} |`).join('\n')}

Where a probe's time goes, as the controller counts it (\`portcullis_controller_program_phase_seconds_total\` over the tier's
probes, divided by the programs applied meanwhile, one per change): waiting for its pass (the 10 ms debounce, or a pass
already running), translating, serializing and programming the proxy (its PUT /config, which answers once every worker
serves the new configuration), and within that, as the proxy counts it (\`portcullis_config_apply_phase_seconds_total\`),
its admin API parsing and validating the IR, then serving it: finding what changed (\`src/proxy/config-delta.ts\`), the
workers compiling only that, and committing it. The rest of a probe is
the API server's write and watch, and the probe's own polling.

| routes programmed | programs applied | wait | translate | serialize | program (the proxy's PUT /config) | of which: proxy validates | proxy workers serve | the four | a probe, mean |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${tiers.map((t) => phaseRow(t)).join('\n')}

${certificates} Ingress hosts with their own certificates (${certificates * 2} objects, applied 16 at a time in ${(appliedMs / 1000).toFixed(1)} s) were served
${(certificatesMs / 1000).toFixed(1)} s after the first apply, and every Ingress showed its address ${(statusesMs / 1000).toFixed(1)} s after it.
Bare proxy with ${blocks} HTTPS blocks: RSS ${(shared.rssBytes / MiB).toFixed(0)} MiB sharing one certificate, ${(distinct.rssBytes / MiB).toFixed(0)} MiB with ${blocks};
PUT /config ${distinct.firstMs.toFixed(0)} ms with new certificates, ${distinct.cachedMs.toFixed(0)} ms re-applied (SecureContext cache);
with one shared certificate ${shared.firstMs.toFixed(0)} ms.
`);
  } finally {
    forgetCluster();
    await cluster.down().catch((error: unknown) => log(`cluster down failed: ${String(error)}`));
    if (previousHome === undefined) delete process.env.PORTCULLIS_HOME;
    else process.env.PORTCULLIS_HOME = previousHome;
    rmSync(home, { recursive: true, force: true });
  }
  return { rows, skipped, markdown: lines.join('\n') };
}
