// Captures the first TLS record a real client sends: a plain TCP server on 127.0.0.1
// records bytes until the first record is whole (5-byte header + its length, RFC 8446
// §5.1), then closes. The framing here is deliberately independent of the parser.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';

/** A client under way; `stop` ends it however it is built (process kill, socket destroy). */
export interface RunningClient {
  stop(): void;
}

export interface RealClient {
  name: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(port: number): RunningClient;
}

const CAPTURE_TIMEOUT_MS = 5_000;

export async function captureClientHello(client: RealClient): Promise<Buffer> {
  const server = net.createServer();
  let running: RunningClient | undefined;
  try {
    const firstRecord = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${client.name}: no complete TLS record within ${CAPTURE_TIMEOUT_MS} ms`)), CAPTURE_TIMEOUT_MS);
      server.on('connection', (socket) => {
        const chunks: Buffer[] = [];
        let length = 0;
        socket.on('error', () => undefined);
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
          const bytes = Buffer.concat(chunks, length);
          if (bytes.length < 5 || bytes.length < 5 + bytes.readUInt16BE(3)) return;
          clearTimeout(timer);
          socket.destroy();
          resolve(bytes.subarray(0, 5 + bytes.readUInt16BE(3)));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    running = client.start((server.address() as net.AddressInfo).port);
    return await firstRecord;
  } finally {
    running?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function commandUnavailable(command: string): string | undefined {
  const probe = spawnSync(command, ['--version'], { stdio: 'ignore' });
  if (probe.error === undefined) return undefined;
  const fallback = spawnSync(command, ['version'], { stdio: 'ignore' });
  return fallback.error === undefined ? undefined : `${command} is not installed`;
}

function processClient(child: ChildProcess): RunningClient {
  child.on('error', () => undefined);
  return { stop: () => void child.kill('SIGKILL') };
}

function nodeTlsClient(options: tls.ConnectionOptions): RunningClient {
  const socket = tls.connect({ host: '127.0.0.1', rejectUnauthorized: false, ...options });
  socket.on('error', () => undefined);
  return { stop: () => socket.destroy() };
}

export const nodeWithServerName: RealClient = {
  name: 'node tls.connect servername + ALPN h2,http/1.1',
  unavailable: () => undefined,
  start: (port) => nodeTlsClient({ port, servername: 'Node.Example.TEST', ALPNProtocols: ['h2', 'http/1.1'] }),
};

export const nodeWithoutServerName: RealClient = {
  name: 'node tls.connect to an IP, no servername',
  unavailable: () => undefined,
  start: (port) => nodeTlsClient({ port }),
};

export const nodeTls12Only: RealClient = {
  name: 'node tls.connect maxVersion TLSv1.2',
  unavailable: () => undefined,
  start: (port) => nodeTlsClient({ port, servername: 'legacy.example.test', maxVersion: 'TLSv1.2' }),
};

export const opensslClient: RealClient = {
  name: 'openssl s_client -servername openssl.example.test -alpn h2',
  unavailable: () => commandUnavailable('openssl'),
  start: (port) =>
    processClient(
      // stdin stays open (a pipe) so s_client waits for the server instead of quitting.
      spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'openssl.example.test', '-alpn', 'h2'], { stdio: ['pipe', 'ignore', 'ignore'] }),
    ),
};

export const curlClient: RealClient = {
  name: 'curl --resolve curl.example.test:PORT:127.0.0.1',
  unavailable: () => commandUnavailable('curl'),
  start: (port) =>
    processClient(
      spawn('curl', ['-sk', '--max-time', '5', '--resolve', `curl.example.test:${port}:127.0.0.1`, `https://curl.example.test:${port}/`], { stdio: 'ignore' }),
    ),
};

/** Whether this curl offers h2 in ALPN: it does when built with HTTP2 (`curl -V` Features). */
export function curlSupportsHttp2(): boolean {
  const version = spawnSync('curl', ['-V'], { encoding: 'utf8' });
  return /^Features:.*\bHTTP2\b/m.test(version.stdout ?? '');
}
