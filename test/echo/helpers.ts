// Test helpers: run the real echo process and make throwaway certificates with openssl.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import { runCommand } from '../../src/lib/process.js';
import { waitFor as waitUntil } from '../../src/lib/wait.js';
import { waitForLogLine, type LogLine } from '../support/log-lines.js';

export const echoMain = fileURLToPath(new URL('../../src/echo/main.js', import.meta.url));
export const grpcEchoProto = fileURLToPath(new URL('../../../src/echo/grpcecho.proto', import.meta.url));

export type { LogLine } from '../support/log-lines.js';

export interface RunningEcho {
  child: ChildProcess;
  /** Bound ports by listener name, from the start log line. */
  ports: Record<string, number>;
  logs: LogLine[];
  /** Sends SIGTERM and resolves with the exit code and how long the process took to go. */
  stop(): Promise<{ code: number | null; elapsedMs: number }>;
}

const running = new Set<ChildProcess>();

/** Every port `auto` and loopback only, unless the caller says otherwise. */
export const allAuto = ['--address', '127.0.0.1', '--http-port', 'auto', '--tcp-port', 'auto', '--udp-port', 'auto', '--grpc-port', 'auto', '--tls-port', '0'];

export async function startEcho(args: string[], env: Record<string, string> = {}): Promise<RunningEcho> {
  const child = spawn(process.execPath, [echoMain, ...args], {
    env: { PATH: process.env.PATH ?? '', POD_NAME: 'echo-7d9f8-abcde', POD_NAMESPACE: 'tls-demo', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: LogLine[] = [];
  const listening = await waitForLogLine(child, logs, (line) => line.msg === 'echo backend listening', 'echo', 5000);
  const ports: Record<string, number> = {};
  for (const listener of listening.listeners as { name: string; port: number }[]) ports[listener.name] = listener.port;
  return { child, ports, logs, stop: () => stopEcho(child) };
}

/** Runs the echo to completion (for bad-input cases): exit code and parsed stderr lines. */
export async function runEchoToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderrLines: string[] }> {
  const result = await runCommand(process.execPath, [echoMain, ...args], {
    env: { PATH: process.env.PATH ?? '', POD_NAME: 'echo-1', ...env },
    timeout: 10_000,
  });
  return { code: result.code, stdout: result.stdout, stderrLines: result.stderr.split('\n').filter((line) => line !== '') };
}

function stopEcho(child: ChildProcess): Promise<{ code: number | null; elapsedMs: number }> {
  const started = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, elapsedMs: 0 });
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve({ code, elapsedMs: Date.now() - started }));
    child.kill('SIGTERM');
  });
}

/** For `after` hooks: kills every echo process a test started and did not stop. */
export async function killAllEchoes(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** The library's waitFor, with this file's short signature. */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  return waitUntil({ what, timeoutMs, intervalMs: 50 }, async () => probe());
}

export interface CertificatePair {
  certFile: string;
  keyFile: string;
  certPem: string;
  /** Upper-case hex, as Node's getPeerCertificate().serialNumber shows it. */
  serial: string;
}

/** A self-signed certificate like the reference guide's (CN and SAN demo.example.com, serverAuth); `clientAuth` for client certificates. */
export async function makeCertificate(dir: string, name: string, commonName = 'demo.example.com', usage: 'serverAuth' | 'clientAuth' = 'serverAuth'): Promise<CertificatePair> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const result = await runCommand('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-sha256', '-nodes', '-days', '1',
    '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${commonName}`,
    '-addext', `subjectAltName=DNS:${commonName}`,
    '-addext', 'keyUsage=critical,digitalSignature',
    '-addext', `extendedKeyUsage=${usage}`,
  ]);
  if (result.code !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  const certPem = await readFile(certFile, 'utf8');
  return { certFile, keyFile, certPem, serial: new X509Certificate(certPem).serialNumber.toUpperCase() };
}

/** A Secret volume as kubelet lays it out: files behind a `..data` symlink to a timestamped directory. */
export class SecretVolume {
  private generation = 0;

  private constructor(readonly dir: string) {}

  static async create(dir: string, pair: CertificatePair): Promise<SecretVolume> {
    await mkdir(dir, { recursive: true });
    const volume = new SecretVolume(dir);
    await volume.swapTo(pair);
    await symlink('..data/tls.crt', join(dir, 'tls.crt'));
    await symlink('..data/tls.key', join(dir, 'tls.key'));
    return volume;
  }

  get certFile(): string {
    return join(this.dir, 'tls.crt');
  }

  get keyFile(): string {
    return join(this.dir, 'tls.key');
  }

  /** Writes a new generation and swaps `..data` to it atomically (rename of a symlink). */
  async swapTo(pair: { certPem: string; keyFile: string }): Promise<void> {
    const generationDir = `..gen_${++this.generation}`;
    await mkdir(join(this.dir, generationDir));
    await writeFile(join(this.dir, generationDir, 'tls.crt'), pair.certPem);
    await writeFile(join(this.dir, generationDir, 'tls.key'), await readFile(pair.keyFile));
    await symlink(generationDir, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A line-oriented TCP (or TLS) client that reads one line at a time, like upstream's test client. */
export class LineClient {
  private buffered = '';
  private waiters: Array<() => void> = [];
  private ended = false;

  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Resolves with the next line including its "\n". */
  async readLine(timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = this.buffered.indexOf('\n');
      if (newline !== -1) {
        const line = this.buffered.slice(0, newline + 1);
        this.buffered = this.buffered.slice(newline + 1);
        return line;
      }
      if (this.ended) throw new Error(`connection ended; unread: ${JSON.stringify(this.buffered)}`);
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs}ms; unread: ${JSON.stringify(this.buffered)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Everything until the peer ends the stream. */
  async readToEnd(timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`stream not ended within ${timeoutMs}ms; unread: ${JSON.stringify(this.buffered)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const rest = this.buffered;
    this.buffered = '';
    return rest;
  }

  write(text: string): void {
    this.socket.write(text);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }
}
