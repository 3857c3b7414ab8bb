// `portcullis cluster up/down` as a person runs them, including what goes wrong:
// a crash, a corrupt data directory, a taken port, an unknown version, no Go.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';
import { clusterProcesses } from '../../src/cluster/local/cleanup.js';
import { clusterPaths } from '../../src/cluster/local/state.js';
import { isProcessAlive, runCommand, sleep } from '../../src/lib/process.js';
import { clusterStartTimeoutMs, testHome } from '../support/shared-cluster.js';

const name = 'lifecycle';

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [`${packageRoot}bin/portcullis.js`, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PORTCULLIS_HOME: testHome, ...env },
    timeout: clusterStartTimeoutMs,
  });
}

/** The one line a person reads: `portcullis: …` and nothing else on stderr's last line. */
function errorLine(stderr: string): string {
  return stderr.trim().split('\n').at(-1)!;
}

/** SIGKILL to every process of the cluster, as a crash or an OOM kill would; waits until they are gone. */
async function crash(clusterDir: string): Promise<void> {
  for (const pid of clusterProcesses(clusterDir)) process.kill(pid, 'SIGKILL');
  while (clusterProcesses(clusterDir).some(isProcessAlive)) await sleep(50);
}

async function netnsOf(cluster: string): Promise<string[]> {
  const listed = await runCommand('ip', ['netns', 'list']);
  return listed.stdout.split('\n').filter((line) => line.startsWith(`portcullis-${cluster}-`));
}

