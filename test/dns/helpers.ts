// Test helpers: run the real CoreDNS stand-in on a free port with a temporary Corefile, and
// talk to it over real UDP and TCP sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { freePort, runCommand } from '../../src/lib/process.js';
import { waitForLogLine, type LogLine } from '../support/log-lines.js';

const dnsMain = fileURLToPath(new URL('../../src/dns/main.js', import.meta.url));

/** The manifest's Corefile (conformance base/manifests.yaml), with PORT for its port 53. */
export const conformanceCorefile = `.:PORT {
    forward . 8.8.8.8 9.9.9.9
    log
    errors
}
foo.bar.com:PORT {
  whoami
}
`;

export interface RunningDns {
  port: number;
  logs: LogLine[];
  /** What the process wrote to stdout so far (the `log` plugin's lines). */
  stdout(): string;
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Starts the server with `corefile`, each PORT in it replaced by a free port. */
export async function startDns(corefile: string): Promise<RunningDns> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-dns-'));
  const file = join(dir, 'Corefile');
  await writeFile(file, corefile.replaceAll('PORT', String(port)));
  const child = spawn(process.execPath, [dnsMain, '-conf', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    void rm(dir, { recursive: true, force: true });
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const logs: LogLine[] = [];
  await waitForLogLine(child, logs, (line) => line.msg === 'dns server listening', 'dns', 10_000);
  return { port, logs, stdout: () => stdout, stop: () => stopChild(child) };
}

/** Runs the server to its exit (for bad Corefiles): exit code and stderr lines. */
export async function runDnsToExit(corefile: string): Promise<{ code: number | null; stderrLines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-dns-'));
  try {
    const file = join(dir, 'Corefile');
    await writeFile(file, corefile);
    const result = await runCommand(process.execPath, [dnsMain, '-conf', file], { timeout: 10_000 });
    return { code: result.code, stderrLines: result.stderr.split('\n').filter((line) => line !== '') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function stopChild(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

/** For `after` hooks: kills every server a test started and did not stop. */
export async function killAllDns(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
}

export function query(name: string, type: 'A' | 'AAAA' | 'TXT' = 'A', extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }], ...extra });
}

/**
 * Sends one datagram from a fresh socket and resolves with the reply, or undefined if none
 * came within `waitMs` (used only to show that no reply is sent, never to time the server).
 */
export function udpExchange(port: number, message: Buffer, waitMs = 2000): Promise<{ reply: Buffer | undefined; localPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const finish = (reply: Buffer | undefined): void => {
      clearTimeout(timer);
      const localPort = socket.address().port;
      socket.close();
      resolve({ reply, localPort });
    };
    const timer = setTimeout(() => finish(undefined), waitMs);
    socket.once('message', (reply) => finish(reply));
    socket.once('error', reject);
    socket.send(message, port, '127.0.0.1');
  });
}

/** Sends length-framed messages on one TCP connection and resolves with `expected` replies. */
export function tcpExchange(port: number, messages: Buffer[], expected: number): Promise<{ replies: Buffer[]; localPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length >= expected) {
        const localPort = socket.localPort!;
        socket.destroy();
        resolve({ replies, localPort });
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`connection closed after ${replies.length} of ${expected} replies`)));
    socket.on('connect', () => {
      for (const message of messages) {
        const framed = Buffer.alloc(2 + message.length);
        framed.writeUInt16BE(message.length, 0);
        message.copy(framed, 2);
        socket.write(framed);
      }
    });
  });
}

export function decode(reply: Buffer | undefined): DecodedPacket & { rcode: string } {
  if (!reply) throw new Error('expected a DNS reply, got none');
  return dnsPacket.decode(reply) as DecodedPacket & { rcode: string };
}
