// Measurements 1–4 (issue 7): TLS termination keep-alive, new and resumed handshakes,
// HTTP/2, and passthrough — Portcullis against nginx and HAProxy in the same run. Each
// case runs every proxy once per round, the order rotating between rounds (A B C, B C A,
// C A B), and keeps the median; every sample is also divided by the proxy's CPU time
// (utime+stime of its process tree from /proc/<pid>/stat) over that sample, and the load
// cores' idle share over it is read from /proc/stat (a slower proxy leaves them idle, which
// on a VM makes each of its wake-ups dearer: see the results file's "Load cores idle").
// That CPU time is also split into user and kernel time per request (or handshake,
// connection, MB): the kernel's share is the sockets' work, which every proxy pays; the
// user share is the proxy's own.
import { cpuList, cpuTicks, cpuTimesOf, median } from './lib/system.js';
import { h2load, nodeKeepAlive, nodeTlsConnections, sTime, wrk, type LoadOptions, type LoadResult } from './lib/load.js';
import { BULK_BYTES, SNI, type Fixture, type ProxyName, type ProxyUnderTest } from './lib/peers.js';
import type { Row } from './report.js';

export interface DataPlaneOptions {
  seconds: number;
  rounds: number;
  /** Case ids to run (all when empty). */
  only: readonly string[];
  /**
   * Seconds of one unrecorded run per proxy before each case (JIT, pools, session caches);
   * 0: none. Node's optimizing compiler took 15% of the proxy's CPU in the first 12 s of
   * resumed handshakes and 0.4% after 20 s: a short warm-up measures the JIT, not the proxy.
   */
  warmUpSeconds: number;
  log: (line: string) => void;
}

interface Case {
  id: string;
  title: string;
  /** Which figure the count is: requests, handshakes, bytes. */
  unit: 'req' | 'handshakes' | 'MB' | 'connections';
  latency: boolean;
  passthrough?: boolean;
  /** For s_time -reuse: the share of connections that resumed must be reported. */
  resumption?: boolean;
  run(proxy: ProxyUnderTest, load: LoadOptions, fixture: Fixture): Promise<LoadResult>;
}

const KEEP_ALIVE_CONNECTIONS = 50;
const HANDSHAKE_CLIENTS = 4;

function keepAlive(port: number, fixture: Fixture, load: LoadOptions, path = '/', connections = KEEP_ALIVE_CONNECTIONS): Promise<LoadResult> {
  const url = `https://${SNI}:${port}${path}`;
  return fixture.tools.wrk ? wrk(url, connections, load) : nodeKeepAlive(url, connections, fixture.ca.certPem, load);
}

export const CASES: readonly Case[] = [
  { id: 'keepalive-rsa', title: '1. HTTPS keep-alive, RSA-2048', unit: 'req', latency: true, run: (p, load, f) => keepAlive(p.ports.rsa, f, load) },
  { id: 'keepalive-ecdsa', title: '1. HTTPS keep-alive, ECDSA P-256', unit: 'req', latency: true, run: (p, load, f) => keepAlive(p.ports.ecdsa, f, load) },
  { id: 'handshake-full-rsa', title: '2. full handshakes, RSA-2048', unit: 'handshakes', latency: false, run: (p, load) => sTime(`${SNI}:${p.ports.rsa}`, 'new', HANDSHAKE_CLIENTS, load) },
  { id: 'handshake-full-ecdsa', title: '2. full handshakes, ECDSA P-256', unit: 'handshakes', latency: false, run: (p, load) => sTime(`${SNI}:${p.ports.ecdsa}`, 'new', HANDSHAKE_CLIENTS, load) },
  { id: 'handshake-resumed-rsa', title: '2. resumed handshakes, RSA-2048', unit: 'handshakes', latency: false, resumption: true, run: (p, load) => sTime(`${SNI}:${p.ports.rsa}`, 'reuse', HANDSHAKE_CLIENTS, load) },
  { id: 'handshake-resumed-ecdsa', title: '2. resumed handshakes, ECDSA P-256', unit: 'handshakes', latency: false, resumption: true, run: (p, load) => sTime(`${SNI}:${p.ports.ecdsa}`, 'reuse', HANDSHAKE_CLIENTS, load) },
  { id: 'h2', title: '3. HTTP/2, 10 connections × 10 streams, ECDSA', unit: 'req', latency: false, run: (p, load) => h2load(`https://${SNI}:${p.ports.ecdsa}/`, 10, 10, load) },
  { id: 'passthrough-keepalive', title: '4. passthrough keep-alive requests', unit: 'req', latency: true, passthrough: true, run: (p, load, f) => keepAlive(p.ports.passthrough, f, load) },
  { id: 'passthrough-connections', title: '4. passthrough new TLS connections', unit: 'connections', latency: false, passthrough: true, run: (p, load, f) => nodeTlsConnections('127.0.0.1', p.ports.passthrough, SNI, f.ca.certPem, 8, load) },
  { id: 'passthrough-bulk', title: `4. passthrough bulk download (${BULK_BYTES / 2 ** 20} MiB responses, 4 connections)`, unit: 'MB', latency: false, passthrough: true, run: (p, load, f) => keepAlive(p.ports.passthrough, f, load, '/bulk', 4) },
];

