// 10,000 idle connections against a running proxy (npm run test:chaos): each connects to
// the plain HTTP port and sends nothing. The proxy holds them all (its first-bytes
// timeout is raised so they outlive the test), its memory stays bounded (the RSS is
// printed), and a well-behaved client on its own keep-alive connection sees zero errors
// while they are opened, held and dropped. Needs `ulimit -n` above 10,000 for this
// process and the proxy (the file-descriptor limit is checked first).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import {
  closeAllBackends, config, freePort, httpBackend, httpRoute, listener, loopbackAddress, plainBlock, rule, startHttpBackend, startProxy, stopAllProxies, type RunningProxy,
} from '../proxy/proxy-harness.js';
import { SteadyClient } from './steady-client.js';

const IDLE = Number(process.env.CHAOS_IDLE_CONNECTIONS ?? 10_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
}

function openFilesLimit(pid: number | 'self'): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return Number(line.split(/\s{2,}/)[1]);
}

function connectIdle(address: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('chaos: 10,000 idle connections against a running proxy', function () {
  this.timeout(10 * 60 * 1000);
  let proxy: RunningProxy;
  let address: string;
  let port: number;
  const sockets: net.Socket[] = [];

  before(async function () {
    address = loopbackAddress();
    port = await freePort(address);
    const echo = await startHttpBackend(address, 'echo-1');
    proxy = await startProxy(['--first-bytes-timeout-ms', '600000']);
    const answer = await proxy.put(config('v1', [listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], { httpRoutes: [httpRoute('plain', 'plain', [], [rule({ backends: [httpBackend('echo', [echo])] })])] })]));
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async function () {
    for (const socket of sockets) socket.destroy();
    await stopAllProxies();
    await closeAllBackends();
  });

  it(`holds ${IDLE} idle connections with bounded memory while a well-behaved client sees zero errors`, async function () {
    const needed = IDLE + 200;
    for (const [who, limit] of [['this process', openFilesLimit('self')], ['the proxy', openFilesLimit(proxy.child.pid!)]] as const) {
      if (limit < needed) throw new Error(`${who} may open only ${limit} files, and the test needs ${needed}: raise it with \`ulimit -n ${needed}\` (or more) before npm run test:chaos`);
    }
    const client = new SteadyClient(`http://${address}:${port}`, 'steady.example.com', '/', 20).start();
    await sleep(1000);
    const rssBefore = rssMiB(proxy.child.pid!);
    for (let opened = 0; opened < IDLE; opened += 500) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(500, IDLE - opened) }, () => connectIdle(address, port)))));
    }
    let closedByProxy = 0;
    for (const socket of sockets) socket.once('close', () => closedByProxy++);
    await sleep(5000);
    const rssHeld = rssMiB(proxy.child.pid!);
    const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    const gauge = [...(await proxy.metrics())].filter(([name]) => name.startsWith('portcullis_') && /connections_(active|open)/.test(name)).map(([name, value]) => `${name}=${value}`);
    const closedWhileHeld = closedByProxy;
    for (const socket of sockets) socket.destroy();
    await sleep(3000);
    const rssAfter = rssMiB(proxy.child.pid!);
    await client.stop();
    console.log(`      idle connections: ${open} of ${IDLE} held (${closedWhileHeld} closed by the proxy); proxy RSS ${rssBefore} MiB before, ${rssHeld} MiB holding them, ${rssAfter} MiB after; ${gauge.join(' ')}`);
    console.log(`      well-behaved client: ${client.describe()}`);
    expect(open, 'idle connections still open after 5 s').to.equal(IDLE);
    expect(closedWhileHeld, 'idle connections the proxy closed').to.equal(0);
    expect(client.failures, client.describe()).to.deep.equal([]);
    expect(client.ok).to.be.greaterThan(50);
    // Bounded: well under 100 KiB per idle connection (the figure is in the report).
    expect(rssHeld - rssBefore, 'RSS growth in MiB while holding them').to.be.lessThan((IDLE * 100) / 1024);
  });
});
