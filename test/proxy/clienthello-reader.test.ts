import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import { createSelfSignedCertificate, type KeyMaterial } from '../../src/lib/certs.js';
import { readClientHello, type ClientHelloReadResult } from '../../src/proxy/clienthello-reader.js';
import { captureClientHello, nodeWithServerName } from './clienthello-capture.js';

const HANDOFF_NAME = 'handoff.example.test';
/** Every wait in these tests is bounded, so a failure reports what it waited for and cleanup still runs. */
const WAIT_MS = 3_000;

function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A TCP server on 127.0.0.1 whose connections go to `handle`; every accepted socket is destroyed at close. */
async function startServer(handle: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface ReadOutcome {
  socket: net.Socket;
  result: ClientHelloReadResult;
  /** Listener counts (see listenerCounts) just before readClientHello was called. */
  listenersBefore: number[];
}

/**
 * Accepts one connection and runs readClientHello on it; `next` gets the socket and the
 * result, as the proxy would. `accepted` is the server side while reading is under way.
 */
async function readFromNextConnection(
  options: Parameters<typeof readClientHello>[1],
  next: (socket: net.Socket, result: ClientHelloReadResult) => void = () => undefined,
): Promise<{ port: number; accepted: Promise<net.Socket>; outcome: Promise<ReadOutcome>; close(): Promise<void> }> {
  let accept: (socket: net.Socket) => void = () => undefined;
  let deliver: (outcome: ReadOutcome) => void = () => undefined;
  const accepted = new Promise<net.Socket>((resolve) => (accept = resolve));
  const outcome = new Promise<ReadOutcome>((resolve) => (deliver = resolve));
  const server = await startServer((socket) => {
    socket.on('error', () => undefined); // the test's own handler, so reader cleanup can be checked against it
    const listenersBefore = listenerCounts(socket);
    accept(socket);
    void readClientHello(socket, options).then((result) => {
      next(socket, result);
      deliver({ socket, result, listenersBefore });
    });
  });
  return {
    port: server.port,
    get accepted() {
      return within(accepted, 'the connection to be accepted');
    },
    get outcome() {
      return within(outcome, 'readClientHello to settle');
    },
    close: server.close,
  };
}

function listenerCounts(socket: net.Socket): number[] {
  return ['data', 'end', 'error', 'close', 'readable'].map((event) => socket.listenerCount(event));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

function expectKind<K extends ClientHelloReadResult['kind']>(result: ClientHelloReadResult, kind: K): Extract<ClientHelloReadResult, { kind: K }> {
  if (result.kind !== kind) expect.fail(`expected ${kind}, got ${JSON.stringify({ ...result, buffered: result.buffered.toString('hex') })}`);
  return result as Extract<ClientHelloReadResult, { kind: K }>;
}

describe('readClientHello', function () {
  this.timeout(4 * WAIT_MS);
  let capturedHello: Buffer;
  let certificate: KeyMaterial;

  before(async function () {
    capturedHello = await captureClientHello(nodeWithServerName);
    certificate = await createSelfSignedCertificate({ commonName: HANDOFF_NAME, dnsNames: [HANDOFF_NAME], algorithm: 'ecdsa-p256' });
  });

  it('assembles a hello sent in pieces with delays, and returns every byte read', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 });
    const client = await connect(server.port);
    try {
      const cuts = [1, 4, 7, 60, capturedHello.length];
      for (let i = 0; i < cuts.length; i++) {
        client.write(capturedHello.subarray(i === 0 ? 0 : cuts[i - 1], cuts[i]));
        await delay(20);
      }
      const { socket, result, listenersBefore } = await server.outcome;
      const complete = expectKind(result, 'complete');
      expect(complete.hello.serverName).to.equal('node.example.test');
      expect(complete.hello.alpnProtocols).to.deep.equal(['h2', 'http/1.1']);
      expect(complete.consumed).to.equal(capturedHello.length);
      expect(complete.buffered.equals(capturedHello), 'buffered bytes equal the bytes sent').to.equal(true);
      expect(listenerCounts(socket), 'listeners [data, end, error, close, readable] after').to.deep.equal(listenersBefore);
      expect(socket.isPaused(), 'socket handed back paused').to.equal(true);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('keeps bytes that arrive with and after the hello: in `buffered` or still queued on the socket', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 });
    const client = await connect(server.port);
    try {
      const early = Buffer.from([23, 3, 3, 0, 2, 0xaa, 0xbb]); // an application_data record right behind the hello
      client.write(Buffer.concat([capturedHello, early]));
      const { socket, result } = await server.outcome;
      const complete = expectKind(result, 'complete');
      expect(complete.buffered.subarray(complete.consumed).equals(early)).to.equal(true);
      client.write('later');
      await delay(50);
      const later: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => later.push(chunk));
      socket.resume();
      await delay(50);
      expect(Buffer.concat(later).toString()).to.equal('later');
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('times out a client that sends nothing: typed failure, socket left open, listeners removed', async function () {
    const server = await readFromNextConnection({ timeoutMs: 150 });
    const client = await connect(server.port);
    const started = Date.now();
    try {
      const { socket, result, listenersBefore } = await server.outcome;
      const elapsed = Date.now() - started;
      const interrupted = expectKind(result, 'interrupted');
      expect(interrupted.reason).to.equal('timeout');
      expect(interrupted.buffered.length).to.equal(0);
      expect(elapsed, 'elapsed ms').to.be.within(100, 1_500);
      expect(socket.destroyed, 'socket destroyed by the reader').to.equal(false);
      expect(listenerCounts(socket), 'listeners [data, end, error, close, readable] after').to.deep.equal(listenersBefore);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('reports EOF when the client ends before the hello is complete', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 });
    const client = await connect(server.port);
    try {
      client.end(capturedHello.subarray(0, 20));
      const { socket, result, listenersBefore } = await server.outcome;
      const interrupted = expectKind(result, 'interrupted');
      expect(interrupted.reason).to.equal('eof');
      expect(interrupted.buffered.equals(capturedHello.subarray(0, 20))).to.equal(true);
      expect(listenerCounts(socket)).to.deep.equal(listenersBefore);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('reports a socket error when the client resets the connection', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 });
    const client = await connect(server.port);
    try {
      client.write(capturedHello.subarray(0, 20));
      await delay(30);
      client.resetAndDestroy();
      const { socket, result, listenersBefore } = await server.outcome;
      const interrupted = expectKind(result, 'interrupted');
      expect(interrupted.reason).to.equal('socket-error');
      expect((interrupted.error as NodeJS.ErrnoException | undefined)?.code).to.equal('ECONNRESET');
      expect(interrupted.buffered.length).to.equal(20);
      expect(listenerCounts(socket)).to.deep.equal(listenersBefore);
    } finally {
      await server.close();
    }
  });

  it('reports closed when the socket is destroyed under it by someone else', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 });
    const client = await connect(server.port);
    try {
      (await server.accepted).destroy();
      const { socket, result, listenersBefore } = await server.outcome;
      expect(expectKind(result, 'interrupted').reason).to.equal('closed');
      expect(listenerCounts(socket)).to.deep.equal(listenersBefore);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('reports aborted when the caller signal fires, leaving the socket open', async function () {
    const controller = new AbortController();
    const server = await readFromNextConnection({ timeoutMs: 2_000, signal: controller.signal });
    const client = await connect(server.port);
    try {
      await server.accepted;
      controller.abort();
      const { socket, result, listenersBefore } = await server.outcome;
      expect(expectKind(result, 'interrupted').reason).to.equal('aborted');
      expect(socket.destroyed).to.equal(false);
      expect(listenerCounts(socket)).to.deep.equal(listenersBefore);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('rejects plaintext HTTP and leaves the socket usable for an HTTP 400 answer', async function () {
    const server = await readFromNextConnection({ timeoutMs: 2_000 }, (socket, result) => {
      if (result.kind === 'invalid' && result.reason === 'http') socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\nplain HTTP sent to a TLS port\n');
    });
    const client = await connect(server.port);
    try {
      const answer: Buffer[] = [];
      client.on('data', (chunk: Buffer) => answer.push(chunk));
      client.write('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n');
      const { result } = await server.outcome;
      const invalid = expectKind(result, 'invalid');
      expect(invalid.reason).to.equal('http');
      expect(invalid.buffered.toString('latin1')).to.match(/^GET \//);
      await within(once(client, 'end'), 'the HTTP 400 answer');
      expect(Buffer.concat(answer).toString()).to.match(/^HTTP\/1\.1 400 /);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('rejects an oversized claim at once, without waiting for the bytes or the timeout', async function () {
    const server = await readFromNextConnection({ timeoutMs: 5_000 });
    const client = await connect(server.port);
    const started = Date.now();
    try {
      client.write(Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00])); // ClientHello of 65536 bytes
      const { result } = await server.outcome;
      expect(expectKind(result, 'invalid').reason).to.equal('too-large');
      expect(Date.now() - started).to.be.below(1_000);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  describe('hand-off to whoever handles the socket next', function () {
    async function tlsClientRequest(port: number): Promise<{ alpn: string | false; answer: string }> {
      const client = tls.connect({ host: '127.0.0.1', port, servername: HANDOFF_NAME, ca: certificate.certPem, ALPNProtocols: ['h2', 'http/1.1'] });
      try {
        await within(once(client, 'secureConnect'), 'the TLS handshake through the hand-off');
        const chunks: Buffer[] = [];
        client.on('data', (chunk: Buffer) => chunks.push(chunk));
        client.write('ping');
        await within(once(client, 'end'), 'the answer over TLS');
        return { alpn: client.alpnProtocol ?? false, answer: Buffer.concat(chunks).toString() };
      } finally {
        client.destroy();
      }
    }

    /** A TLS session on `tlsSocket` that answers "ping" with what it saw of the handshake. */
    function answerPing(tlsSocket: tls.TLSSocket): void {
      // `servername` is set on server-side TLSSocket (Node docs) but missing from @types/node 20.
      const servername = () => (tlsSocket as tls.TLSSocket & { servername?: string | false }).servername;
      tlsSocket.on('error', () => undefined);
      tlsSocket.once('data', (chunk: Buffer) => tlsSocket.end(`${chunk.toString()} → pong from ${servername()} over ${tlsSocket.alpnProtocol}`));
    }

    it('socket.unshift(buffered) + new tls.TLSSocket({ isServer: true }) completes a real handshake', async function () {
      const secureContext = tls.createSecureContext({ key: certificate.keyPem, cert: certificate.certPem });
      const server = await readFromNextConnection({ timeoutMs: 2_000 }, (socket, result) => {
        if (result.kind !== 'complete') return void socket.destroy();
        socket.unshift(result.buffered);
        const tlsSocket = new tls.TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ['h2', 'http/1.1'] });
        answerPing(tlsSocket);
      });
      try {
        const { alpn, answer } = await tlsClientRequest(server.port);
        expect(alpn).to.equal('h2');
        expect(answer).to.equal(`ping → pong from ${HANDOFF_NAME} over h2`);
        const { result } = await server.outcome;
        expect(expectKind(result, 'complete').hello.serverName).to.equal(HANDOFF_NAME);
      } finally {
        await server.close();
      }
    });

    it("socket.unshift(buffered) + tlsServer.emit('connection', socket) completes a real handshake", async function () {
      const tlsServer = tls.createServer({ key: certificate.keyPem, cert: certificate.certPem, ALPNProtocols: ['http/1.1'] }, answerPing);
      tlsServer.on('tlsClientError', () => undefined);
      const server = await readFromNextConnection({ timeoutMs: 2_000 }, (socket, result) => {
        if (result.kind !== 'complete') return void socket.destroy();
        socket.unshift(result.buffered);
        tlsServer.emit('connection', socket);
      });
      try {
        const { alpn, answer } = await tlsClientRequest(server.port);
        expect(alpn).to.equal('http/1.1');
        expect(answer).to.equal(`ping → pong from ${HANDOFF_NAME} over http/1.1`);
      } finally {
        await server.close();
        tlsServer.close();
      }
    });

    it('passthrough: writing buffered to an upstream and piping completes the handshake with the upstream', async function () {
      const upstream = tls.createServer({ key: certificate.keyPem, cert: certificate.certPem, ALPNProtocols: ['h2'] }, answerPing);
      upstream.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const upstreamPort = (upstream.address() as net.AddressInfo).port;
      const server = await readFromNextConnection({ timeoutMs: 2_000 }, (socket, result) => {
        if (result.kind !== 'complete') return void socket.destroy();
        const backend = net.connect(upstreamPort, '127.0.0.1');
        backend.on('error', () => socket.destroy());
        backend.write(result.buffered);
        socket.pipe(backend).pipe(socket);
      });
      try {
        const { alpn, answer } = await tlsClientRequest(server.port);
        expect(alpn).to.equal('h2');
        expect(answer).to.equal(`ping → pong from ${HANDOFF_NAME} over h2`);
      } finally {
        await server.close();
        upstream.close();
      }
    });
  });
});
