// Measurement 6 (issue 7): wall time of the whole `npm run conformance` on the local
// provider, as a user runs it (incremental tsc, then every suite), in a temporary
// PORTCULLIS_HOME so it starts its own cluster. Warm: the control-plane binaries are
// already in the cache (~/.cache/portcullis). Cold: PORTCULLIS_CACHE_DIR and Go's build
// cache (GOCACHE) point at empty folders, so kube-apiserver, kube-controller-manager,
// kubectl and etcd are compiled from source first, as on a fresh machine; Go's module
// cache is kept (a fresh machine also downloads the modules, about 30 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onInterrupt } from '../src/lib/interrupt.js';
import { packageRoot } from '../src/lib/paths.js';
import type { Row } from './report.js';

export interface HarnessResult {
  rows: Row[];
  cold: boolean;
  command: string;
  outcome: string;
}

export async function runConformanceTiming(options: { cold?: boolean; log: (line: string) => void }): Promise<HarnessResult> {
  const home = mkdtempSync(join(tmpdir(), 'portcullis-bench-conformance-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORTCULLIS_HOME: home };
  if (options.cold) {
    env.PORTCULLIS_CACHE_DIR = join(home, 'empty-cache');
    env.GOCACHE = join(home, 'empty-go-build-cache');
  }
  const args = ['run', 'conformance', '--', '--report-output', join(home, 'report.yaml'), '--junit-output', join(home, 'junit.xml')];
  const label = options.cold ? 'cold' : 'warm';
  options.log(`conformance (${label}): npm ${args.join(' ')}`);
  const started = performance.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    // Its own process group: npm does not pass a signal on to the run it started, so an
    // interrupt signals the whole group (npm, its shell, the conformance run).
    const child = spawn('npm', args, { cwd: packageRoot, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let text = '';
    const keep = (chunk: Buffer) => (text = (text + chunk.toString()).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const closed = new Promise<void>((done) => child.once('close', () => done()));
    // Interrupted: the run deletes its own cluster on SIGTERM (src/lib/interrupt.ts); then
    // its folder goes too (a cold run's Go build cache in it is gigabytes).
    const forget = onInterrupt(async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      await closed;
      rmSync(home, { recursive: true, force: true });
    });
    child.on('error', reject);
    child.on('close', (exit) => {
      forget();
      resolve({ code: exit, output: text });
    });
  });
  const seconds = (performance.now() - started) / 1000;
  rmSync(home, { recursive: true, force: true });
  const summary = /conformance: (\d+) passed, (\d+) failed, (\d+) skipped/.exec(output);
  const outcome = summary ? `${summary[1]} passed, ${summary[2]} failed, ${summary[3]} skipped (exit ${code})` : `exit ${code}: ${output.slice(-400)}`;
  options.log(`conformance (${label}): ${seconds.toFixed(0)} s, ${outcome}`);
  return {
    cold: options.cold === true,
    rows: [{ id: `conformance-${label}`, measurement: `6. \`npm run conformance\` wall time, ${label} (${outcome})`, unit: 's', better: 'lower', values: { Portcullis: seconds } }],
    command: `PORTCULLIS_HOME=$(mktemp -d)${options.cold ? ' PORTCULLIS_CACHE_DIR=$(mktemp -d) GOCACHE=$(mktemp -d)' : ''} npm ${args.slice(0, 2).join(' ')}`,
    outcome,
  };
}
