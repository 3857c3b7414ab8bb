// Load generators and their output parsers: wrk (HTTP/1.1 keep-alive over TLS, with
// latency percentiles), h2load (HTTP/2 streams), openssl s_time (new and resumed
// handshakes), and a Node keep-alive client for machines without wrk.
import { spawn } from 'node:child_process';
import { Pool } from 'undici';
import { onInterrupt } from '../../src/lib/interrupt.js';
import { pinned, type CorePlan, type Tools } from './system.js';

export interface LoadResult {
  /** Requests (or handshakes) completed. */
  count: number;
  seconds: number;
  /** Bytes read by the client, where the tool says. */
  bytes?: number;
  /** Latency percentiles in milliseconds, where the tool says. */
  p50Ms?: number;
  p99Ms?: number;
  /** Errors or non-2xx answers the tool reported. */
  errors: number;
  /** Resumed handshakes (s_time -reuse), counted from the client's view of each connection. */
  resumed?: number;
  command: string;
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const forget = onInterrupt(() => child.kill('SIGKILL'));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      forget();
      resolve({ code, stdout, stderr });
    });
  });
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

export function parseWrk(output: string): Omit<LoadResult, 'command'> {
  const summary = /(\d+) requests in ([\d.]+)(us|ms|s|m), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(output);
  if (!summary) throw new Error(`wrk printed no summary:\n${output}`);
  const latency = (label: string): number | undefined => {
    const match = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(output);
    return match ? Number(match[1]) * TIME_UNITS[match[2]!]! : undefined;
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const errors = (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    count: Number(summary[1]),
    seconds: (Number(summary[2]) * TIME_UNITS[summary[3]!]!) / 1000,
    bytes: Number(summary[4]) * SIZE_UNITS[summary[5]!]!,
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    errors,
  };
}

export function parseH2load(output: string): Omit<LoadResult, 'command'> {
  const finished = /finished in ([\d.]+)(us|ms|s|m), ([\d.]+) req\/s/.exec(output);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  if (!finished || !requests) throw new Error(`h2load printed no summary:\n${output}`);
  return {
    count: Number(requests[4]),
    seconds: (Number(finished[1]) * TIME_UNITS[finished[2]!]!) / 1000,
    errors: Number(requests[5]) + Number(requests[6]) + Number(requests[7]),
  };
}

/** `N connections in T real seconds`; the progress characters say which connections resumed ('r'). */
export function parseSTime(output: string): Omit<LoadResult, 'command'> {
  const real = /(\d+) connections in (\d+) real seconds/.exec(output);
  const user = /(\d+) connections in ([\d.]+)s;/.exec(output);
  const match = real ?? user;
  if (!match) throw new Error(`openssl s_time printed no summary:\n${output}`);
  // s_time prints one mark per connection ('r' resumed, '*' full) before its summary line.
  // Words such as "reuse" in its banners are dropped: only runs of marks count.
  const progress = (output.split(/\d+ connections in/)[0] ?? '').replace(/[A-Za-z]*[A-Za-qs-z][A-Za-z]*/g, '');
  return { count: Number(match[1]), seconds: Number(match[2]), resumed: (progress.match(/r/g) ?? []).length, errors: 0 };
}

export interface LoadOptions {
  cores: CorePlan;
  tools: Tools;
  seconds: number;
}

export async function wrk(url: string, connections: number, options: LoadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${options.seconds}s`, '--latency', '--timeout', '10s', url];
  const [command, full] = pinned(options.cores.rest, 'wrk', args, options.tools.taskset);
  const result = await run(command, full, (options.seconds + 30) * 1000);
  if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}${result.stdout}`);
  return { ...parseWrk(result.stdout), command: `wrk ${args.join(' ')}` };
}

