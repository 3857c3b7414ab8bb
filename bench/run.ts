// `npm run bench`: Portcullis against nginx and HAProxy on this machine, in one run
// (issue 7). Prints a table of every measurement — our figure, each peer's, the ratio to
// the best peer — and writes it with the method into bench/RESULTS.md.
//
//   npm run bench -- [--only keepalive,handshake,h2,passthrough,control,conformance]
//                    [--seconds 5] [--rounds 3] [--quick] [--out bench/RESULTS.md]
//                    [--json FILE] [--cpu-prof DIR] [--routes 10,100,1000]
//                    [--baseline OTHER/dist/src/proxy/main.js] [--no-peers] [--no-cold]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interruption, onInterrupt, onInterruptNotice } from '../src/lib/interrupt.js';
import { packageRoot } from '../src/lib/paths.js';
import { runControlPlane, type ControlPlaneResult } from './control-plane.js';
import { CASES, runDataPlane, type DataPlaneResult } from './data-plane.js';
import { runConformanceTiming, type HarnessResult } from './harness.js';
import { createFixture, startHaproxy, startNginx, startNodeFloor, startPortcullis, type ProxyUnderTest } from './lib/peers.js';
import { corePlan, detectTools, machineLoad, versions } from './lib/system.js';
import { markdownTable, textTable, type Row } from './report.js';
import { resultsMarkdown } from './results-file.js';

const USAGE = `Usage: npm run bench -- [flags]

  --only LIST      comma-separated: data-plane case ids or prefixes (${CASES.map((c) => c.id).join(', ')}),
                   'data' (all of them), 'control', 'conformance'. Default: everything.
  --seconds N      length of each load sample (default 5)
  --rounds N       alternating rounds per case; the median is kept (default 3)
  --warm-up N      seconds of one unrecorded run per proxy before each data-plane case (default 5;
                   Node's JIT needs that long on the handshake cases)
  --quick          1-second samples, 1 round, no warm-up, control plane with 10 and 100 routes, no conformance run
  --routes LIST    route counts programmed before the control-plane probes (default 10,100,1000)
  --out FILE       where to write the results (default bench/RESULTS.md)
  --json FILE      also write the rows as JSON
  --cpu-prof DIR   run Portcullis with node --cpu-prof, profiles written to DIR
  --baseline FILE  also measure another build of the proxy (its dist/src/proxy/main.js) as
                   'Portcullis baseline', alternated with the others: a before/after in one run
  --no-peers       measure without nginx and HAProxy (with --baseline: just before/after)
  --no-cold        time only the warm conformance run, not also a cold one (empty caches: the
                   control plane compiled from source first, about 7 more minutes)
  --help
`;

export interface BenchReport {
  rows: Row[];
  proxies: string[];
  skipped: string[];
  notes: string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: '' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      'warm-up': { type: 'string' },
      quick: { type: 'boolean', default: false },
      routes: { type: 'string' },
      out: { type: 'string', default: join(packageRoot, 'bench', 'RESULTS.md') },
      json: { type: 'string' },
      'cpu-prof': { type: 'string' },
      baseline: { type: 'string' },
      'no-peers': { type: 'boolean', default: false },
      'no-cold': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const quick = values.quick === true;
  const seconds = Number(values.seconds ?? (quick ? 1 : 5));
  const rounds = Number(values.rounds ?? (quick ? 1 : 3));
  const warmUpSeconds = Number(values['warm-up'] ?? (quick ? 0 : 5));
  const routeCounts = (values.routes ?? (quick ? '10,100' : '10,100,1000')).split(',').map(Number);
  if (![seconds, rounds, ...routeCounts].every((n) => Number.isInteger(n) && n > 0)) throw new Error(`--seconds, --rounds and --routes take positive integers: ${USAGE}`);
  if (!Number.isInteger(warmUpSeconds) || warmUpSeconds < 0) throw new Error(`--warm-up takes a whole number of seconds (0: none): ${USAGE}`);
  const only = values.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((id) => !['data', 'control', 'conformance'].includes(id) && !CASES.some((c) => c.id.startsWith(id)));
  if (unknown.length) throw new Error(`--only ${unknown.join(',')} names no measurement: use data, control, conformance or a data-plane case (${CASES.map((c) => c.id).join(', ')})`);
  const wants = (section: 'data' | 'control' | 'conformance'): boolean => {
    if (only.length === 0) return section !== 'conformance' || !quick;
    if (only.includes(section)) return true;
    return section === 'data' && only.some((id) => CASES.some((c) => c.id.startsWith(id)));
  };
  const dataOnly = only.filter((id) => id !== 'data' && CASES.some((c) => c.id.startsWith(id)));
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  onInterruptNotice(() => log('interrupted: stopping the proxies, peers and cluster this run started'));

