// Which server should run HTTP/1.1 after our own TLS termination: node:http (fed the
// TLSSocket when ALPN says http/1.1, what src/proxy/http-frontend.ts does) or one
// node:http2 secure server with `allowHTTP1` (its compatibility layer)? And what does
// the whole proxy cost per request compared with the backend alone?
//
//   npx tsc -p . && taskset -c 1 node dist/bench/proxy-http1-frontend.js [--seconds 3] [--rounds 3] [--connections 32]
//
// The server under test runs in a child pinned to CPU 0 (taskset), the load (undici
// Pool, keep-alive, no pipelining) in this process; run this process on the other core.
// Variants alternate A/B/A/B and the medians are reported, with requests per second and
// per server CPU-second (utime+stime from /proc/<pid>/stat), as BENCH-NOTES.md advises.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../src/lib/certs.js';
import { putConfig } from './lib/peers.js';
import { cpuSecondsOf, median } from './lib/system.js';

const cpuSeconds = (pid: number): number => cpuSecondsOf([pid]);

const self = fileURLToPath(import.meta.url);
const BODY = 'Running on Pod bench.\n';

type Variant = 'node-http' | 'h2-allowHTTP1' | 'backend-direct' | 'proxy';

// ---------------------------------------------------------------------------------
// Child: one server

function serveFrontend(variant: 'node-http' | 'h2-allowHTTP1', certPem: string, keyPem: string): void {
  const context = tls.createSecureContext({ cert: certPem, key: keyPem });
  const handler = (_req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    (res as http.ServerResponse).writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  };
  const h1 = http.createServer(handler as http.RequestListener);
  const h2 = http2.createSecureServer({ allowHTTP1: true, cert: certPem, key: keyPem }, handler as never);
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    // Same termination as src/proxy/termination.ts: a server TLSSocket with a prebuilt context.
    const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['h2', 'http/1.1'], ...(variant === 'h2-allowHTTP1' ? { server: h2 } : {}) });
    tlsSocket.on('error', () => {});
    tlsSocket.once('secure', () => {
      (tlsSocket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      if (variant === 'node-http') h1.emit('connection', tlsSocket);
      else h2.emit('secureConnection', tlsSocket);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as net.AddressInfo).port }));
}

function serveBackend(): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as net.AddressInfo).port }));
}

// ---------------------------------------------------------------------------------
// Parent: load and measure

function startChild(args: string[], cpu: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn('taskset', ['-c', cpu, process.execPath, self, ...args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ child, port: message.port }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function load(origin: string, servername: string | undefined, ca: string | undefined, seconds: number, connections: number, serverPid: number): Promise<{ rps: number; perCpuSecond: number }> {
  const pool = new Pool(origin, { connections, pipelining: 1, ...(ca ? { connect: { ca, servername } } : {}) });
  const headers = { host: servername ?? 'bench' };
  // Warm up: open every connection (handshakes are not what this measures).
  await Promise.all(Array.from({ length: connections * 2 }, () => pool.request({ path: '/', method: 'GET', headers }).then((r) => r.body.text())));
  let done = 0;
  let running = true;
  const cpuBefore = cpuSeconds(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (running) {
        const response = await pool.request({ path: '/', method: 'GET', headers });
        await response.body.text();
        done++;
        if (performance.now() - started > seconds * 1000) running = false;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(serverPid) - cpuBefore;
  await pool.close();
  return { rps: done / elapsed, perCpuSecond: done / Math.max(cpu, 0.001) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      seconds: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
    },
  });
  if (values.serve === 'backend-direct') return serveBackend();
  if (values.serve === 'node-http' || values.serve === 'h2-allowHTTP1') return serveFrontend(values.serve, process.env.BENCH_CERT!, process.env.BENCH_KEY!);

  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const ca = await createCertificateAuthority('bench CA');
  const leaf = await issueCertificate(ca, { commonName: 'bench.example.com', dnsNames: ['bench.example.com'], algorithm: 'ecdsa-p256' });
  const results = new Map<Variant, { rps: number[]; perCpuSecond: number[] }>();
  const record = (variant: Variant, result: { rps: number; perCpuSecond: number }) => {
    const entry = results.get(variant) ?? { rps: [], perCpuSecond: [] };
    entry.rps.push(result.rps);
    entry.perCpuSecond.push(result.perCpuSecond);
    results.set(variant, entry);
  };

  // 1. HTTP/1.1 frontends after our own TLS termination, alternated.
  for (let round = 0; round < rounds; round++) {
    for (const variant of ['node-http', 'h2-allowHTTP1'] as const) {
      const { child, port } = await startChild(['--serve', variant], '0', { BENCH_CERT: leaf.certPem, BENCH_KEY: leaf.keyPem });
      record(variant, await load(`https://127.0.0.1:${port}`, 'bench.example.com', ca.certPem, seconds, connections, child.pid!));
      child.kill('SIGKILL');
    }
  }

  // 2. The whole proxy (HTTPS keep-alive → HTTP/1.1 backend) against the backend alone.
  const backend = await startChild(['--serve', 'backend-direct'], '1');
  for (let round = 0; round < rounds; round++) {
    record('backend-direct', await load(`http://127.0.0.1:${backend.port}`, undefined, undefined, seconds, connections, backend.child.pid!));
    const proxy = spawn('taskset', ['-c', '0', process.execPath, fileURLToPath(new URL('../src/proxy/main.js', import.meta.url)), '--admin', '127.0.0.1:0', '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const adminPort = await new Promise<number>((resolve) => {
      let text = '';
      proxy.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /"adminPort":(\d+)/.exec(text);
        if (match) resolve(Number(match[1]));
      });
    });
    const proxyPort = 20_000 + Math.floor(Math.random() * 20_000);
    const answer = await putConfig(adminPort, {
      version: 'bench',
      listeners: [
        {
          name: 'https', address: '127.0.0.1', port: proxyPort, protocol: 'HTTPS',
          serverBlocks: [{ id: 'b', protocol: 'HTTPS', hostname: 'bench.example.com', tls: { mode: 'Terminate', certificates: [{ id: 'c', source: 'bench', keyType: 'ECDSA', certificateChainPem: leaf.certPem, privateKeyPem: leaf.keyPem }] }, sources: ['bench'] }],
          httpRoutes: [{ source: { kind: 'HTTPRoute', namespace: 'bench', name: 'r', creationTimestamp: '2024-01-01T00:00:00Z' }, serverBlock: 'b', hostnames: [], rules: [{ matches: [], filters: [], backends: [{ kind: 'Resolved', name: 'backend', weight: 1, protocol: 'HTTP/1.1', endpoints: [{ address: '127.0.0.1', port: backend.port }] }] }] }],
          grpcRoutes: [], tcpRoutes: [], tlsPassthrough: [],
        },
      ],
    });
    if (answer.status !== 200) throw new Error(`PUT /config: ${answer.status} ${answer.body}`);
    record('proxy', await load(`https://127.0.0.1:${proxyPort}`, 'bench.example.com', ca.certPem, seconds, connections, proxy.pid!));
    proxy.kill('SIGKILL');
  }
  backend.child.kill('SIGKILL');

  console.log(`HTTP/1.1 keep-alive, ${connections} connections, ${seconds} s x ${rounds} rounds (medians); server pinned to CPU 0`);
  for (const [variant, { rps, perCpuSecond }] of results) {
    console.log(`${variant.padEnd(16)} ${median(rps).toFixed(0).padStart(7)} req/s   ${median(perCpuSecond).toFixed(0).padStart(7)} req per server CPU-second`);
  }
}

await main();
