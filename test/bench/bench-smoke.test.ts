// A one-second smoke of `npm run bench` (bench/run.ts), so the benchmark cannot rot:
// it must start every proxy it finds, measure, and write numeric, sane figures and its
// RESULTS file. Never a speed threshold: benchmarks do not fail CI by being slow. Where
// nginx or HAProxy are not installed the bench measures Portcullis alone and says so.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../bench/run.js';
import { ratioOf, type Row } from '../../bench/report.js';
import { corePlan, detectTools } from '../../bench/lib/system.js';
import { measureTranslate } from '../../bench/translate.js';
import { waitFor } from '../../src/lib/wait.js';

const runScript = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

function read(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

function newMark(): string {
  return `PORTCULLIS_BENCH_SMOKE_MARK=${process.pid}-${Date.now()}`;
}

/** Processes with `mark` (NAME=value) in their environment. */
function marked(mark: string): number[] {
  return readdirSync('/proc').filter((pid) => read(pid, 'environ').split('\0').includes(mark)).map(Number);
}

function processesNaming(text: string): number[] {
  return readdirSync('/proc').filter((pid) => read(pid, 'cmdline').includes(text)).map(Number);
}

function benchFolderProcesses(): Set<number> {
  return new Set(processesNaming('portcullis-bench-'));
}

/** Those of `pids` still alive (zombies waiting for their parent count as gone). */
function stillRunning(pids: readonly number[]): number[] {
  return pids.filter((pid) => existsSync(`/proc/${pid}`) && !read(String(pid), 'stat').includes(') Z '));
}

describe('bench: one-second smoke of npm run bench', function () {
  this.timeout(180_000);
  let dir: string;
  let report: BenchReport;
  let markdown: string;
  let output: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-smoke-'));
    const run = await runBench(['--quick', '--only', 'keepalive-ecdsa,handshake-full-ecdsa,h2,passthrough-keepalive', '--out', join(dir, 'RESULTS.md'), '--json', join(dir, 'results.json')]);
    output = run.output;
    expect(run.code, output).to.equal(0);
    report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchReport;
    markdown = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const row = (id: string): Row => {
    const found = report.rows.find((r) => r.id === id);
    expect(found, `row ${id} in ${report.rows.map((r) => r.id).join(', ')}`).to.not.equal(undefined);
    return found!;
  };

  it('measures Portcullis: positive, finite rates per second and per proxy CPU-second, and a p99 latency', () => {
    for (const id of ['keepalive-ecdsa/rate', 'keepalive-ecdsa/cpu', 'keepalive-ecdsa/p99', 'handshake-full-ecdsa/rate', 'handshake-full-ecdsa/cpu', 'passthrough-keepalive/rate', 'passthrough-keepalive/cpu']) {
      const value = row(id).values.Portcullis;
      expect(value, `${id}: ${output}`).to.be.a('number');
      expect(Number.isFinite(value) && value! > 0, `${id} = ${value}`).to.equal(true);
    }
    // Sane: a p99 latency in milliseconds, not seconds or microseconds mistaken for ms.
    expect(row('keepalive-ecdsa/p99').values.Portcullis).to.be.within(0.01, 10_000);
  });

  it('says how idle the load cores were for each proxy, and how this machine idles its cores', function () {
    const cores = corePlan();
    if (cores.rest === cores.proxy) this.skip(); // one core: the load core is the proxy's own
    const note = row('keepalive-ecdsa/cpu').note ?? '';
    for (const name of report.proxies) {
      const share = new RegExp(`${name} (\\d+)%`).exec(note);
      expect(share, `${name} in "${note}"`).to.not.equal(null);
      expect(Number(share![1])).to.be.within(0, 100);
    }
    if (existsSync('/sys/devices/system/cpu/cpuidle/current_driver')) expect(markdown).to.match(/- \*\*idle cores\*\*: cpuidle driver \S+/);
  });

  it('splits each proxy\'s CPU per request into user and kernel time', () => {
    const note = row('keepalive-ecdsa/cpu').note ?? '';
    expect(note).to.contain('µs of CPU per request, user + kernel: ');
    for (const name of report.proxies) {
      const split = new RegExp(`${name} ([\\d.,]+) \\+ ([\\d.,]+)`).exec(note);
      expect(split, `${name} in "${note}"`).to.not.equal(null);
      const [user, kernel] = [Number(split![1]!.replace(/,/g, '')), Number(split![2]!.replace(/,/g, ''))];
      // Some of each, and together in line with the per CPU-second figure (1e6 / µs per request).
      expect(user, note).to.be.greaterThan(0);
      expect(kernel, note).to.be.greaterThan(0);
      const perCpuSecond = row('keepalive-ecdsa/cpu').values[name as keyof Row['values']]!;
      expect(1e6 / (user + kernel), `${name}: ${perCpuSecond} per CPU-s against "${note}"`).to.be.within(perCpuSecond / 2, perCpuSecond * 2);
    }
  });

  it('measures each installed peer in the same run, with a ratio; says which are missing', async () => {
    const tools = await detectTools();
    expect(report.proxies).to.include('Portcullis');
    for (const [name, installed] of [['nginx', tools.nginx], ['HAProxy', tools.haproxy]] as const) {
      if (installed) {
        expect(report.proxies).to.include(name);
        expect(row('keepalive-ecdsa/rate').values[name]).to.be.greaterThan(0);
      } else {
        expect(report.proxies).to.not.include(name);
        expect(report.notes.join('\n')).to.contain(`${name} is not installed`);
      }
    }
    // The Node floor is a reference measured beside them: HTTPS, HTTP/2 and passthrough.
    expect(report.proxies).to.include('Node floor');
    expect(row('keepalive-ecdsa/rate').values['Node floor']).to.be.greaterThan(0);
    expect(row('passthrough-keepalive/rate').values['Node floor']).to.be.greaterThan(0);
    if (tools.h2load) {
      // h2load counts only successful answers (a 502 is a failure): the floor's streams reached the backend and back.
      expect(row('h2/rate').values['Node floor']).to.be.greaterThan(0);
      expect(row('h2/rate').values.Portcullis).to.be.greaterThan(0);
    } else {
      expect(report.notes.join('\n')).to.contain('h2load is not installed');
    }
    const ratio = ratioOf(row('keepalive-ecdsa/cpu'));
    if (tools.nginx || tools.haproxy) expect(ratio?.ratio).to.be.greaterThan(0);
    else expect(ratio).to.equal(undefined);
  });

  it('prints the table and writes RESULTS.md with the machine, the core assignment and the exact commands', () => {
    expect(output).to.match(/measurement\s+Portcullis\s+Node floor\s+nginx\s+HAProxy\s+ratio vs best peer/);
    expect(markdown).to.contain('| measurement | Portcullis | Node floor | nginx | HAProxy | ratio vs best peer |');
    expect(markdown).to.contain('## Machine and versions');
    expect(markdown).to.match(/pinned to CPU|share CPU 0/);
    expect(markdown).to.match(/wrk -t1|undici Pool/);
    expect(markdown).to.contain('openssl s_time');
    // --quick runs one round: no spread to show; the legend still explains it.
    expect(markdown).to.contain('"by round"');
  });

  it('ratio vs best peer: the highest peer for rates, the lowest for latencies', () => {
    const rate: Row = { id: 'r', measurement: 'r', unit: 'req/s', better: 'higher', values: { Portcullis: 50, 'Node floor': 400, nginx: 100, HAProxy: 80 } };
    expect(ratioOf(rate)).to.deep.equal({ ratio: 0.5, peer: 'nginx' });
    const latency: Row = { id: 'l', measurement: 'l', unit: 'ms', better: 'lower', values: { Portcullis: 3, nginx: 2, HAProxy: 1 } };
    expect(ratioOf(latency)).to.deep.equal({ ratio: 3, peer: 'HAProxy' });
    expect(ratioOf({ ...rate, values: { Portcullis: 1 } })).to.equal(undefined);
  });

  it('ratio spread by round: ours against the chosen peer in the same round, skipping rounds either missed', () => {
    // Medians: ours 50, nginx 100 (best), HAProxy 80. Round by round against nginx: 0.4, 0.6, 0.5; round 4 nginx missed.
    const rate: Row = {
      id: 'r', measurement: 'r', unit: 'req/s', better: 'higher', values: { Portcullis: 50, nginx: 100, HAProxy: 80 },
      rounds: { Portcullis: [40, 60, 50, 55], nginx: [100, 100, 100, Number.NaN], HAProxy: [10, 10, 10, 10] },
    };
    const ratio = ratioOf(rate)!;
    expect(ratio.peer).to.equal('nginx');
    expect(ratio.ratio).to.equal(0.5);
    expect(ratio.range![0]).to.be.closeTo(0.4, 1e-9);
    expect(ratio.range![1]).to.be.closeTo(0.6, 1e-9);
    // One round is no spread.
    expect(ratioOf({ ...rate, rounds: { Portcullis: [40], nginx: [100] } })!.range).to.equal(undefined);
  });

  it('SIGTERM (or Ctrl-C) mid-sample stops every proxy, peer and load generator it started, and exits 143', async () => {
    // What the run starts inherits this mark in its environment, detached process groups included;
    // nginx clears its environment, but names the run's temporary folder on its command line.
    const mark = newMark();
    const before = benchFolderProcesses();
    const out = mkdtempSync(join(tmpdir(), 'portcullis-bench-interrupt-'));
    try {
      const [name, value] = mark.split('=') as [string, string];
      const child = spawn(process.execPath, [runScript, '--quick', '--seconds', '30', '--only', 'keepalive-ecdsa', '--out', join(out, 'RESULTS.md')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [name]: value } });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (stderr.includes('[bench] data plane:')) resolve();
        });
        void exited.then(() => reject(new Error(`the bench ended before measuring:\n${stderr}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // the first sample's load is running
      const started = [...new Set([...marked(mark), ...benchFolderProcesses()])].filter((pid) => pid !== child.pid && !before.has(pid));
      // The backend, Portcullis and the Node floor at least (wrk, nginx and HAProxy where installed).
      expect(started.length, stderr).to.be.at.least(3);
      child.kill('SIGTERM');
      expect(await exited, stderr).to.equal(143);
      expect(stderr).to.contain('interrupted: stopping the proxies, peers and cluster this run started');
      expect(stderr).to.not.contain('data plane failed');
      expect(stillRunning(started), stderr).to.deep.equal([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('SIGTERM while it times `npm run conformance` stops that run and its cluster, and removes its folder', async function () {
    this.timeout(300_000);
    const mark = newMark();
    const [name, value] = mark.split('=') as [string, string];
    const out = mkdtempSync(join(tmpdir(), 'portcullis-bench-interrupt-'));
    const child = spawn(process.execPath, [runScript, '--only', 'conformance', '--no-cold', '--out', join(out, 'RESULTS.md')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [name]: value } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let home = '';
    // What the run started: by the mark or by its folder on the command line.
    const ours = (): number[] => [...new Set([...marked(mark), ...(home ? processesNaming(home) : [])])].filter((pid) => pid !== child.pid);
    try {
      // The run's own folder (its PORTCULLIS_HOME), named in the bench's log line.
      home = await waitFor({ what: 'the conformance run to start', timeoutMs: 60_000 }, async () => /--report-output (\S+)\/report\.yaml/.exec(stderr)?.[1], () => stderr);
      // Interrupt once its cluster runs.
      await waitFor({ what: 'its cluster', timeoutMs: 240_000 }, async () => ours().some((pid) => read(String(pid), 'cmdline').includes('kube-apiserver')) || undefined, () => stderr);
      const started = ours();
      child.kill('SIGTERM');
      // Stopped, not left to finish: the run goes on for over a minute after its cluster is up,
      // and the bench waits for it to end before it exits.
      const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 30_000))]);
      expect(code, `the bench 30 s after SIGTERM\n${stderr}`).to.equal(143);
      expect(stillRunning([...new Set([...started, ...ours()])]), stderr).to.deep.equal([]);
      expect(existsSync(home), `${home} after the interrupt`).to.equal(false);
    } finally {
      for (const pid of [child.pid!, ...ours()]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      rmSync(out, { recursive: true, force: true });
      if (home) rmSync(home, { recursive: true, force: true });
    }
  });

  it('translate time (measurement 5) is measured in milliseconds for every route', async () => {
    const timing = await measureTranslate(10, 2);
    expect(timing.routes).to.equal(10);
    expect(timing.listeners).to.equal(2);
    expect(timing.medianMs).to.be.within(0, 10_000);
  });
});