describe('local provider: cluster lifecycle and bad input', function () {
  const paths = clusterPaths(name, testHome);

  after(function () {
    this.timeout(120_000);
    cli(['cluster', 'down', '--name', name]);
  });

  it('`conformance --keep-cluster` leaves its local cluster running, says how to delete it, and `down` does', async function () {
    this.timeout(2 * clusterStartTimeoutMs);
    const out = mkdtempSync(join(tmpdir(), 'portcullis-keep-'));
    const kept = clusterPaths('conformance', testHome);
    try {
      const run = cli(['conformance', '--provider', 'local', '--keep-cluster', '--run-test', 'ReferenceScenario3GatewayPassthrough',
        '--junit-output', join(out, 'junit.xml'), '--report-output', join(out, 'report.yaml')]);
      expect(run.status, run.stderr.slice(-2000)).to.equal(0);
      expect(run.stderr).to.include('conformance: 1 passed, 0 failed, 0 skipped');
      expect(run.stderr).to.match(/keeping the cluster: KUBECONFIG=\S+; delete it with `portcullis cluster down --name conformance`/);
      const status = cli(['cluster', 'status', '--name', 'conformance']);
      expect(JSON.parse(status.stdout).phase, status.stderr).to.equal('running');
      expect(clusterProcesses(kept.dir).filter(isProcessAlive).length).to.be.greaterThan(3);
    } finally {
      rmSync(out, { recursive: true, force: true });
      const down = cli(['cluster', 'down', '--name', 'conformance']);
      expect(down.status, down.stderr).to.equal(0);
    }
    expect(clusterProcesses(kept.dir)).to.deep.equal([]);
    expect(existsSync(kept.dir)).to.equal(false);
  });

  /** Starts `conformance` on the local provider, sends SIGINT once `when` is on stderr, and returns its exit code and stderr. */
  async function interruptConformance(when: string, out: string): Promise<{ code: number | null; stderr: string; processesBefore: number }> {
    const started = clusterPaths('conformance', testHome);
    // The supervisor runs detached in its own session, so the terminal's SIGINT reaches only the CLI.
    const child = spawn(process.execPath, [`${packageRoot}bin/portcullis.js`, 'conformance', '--provider', 'local', '--run-test', 'ReferenceScenario3GatewayPassthrough',
      '--junit-output', join(out, 'junit.xml'), '--report-output', join(out, 'report.yaml')], { env: { ...process.env, PORTCULLIS_HOME: testHome }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes(when)) resolve();
      });
      void exited.then(() => reject(new Error(`conformance ended before "${when}":\n${stderr}`)));
    });
    const processesBefore = clusterProcesses(started.dir).filter(isProcessAlive).length;
    child.kill('SIGINT');
    const code = await exited;
    return { code, stderr, processesBefore };
  }

  it('Ctrl-C during `conformance` deletes the local cluster it brought up, and exits 130', async function () {
    this.timeout(2 * clusterStartTimeoutMs);
    const out = mkdtempSync(join(tmpdir(), 'portcullis-interrupted-'));
    const started = clusterPaths('conformance', testHome);
    try {
      const run = await interruptConformance('▶ implementation', out);
      expect(run.processesBefore, run.stderr).to.be.greaterThan(3);
      expect(run.code, run.stderr).to.equal(130);
      expect(run.stderr).to.include('▶ interrupted: cleanup');
      expect(clusterProcesses(started.dir)).to.deep.equal([]);
      expect(existsSync(started.dir)).to.equal(false);
    } finally {
      cli(['cluster', 'down', '--name', 'conformance']);
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('Ctrl-C while the `conformance` cluster is still starting stops every process it started, and exits 130 without an error', async function () {
    this.timeout(2 * clusterStartTimeoutMs);
    const out = mkdtempSync(join(tmpdir(), 'portcullis-interrupted-'));
    const started = clusterPaths('conformance', testHome);
    try {
      const run = await interruptConformance('starting etcd', out);
      expect(run.code, run.stderr).to.equal(130);
      expect(run.stderr).to.include('▶ interrupted while the cluster was starting: deleting it');
      expect(run.stderr).to.not.include('portcullis: ');
      expect(clusterProcesses(started.dir)).to.deep.equal([]);
    } finally {
      cli(['cluster', 'down', '--name', 'conformance']);
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('comes up, and `down` leaves no process, network namespace or state behind', async function () {
    this.timeout(clusterStartTimeoutMs);
    const up = cli(['cluster', 'up', '--name', name, '--api-port', '0']);
    expect(up.status, up.stderr).to.equal(0);
    expect(up.stderr).to.match(/is ready in [\d.]+s/);
    expect(clusterProcesses(paths.dir).length).to.be.greaterThan(3);

    const down = cli(['cluster', 'down', '--name', name]);
    expect(down.status, down.stderr).to.equal(0);
    expect(clusterProcesses(paths.dir)).to.deep.equal([]);
    expect(await netnsOf(name)).to.deep.equal([]);
    expect(existsSync(paths.dir)).to.equal(false);
  });

  it('recovers after a crash that killed every process', async function () {
    this.timeout(clusterStartTimeoutMs);
    expect(cli(['cluster', 'up', '--name', name, '--api-port', '0']).status).to.equal(0);
    await crash(paths.dir);
    const again = cli(['cluster', 'up', '--name', name]);
    expect(again.status, again.stderr).to.equal(0);
    expect(again.stderr).to.include('recovering it');
  });

  it('refuses a corrupt etcd data directory with a one-line fix, leaving nothing running', async function () {
    this.timeout(clusterStartTimeoutMs);
    await crash(paths.dir);
    const db = join(paths.etcdData, 'member', 'snap', 'db');
    expect(existsSync(db), `${db} exists`).to.equal(true);
    writeFileSync(db, Buffer.alloc(64 * 1024, 0x5a));
    const result = cli(['cluster', 'up', '--name', name]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.match(/^portcullis: etcd failed: the etcd data may be corrupt: run `portcullis cluster down --name lifecycle`/m);
    expect(clusterProcesses(paths.dir)).to.deep.equal([]);
    expect(await netnsOf(name)).to.deep.equal([]);
  });

  it('names the fix when the API port is taken', async function () {
    cli(['cluster', 'down', '--name', name]);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const result = cli(['cluster', 'up', '--name', name, '--api-port', String(port)]);
      expect(result.status).to.equal(1);
      expect(errorLine(result.stderr)).to.equal(`portcullis: port ${port} on 127.0.0.1 is in use (EADDRINUSE): stop whatever listens there, or pass --api-port with another port (0 picks a free one)`);
      expect(clusterProcesses(paths.dir)).to.deep.equal([]);
    } finally {
      server.close();
    }
  });

  it('names the supported versions for an unknown --gateway-api-version', function () {
    const result = cli(['cluster', 'up', '--name', name, '--gateway-api-version', 'v9.9.9']);
    expect(result.status).to.equal(1);
    expect(errorLine(result.stderr)).to.match(/^portcullis: Gateway API version "v9\.9\.9" is not one Portcullis pins: use --gateway-api-version with one of v1\.1\.0, .*v1\.6\.3$/);
    expect(existsSync(clusterPaths(name, testHome).dir)).to.equal(false);
  });

  it('asks for Go when the control plane must be built and `go` is missing', function () {
    const emptyCache = mkdtempSync(join(tmpdir(), 'portcullis-nogo-'));
    try {
      const result = cli(['cluster', 'up', '--name', name], { PORTCULLIS_CACHE_DIR: emptyCache, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });
      expect(result.status).to.equal(1);
      expect(errorLine(result.stderr)).to.match(/^portcullis: the local provider builds the Kubernetes control plane from source, but `go` is not on PATH: install Go 1\.26 or newer/);
      expect(readdirSync(emptyCache)).to.deep.equal([]);
    } finally {
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });
});
