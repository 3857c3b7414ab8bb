// The stream relay reads the upstream into a reused buffer (stream-forwarder.ts,
// UpstreamReader): bytes must arrive exactly, in order, whether the client reads fast
// or slowly (writes that do not complete at once keep their buffer), over a TCP
// listener and a TLS-terminated TCP route; and a backend that speaks first is relayed
// even when its greeting arrives before the relay is set up.
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import net, { type Server } from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  closeAllBackends,
  config,
  freePort,
  listener,
  loopbackAddress,
  plainBlock,
  routeSource,
  startProxy,
  stopAllProxies,
  streamBackend,
  terminateBlock,
  testPki,
  tlsCertificate,
  type TestPki,
} from './proxy-harness.js';
import { connectEndpoint, relay } from '../../src/proxy/stream-forwarder.js';

const PAYLOAD = randomBytes(8 * 1024 * 1024 + 17);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Reads everything until the peer ends; `slow` pauses after every chunk, so the proxy's writes back up. */
function readAll(socket: net.Socket, slow: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (slow) {
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      }
    });
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

describe('proxy: stream relay delivers every byte exactly (reused upstream read buffer)', function () {
  this.timeout(60_000);
  let pki: TestPki;
  let address: string;
  let tcpPort: number;
  let tlsPort: number;
  let backend: Server;
  let trickle: Server;

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [tcpPort, tlsPort] = await Promise.all([freePort(address), freePort(address)]);
    // Speaks first: the whole payload at once on connect, then ends.
    backend = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end(PAYLOAD);
    });
    await new Promise<void>((resolve) => backend.listen(0, address, () => resolve()));
    const endpoint = { address, port: (backend.address() as net.AddressInfo).port };
    // The same payload in 4 KiB pieces, for relay() itself: small reads, whose writes to a
    // slow client are accepted (under the high-water mark) but do not complete at once.
    trickle = net.createServer((socket) => {
      socket.on('error', () => {});
      let offset = 0;
      const next = (): void => {
        if (offset >= PAYLOAD.length) return void socket.end();
        socket.write(PAYLOAD.subarray(offset, offset + 4096));
        offset += 4096;
        setImmediate(next);
      };
      next();
    });
    await new Promise<void>((resolve) => trickle.listen(0, address, () => resolve()));
    const proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('tcp', address, tcpPort, 'TCP', [plainBlock('tcp', 'TCP')], {
          tcpRoutes: [{ source: routeSource('tcp', 'TCPRoute'), serverBlock: 'tcp', hostnames: [], backends: [streamBackend('bulk', [endpoint])] }],
        }),
        listener('tls', address, tlsPort, 'TLS', [terminateBlock('tcp-in-tls', 'demo.example.com', [tlsCertificate('demo', pki.demoRsa)], 'TLS')], {
          tcpRoutes: [{ source: routeSource('tcp-in-tls', 'TLSRoute'), serverBlock: 'tcp-in-tls', hostnames: [], backends: [streamBackend('bulk', [endpoint])] }],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
    backend?.close();
    trickle?.close();
  });

  for (const slow of [false, true]) {
    it(`TCP listener, ${slow ? 'slow' : 'fast'} reader: 8 MiB arrive byte for byte`, async () => {
      const socket = net.connect({ host: address, port: tcpPort });
      const received = await readAll(socket, slow);
      expect(received.length).to.equal(PAYLOAD.length);
      expect(sha256(received)).to.equal(sha256(PAYLOAD));
    });
  }

  it('TLS-terminated TCP route, slow reader: 8 MiB arrive byte for byte', async () => {
    const socket = tls.connect({ host: address, port: tlsPort, servername: 'demo.example.com', ca: pki.ca.certPem });
    const received = await readAll(socket, true);
    expect(received.length).to.equal(PAYLOAD.length);
    expect(sha256(received)).to.equal(sha256(PAYLOAD));
  });

  it('several streams at once stay separate', async () => {
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => readAll(net.connect({ host: address, port: tcpPort }), i % 2 === 1)));
    for (const received of results) expect(sha256(received)).to.equal(sha256(PAYLOAD));
  });

  it('relay(): a client whose writes complete later (a TLS socket, a full send buffer) still gets exact bytes', async () => {
    // The client reads each chunk's memory only when its write completes, a few ms later,
    // as the kernel would: a read buffer reused under a pending write would corrupt it.
    const upstream = await connectEndpoint({ address, port: (trickle.address() as net.AddressInfo).port }, 5_000);
    const received: Buffer[] = [];
    let client: Duplex | undefined;
    const done = new Promise<void>((resolve) => {
      client = new Duplex({
        highWaterMark: 1 << 20,
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          setTimeout(() => {
            received.push(Buffer.from(chunk));
            callback();
          }, 3);
        },
        final(callback) {
          callback();
          resolve();
        },
      });
      relay(client, upstream);
    });
    await done;
    client?.destroy();
    const all = Buffer.concat(received);
    expect(all.length).to.equal(PAYLOAD.length);
    expect(sha256(all)).to.equal(sha256(PAYLOAD));
  });

  describe('relay(): byte counts and idle timeout without per-chunk work', () => {
    /** An echo backend: every byte back, FIN for FIN. */
    let echo: Server;
    before(async () => {
      echo = net.createServer({ allowHalfOpen: true }, (socket) => {
        socket.on('error', () => {});
        socket.pipe(socket);
      });
      await new Promise<void>((resolve) => echo.listen(0, address, () => resolve()));
    });
    after(() => echo?.close());

    /** A client socket as the proxy accepts it (paused), relayed to the echo backend. */
    async function relayedPair(options: Parameters<typeof relay>[2]): Promise<{ client: net.Socket; result: Promise<Parameters<NonNullable<NonNullable<Parameters<typeof relay>[2]>['onClose']>>[0]> }> {
      const front = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
      await new Promise<void>((resolve) => front.listen(0, address, () => resolve()));
      const client = net.connect({ host: address, port: (front.address() as net.AddressInfo).port, allowHalfOpen: true });
      client.on('error', () => {}); // an idle timeout resets the stream
      const accepted = await new Promise<net.Socket>((resolve) => front.once('connection', resolve));
      front.close();
      const upstream = await connectEndpoint({ address, port: (echo.address() as net.AddressInfo).port }, 5_000);
      const result = new Promise<Parameters<NonNullable<NonNullable<Parameters<typeof relay>[2]>['onClose']>>[0]>((resolve) => relay(accepted, upstream, { ...options, onClose: resolve }));
      return { client, result };
    }

    it('counts the bytes of both directions exactly, the initial bytes included', async () => {
      const initial = Buffer.from('hello-first');
      const { client, result } = await relayedPair({ initialBytes: initial });
      const sent = PAYLOAD.subarray(0, 1024 * 1024 + 5);
      const echoed = readAll(client, false);
      client.end(sent);
      const received = await echoed;
      client.destroy();
      const counts = await result;
      expect(received.length, 'echoed bytes').to.equal(initial.length + sent.length);
      expect(counts).to.deep.include({ bytesFromClient: initial.length + sent.length, bytesFromUpstream: initial.length + sent.length, outcome: 'completed' });
    });

    it('closes a stream without traffic as idle-timeout, and keeps one with traffic open', async () => {
      const quiet = await relayedPair({ idleTimeoutMs: 200 });
      const busy = await relayedPair({ idleTimeoutMs: 200 });
      busy.client.on('data', () => {});
      let busyClosed = false;
      void busy.result.then(() => (busyClosed = true));
      // Traffic every 40 ms for well over the limit; meanwhile the quiet one must time out.
      for (let i = 0; i < 20; i++) {
        busy.client.write('x');
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      const quietResult = await quiet.result;
      expect(quietResult.outcome).to.equal('idle-timeout');
      expect(busyClosed, 'the stream with traffic every 40 ms was closed by a 200 ms idle timeout').to.equal(false);
      busy.client.end();
      const busyResult = await busy.result;
      expect(busyResult.outcome).to.equal('completed');
      expect(busyResult.bytesFromClient).to.equal(20);
      quiet.client.destroy();
      busy.client.destroy();
    });
  });
});