export async function h2load(url: string, connections: number, streams: number, options: LoadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-m${streams}`, '-D', String(options.seconds), url];
  const [command, full] = pinned(options.cores.rest, 'h2load', args, options.tools.taskset);
  const result = await run(command, full, (options.seconds + 30) * 1000);
  if (result.code !== 0) throw new Error(`h2load failed (${result.code}): ${result.stderr}${result.stdout}`);
  return { ...parseH2load(result.stdout), command: `h2load ${args.join(' ')}` };
}

/**
 * s_time's `-www PAGE` sends `GET PAGE HTTP/1.0` and no Host header, which a backend
 * answers with 400 and a closed connection (so the proxy would reconnect upstream every
 * time). Smuggle one in: the request becomes `GET / HTTP/1.0`, `Host: localhost`,
 * `X-Pad: HTTP/1.0`.
 */
const S_TIME_PAGE = '/ HTTP/1.0\r\nHost: localhost\r\nX-Pad:';

/**
 * `parallel` s_time clients at once; their counts are summed. Each connection also fetches
 * `/` (`-www`): the client must read to receive TLS 1.3 session tickets, without which
 * `-reuse` silently measures full handshakes.
 */
export async function sTime(hostPort: string, mode: 'new' | 'reuse', parallel: number, options: LoadOptions): Promise<LoadResult> {
  const args = ['s_time', '-connect', hostPort, `-${mode}`, '-time', String(options.seconds), '-www', S_TIME_PAGE];
  const [command, full] = pinned(options.cores.rest, 'openssl', args, options.tools.taskset);
  const results = await Promise.all(Array.from({ length: parallel }, () => run(command, full, (options.seconds + 30) * 1000)));
  const parsed = results.map((result) => {
    if (result.code !== 0) throw new Error(`openssl s_time failed (${result.code}): ${result.stderr}${result.stdout.slice(-2000)}`);
    return parseSTime(result.stdout);
  });
  return {
    count: parsed.reduce((sum, p) => sum + p.count, 0),
    seconds: Math.max(...parsed.map((p) => p.seconds)),
    resumed: parsed.reduce((sum, p) => sum + (p.resumed ?? 0), 0),
    errors: 0,
    command: `${parallel} × openssl ${args.join(' ').replace(S_TIME_PAGE, "$'/ HTTP/1.0\\r\\nHost: localhost\\r\\nX-Pad:'")}`,
  };
}

/** HTTP/1.1 keep-alive over TLS from this process (undici, no pipelining), when wrk is absent. No latency percentiles. */
export async function nodeKeepAlive(url: string, connections: number, ca: string, options: LoadOptions): Promise<LoadResult> {
  const origin = new URL(url);
  const pool = new Pool(origin.origin, { connections, pipelining: 1, connect: { ca, servername: origin.hostname } });
  let count = 0;
  let errors = 0;
  let bytes = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        try {
          const response = await pool.request({ path: origin.pathname, method: 'GET' });
          bytes += (await response.body.arrayBuffer()).byteLength;
          if (response.statusCode === 200) count++;
          else errors++;
          latencies.push(performance.now() - sent);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { count, seconds, bytes, errors, p50Ms: latencies[Math.floor(latencies.length * 0.5)], p99Ms: latencies[Math.floor(latencies.length * 0.99)], command: `node undici Pool (${connections} connections, keep-alive, no pipelining) GET ${url}` };
}

/**
 * New TLS connections from this process, `parallel` at a time, each with SNI: connect,
 * handshake, GET / with Connection: close, read to the end. For passthrough, where
 * openssl s_time cannot help (it sends no SNI).
 */
export async function nodeTlsConnections(host: string, port: number, servername: string, ca: string, parallel: number, options: LoadOptions): Promise<LoadResult> {
  const tls = await import('node:tls');
  let count = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const request = `GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`;
  const once = () =>
    new Promise<boolean>((resolve) => {
      // The request is written, not ended: a close_notify and FIN sent right behind it lets a
      // backend (nginx) drop the request as closed by the client before answering, at a rate
      // that depends on each proxy's timing. `Connection: close` ends it from the server side.
      const socket = tls.connect({ host, port, servername, ca, session: undefined }, () => socket.write(request));
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(bytes > 0));
    });
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (performance.now() < deadline) {
        if (await once()) count++;
        else errors++;
      }
    }),
  );
  return { count, seconds: (performance.now() - started) / 1000, errors, command: `node tls.connect × ${parallel} in parallel (SNI ${servername}, GET / then close, no session reuse)` };
}