  const tools = await detectTools();
  const cores = corePlan();
  const startedAt = new Date();
  const loadBefore = machineLoad();
  const rows: Row[] = [];
  const skipped: string[] = [];
  const notes: string[] = [];
  const proxyNames: string[] = [];
  const configs: { name: string; command: string; text?: string }[] = [];
  let dataPlane: DataPlaneResult | undefined;
  let controlPlane: ControlPlaneResult | undefined;
  const harness: HarnessResult[] = [];
  let backendKind = '';

  if (wants('data')) {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
    const forgetDir = onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
    const fixture = await createFixture(dir, tools, cores);
    backendKind = fixture.backend.kind;
    const proxies: ProxyUnderTest[] = [];
    try {
      const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
      proxies.push(await startPortcullis(fixture, nodeArgs));
      if (values.baseline) proxies.push(await startPortcullis(fixture, [], resolve(values.baseline), 'Portcullis baseline'));
      const peers = !values['no-peers'];
      if (peers) proxies.push(await startNodeFloor(fixture));
      if (peers && tools.nginx) proxies.push(await startNginx(fixture));
      else if (peers) notes.push('nginx is not installed (Debian: nginx-light libnginx-mod-stream): measured without it.');
      if (peers && tools.nginx && !tools.nginxStream) notes.push('nginx has no stream module (Debian: libnginx-mod-stream): no nginx passthrough figures.');
      if (peers && tools.haproxy) proxies.push(await startHaproxy(fixture));
      else if (peers) notes.push('HAProxy is not installed (Debian: haproxy): measured without it.');
      if (!tools.wrk) notes.push('wrk is not installed (Debian: wrk): keep-alive figures come from a Node client (undici) on the load core instead.');
      if (!tools.h2load) notes.push('h2load is not installed (Debian: nghttp2-client): no HTTP/2 figures.');
      proxyNames.push(...proxies.map((p) => p.name));
      for (const proxy of proxies) configs.push({ name: proxy.name, command: proxy.command, text: proxy.configText });
      log(`data plane: ${proxies.map((p) => p.name).join(', ')}; ${seconds} s samples, ${rounds} round(s); ${cores.note}; backend ${fixture.backend.kind}`);
      dataPlane = await runDataPlane(proxies, fixture, { seconds, rounds, only: dataOnly, warmUpSeconds, log });
      rows.push(...dataPlane.rows);
      skipped.push(...dataPlane.skipped);
    } catch (error) {
      await interruption(); // a failure Ctrl-C caused is not reported: the run is ending
      log(`data plane failed: ${(error as Error).stack ?? String(error)}`);
      skipped.push(`1–4. data plane: failed (${(error as Error).message})`);
    } finally {
      for (const proxy of proxies) await proxy.stop();
      await fixture.backend.server.stop();
      rmSync(dir, { recursive: true, force: true });
      forgetDir();
    }
  }

  // A section that fails is reported, and the others still are.
  if (wants('control')) {
    try {
      controlPlane = await runControlPlane({ routeCounts, probes: quick ? 5 : 20, log });
      rows.push(...controlPlane.rows);
      skipped.push(...controlPlane.skipped);
    } catch (error) {
      await interruption(); // a failure Ctrl-C caused is not reported: the run is ending
      log(`control plane failed: ${(error as Error).stack ?? String(error)}`);
      skipped.push(`5. control plane: failed (${(error as Error).message})`);
    }
  }

  if (wants('conformance')) {
    for (const cold of values['no-cold'] ? [false] : [false, true]) {
      try {
        const timing = await runConformanceTiming({ cold, log });
        const stopping = interruption();
        if (stopping) await stopping; // interrupted: no cold run after it
        harness.push(timing);
        rows.push(...timing.rows);
      } catch (error) {
        await interruption(); // a failure Ctrl-C caused is not reported: the run is ending
        skipped.push(`6. conformance timing (${cold ? 'cold' : 'warm'}): failed (${(error as Error).message})`);
      }
    }
  }

  const table = textTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  for (const line of [...skipped.map((s) => `skipped: ${s}`), ...notes]) process.stdout.write(`${line}\n`);
  const markdown = resultsMarkdown({
    startedAt, finishedAt: new Date(), loadBefore, loadAfter: machineLoad(), versions: await versions(tools), cores, seconds, rounds, warmUpSeconds, argv: process.argv.slice(2),
    table: markdownTable(rows), rows, skipped, notes, configs, backendKind, dataPlane, controlPlane, harness,
  });
  writeFileSync(values.out, markdown);
  log(`wrote ${values.out}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ rows, proxies: proxyNames, skipped, notes } satisfies BenchReport, null, 2));
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