const UNIT_SINGULAR: Record<Case['unit'], string> = { req: 'request', handshakes: 'handshake', MB: 'MB', connections: 'connection' };

/** Microseconds as the notes show them: whole ones, or one decimal below 10. */
function micros(value: number): string {
  return value >= 10 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

/** Whether a case can run with the tools present. */
function runnable(c: Case, fixture: Fixture): boolean {
  if (c.id.startsWith('handshake')) return fixture.tools.openssl;
  if (c.id === 'h2') return fixture.tools.h2load;
  return true;
}

interface Sample {
  perSecond: number;
  perCpuSecond: number;
  p99Ms?: number;
  resumedShare?: number;
  /** Share of the load cores' time spent idle during the sample (see the per CPU-second row's note). */
  loadIdleShare: number;
  /** The proxy's CPU per unit (request, handshake, connection, MB) in µs: in user space, and in the kernel. */
  userMicros?: number;
  kernelMicros?: number;
  errors: number;
}

export interface DataPlaneResult {
  rows: Row[];
  commands: Map<string, string>;
  skipped: string[];
}

export async function runDataPlane(proxies: readonly ProxyUnderTest[], fixture: Fixture, options: DataPlaneOptions): Promise<DataPlaneResult> {
  const load: LoadOptions = { cores: fixture.cores, tools: fixture.tools, seconds: options.seconds };
  const rows: Row[] = [];
  const commands = new Map<string, string>();
  const skipped: string[] = [];
  const loadCores = cpuList(fixture.cores.rest);
  const shared = fixture.cores.rest === fixture.cores.proxy;
  for (const c of CASES) {
    if (options.only.length > 0 && !options.only.some((id) => c.id.startsWith(id))) continue;
    if (!runnable(c, fixture)) {
      skipped.push(`${c.title}: its load tool is not installed`);
      continue;
    }
    const candidates = proxies.filter((p) => !c.passthrough || p.passthrough);
    const samples = new Map<ProxyName, Sample[]>();
    if (options.warmUpSeconds > 0) for (const proxy of candidates) await c.run(proxy, { ...load, seconds: options.warmUpSeconds }, fixture);
    for (let round = 0; round < options.rounds; round++) {
      const order = candidates.map((_, i) => candidates[(i + round) % candidates.length]!);
      for (const proxy of order) {
        const pids = proxy.pids();
        const cpuBefore = cpuTimesOf(pids);
        const loadBefore = cpuTicks(loadCores);
        const result = await c.run(proxy, load, fixture);
        const cpuAfter = cpuTimesOf(pids);
        const loadAfter = cpuTicks(loadCores);
        const user = cpuAfter.user - cpuBefore.user;
        const kernel = cpuAfter.system - cpuBefore.system;
        const cpu = user + kernel;
        const amount = c.unit === 'MB' ? (result.bytes ?? 0) / 1e6 : result.count;
        const sample: Sample = {
          perSecond: amount / result.seconds,
          perCpuSecond: amount / Math.max(cpu, 0.01),
          p99Ms: result.p99Ms,
          resumedShare: c.resumption ? (result.resumed ?? 0) / Math.max(1, result.count) : undefined,
          loadIdleShare: (loadAfter.idle - loadBefore.idle) / Math.max(1, loadAfter.total - loadBefore.total),
          userMicros: amount > 0 ? (user * 1e6) / amount : undefined,
          kernelMicros: amount > 0 ? (kernel * 1e6) / amount : undefined,
          errors: result.errors,
        };
        commands.set(c.id, result.command.replace(/:\d+(\/|$| )/, ':PORT$1'));
        options.log(`${c.id} round ${round + 1} ${proxy.name}: ${sample.perSecond.toFixed(0)}/s, ${sample.perCpuSecond.toFixed(0)} per proxy CPU-s (cpu ${cpu.toFixed(2)} s, ${((user / Math.max(cpu, 0.01)) * 100).toFixed(0)}% of it in user space)${sample.p99Ms !== undefined ? `, p99 ${sample.p99Ms.toFixed(2)} ms` : ''}${sample.resumedShare !== undefined ? `, resumed ${(sample.resumedShare * 100).toFixed(0)}%` : ''}, load cores ${(sample.loadIdleShare * 100).toFixed(0)}% idle${sample.errors ? `, ${sample.errors} errors` : ''}`);
        samples.set(proxy.name, [...(samples.get(proxy.name) ?? []), sample]);
      }
    }
    const figure = (pick: (s: Sample) => number | undefined): Partial<Record<ProxyName, number>> =>
      Object.fromEntries([...samples].map(([name, list]) => [name, median(list.map(pick).filter((v): v is number => v !== undefined))]));
    // Round by round (a proxy that measured nothing in a round has NaN there, keeping the rounds aligned).
    const byRound = (pick: (s: Sample) => number | undefined): Partial<Record<ProxyName, number[]>> =>
      Object.fromEntries([...samples].map(([name, list]) => [name, list.map((s) => pick(s) ?? Number.NaN)]));
    /** Each proxy's median share, as "Portcullis 35%, nginx 6%". */
    const shares = (pick: (s: Sample) => number | undefined): string =>
      Object.entries(figure(pick)).map(([name, share]) => `${name} ${(share! * 100).toFixed(0)}%`).join(', ');
    const errors = [...samples].flatMap(([name, list]) => (list.some((s) => s.errors > 0) ? [`${name} ${list.reduce((sum, s) => sum + s.errors, 0)} errors`] : []));
    const unit = c.unit === 'MB' ? 'MB' : c.unit;
    const notes: string[] = [...errors];
    if (c.resumption) notes.push(`resumed: ${shares((s) => s.resumedShare)}`);
    rows.push({ id: `${c.id}/rate`, measurement: `${c.title}: ${unit}/s`, unit: `${unit}/s`, better: 'higher', values: figure((s) => s.perSecond), rounds: byRound((s) => s.perSecond), note: notes.join('; ') || undefined });
    // On one shared core the load core is the proxy's own: its idle time says nothing.
    const idle = shared ? [] : [`load cores idle: ${shares((s) => s.loadIdleShare)}`];
    const users = figure((s) => s.userMicros);
    const kernels = figure((s) => s.kernelMicros);
    const splits = Object.keys(users).flatMap((name) => {
      const user = users[name as ProxyName]!;
      const kernel = kernels[name as ProxyName]!;
      return Number.isFinite(user) && Number.isFinite(kernel) ? [`${name} ${micros(user)} + ${micros(kernel)}`] : [];
    });
    const split = splits.length > 0 ? [`µs of CPU per ${UNIT_SINGULAR[c.unit]}, user + kernel: ${splits.join(', ')}`] : [];
    rows.push({ id: `${c.id}/cpu`, measurement: `${c.title}: ${unit} per proxy CPU-second`, unit: `${unit}/CPU-s`, better: 'higher', values: figure((s) => s.perCpuSecond), rounds: byRound((s) => s.perCpuSecond), note: [...idle, ...split].join('; ') || undefined });
    if (c.latency) rows.push({ id: `${c.id}/p99`, measurement: `${c.title}: p99 latency`, unit: 'ms', better: 'lower', values: figure((s) => s.p99Ms), rounds: byRound((s) => s.p99Ms) });
  }
  return { rows, commands, skipped };
}
