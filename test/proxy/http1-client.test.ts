// The lean HTTP/1.1 upstream client (src/proxy/http1-client.ts) against real sockets:
// node:http backends for the ordinary cases and raw net servers that write exact bytes
// for framing, timing and malformed-response cases.
import { expect } from 'chai';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { LeanHttp1Pool, type LeanDispatchOptions, type LeanHttp1PoolOptions, type LeanResponseHandler } from '../../src/proxy/http1-client.js';

const OPTIONS: LeanHttp1PoolOptions = { keepAliveTimeoutMs: 4_000, headersTimeoutMs: 10_000, connectTimeoutMs: 2_000, maxHeaderSize: 16 * 1024 };

type CodedError = Error & { code?: string };

/** Records what the client hands to the handler; `done` settles on onComplete or onError. */
class Recorder implements LeanResponseHandler {
  connects = 0;
  status = 0;
  headers: string[] = [];
  chunks: Buffer[] = [];
  trailers: string[] | null | undefined;
  error: CodedError | undefined;
  abort: ((reason?: Error) => void) | undefined;
  resume: (() => void) | undefined;
  readonly done: Promise<Recorder>;
  private finish!: () => void;

  constructor(private readonly accept: (recorder: Recorder, chunk: Buffer) => boolean = () => true) {
    this.done = new Promise((resolve) => (this.finish = () => resolve(this)));
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.connects++;
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    expect(this.status, 'onHeaders once').to.equal(0);
    this.status = statusCode;
    this.headers = rawHeaders;
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    return this.accept(this, chunk);
  }

  onComplete(rawTrailers: string[] | null): void {
    this.trailers = rawTrailers;
    this.finish();
  }

  onError(error: Error): void {
    expect(this.error, 'onError once').to.equal(undefined);
    this.error = error;
    this.finish();
  }
}

function send(pool: LeanHttp1Pool, options: Partial<LeanDispatchOptions> = {}, recorder = new Recorder()): Promise<Recorder> {
  pool.dispatch({ method: 'GET', path: '/', headers: { host: 'backend.test' }, ...options }, recorder);
  return recorder.done;
}

interface RawBackend {
  port: number;
  connections: Socket[];
  requests: string[];
  close(): Promise<void>;
}

/** A net server that calls `answer` for every complete request head it reads (bodiless requests only). */
async function rawBackend(answer: (socket: Socket, head: string, index: number) => void): Promise<RawBackend> {
  const connections: Socket[] = [];
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    connections.push(socket);
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        requests.push(head);
        answer(socket, head, requests.length - 1);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    requests,
    close: async () => {
      for (const socket of connections) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

async function httpBackend(handler: http.RequestListener): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer(handler);
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

describe('lean HTTP/1.1 upstream client', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function poolFor(backend: { port: number; close(): Promise<void> }, options: Partial<LeanHttp1PoolOptions> = {}): Promise<LeanHttp1Pool> {
    const pool = new LeanHttp1Pool('127.0.0.1', backend.port, { ...OPTIONS, ...options });
    cleanups.push(() => backend.close(), () => pool.destroy());
    return pool;
  }

  async function raw(answer: (socket: Socket, head: string, index: number) => void, options: Partial<LeanHttp1PoolOptions> = {}): Promise<{ backend: RawBackend; pool: LeanHttp1Pool }> {
    const backend = await rawBackend(answer);
    return { backend, pool: await poolFor(backend, options) };
  }

  it('reuses one keep-alive connection for sequential requests and reads Content-Length bodies', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const backend = await httpBackend((request, response) => {
      seen.push(request.headers);
      response.setHeader('x-path', request.url!);
      response.end(`hello ${request.url}`);
    });
    const pool = await poolFor(backend);
    for (const path of ['/a', '/b', '/c']) {
      const result = await send(pool, { path, headers: { host: 'backend.test', 'x-multi': ['1', '2'] } });
      expect(result.error).to.equal(undefined);
      expect(result.status).to.equal(200);
      expect(result.body).to.equal(`hello ${path}`);
      expect(result.headers).to.include.members(['x-path', path]);
      expect(result.trailers).to.equal(null);
    }
    expect(backend.connections(), 'server-side connections').to.equal(1);
    expect(seen[0]).to.include({ host: 'backend.test', 'x-multi': '1, 2' });
    expect(seen[0]).to.not.have.property('connection');
  });

  it('sends content-length: 0 on a bodiless POST, and none on GET', async () => {
    const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    await send(pool, { method: 'POST' });
    await send(pool);
    expect(backend.requests[0]).to.equal('POST / HTTP/1.1\r\nhost: backend.test\r\ncontent-length: 0\r\n\r\n');
    expect(backend.requests[1]).to.equal('GET / HTTP/1.1\r\nhost: backend.test\r\n\r\n');
  });

  it('decodes a chunked body and hands over its trailers as raw pairs', async () => {
    const backend = await httpBackend((_request, response) => {
      response.writeHead(200, { trailer: 'x-checksum' });
      response.write('first ');
      response.write('second');
      response.addTrailers({ 'x-checksum': 'abc' });
      response.end();
    });
    const pool = await poolFor(backend);
    const result = await send(pool);
    expect(result.body).to.equal('first second');
    expect(result.trailers).to.deep.equal(['x-checksum', 'abc']);
    await send(pool);
    expect(backend.connections()).to.equal(1);
  });

  it('reads a close-delimited body to the end and does not reuse that socket', async () => {
    const { backend, pool } = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\npart one, ');
      setTimeout(() => socket.end('part two'), 20);
    });
    const result = await send(pool);
    expect(result.error).to.equal(undefined);
    expect(result.body).to.equal('part one, part two');
    await send(pool);
    expect(backend.connections.length).to.equal(2);
  });

  it('reads a Transfer-Encoding whose final coding is not chunked to the close', async () => {
    const { pool } = await raw((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcdef'));
    const result = await send(pool);
    expect(result.body).to.equal('abcdef');
  });

  it('expects no body after HEAD, 204 and 304, whatever Content-Length says, and keeps the socket', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
      'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n',
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ];
    const { backend, pool } = await raw((socket, _head, index) => socket.write(answers[index]!));
    const head = await send(pool, { method: 'HEAD' });
    expect([head.status, head.body, head.error]).to.deep.equal([200, '', undefined]);
    const noContent = await send(pool);
    expect([noContent.status, noContent.body]).to.deep.equal([204, '']);
    const notModified = await send(pool);
    expect([notModified.status, notModified.body]).to.deep.equal([304, '']);
    const last = await send(pool);
    expect(last.body).to.equal('ok');
    expect(backend.connections.length).to.equal(1);
  });

  it('skips 100 and 103 interim responses and reports only the final one', async () => {
    const { pool } = await raw((socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone'));
    const result = await send(pool);
    expect(result.status).to.equal(200);
    expect(result.headers).to.deep.equal(['Content-Length', '4']);
    expect(result.body).to.equal('done');
  });

  it('fails on a 101 the request did not ask for', async () => {
    const { pool } = await raw((socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
    const result = await send(pool);
    expect(result.error?.code).to.equal('UND_ERR_INVALID_RESPONSE');
    expect(result.status).to.equal(0);
  });

  it('parses a response that arrives one byte at a time, and reuses the socket after it', async () => {
    const response = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nx-t: 1\r\n\r\n');
    const { backend, pool } = await raw((socket, _head, index) => {
      if (index > 0) return void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      void (async () => {
        for (const byte of response) {
          socket.write(Buffer.of(byte));
          await sleep(1);
        }
      })();
    });
    const result = await send(pool);
    expect(result.error).to.equal(undefined);
    expect(result.body).to.equal('abcdefg');
    expect(result.trailers).to.deep.equal(['x-t', '1']);
    expect(result.chunks.length, 'several onData calls').to.be.greaterThan(2);
    expect((await send(pool)).body).to.equal('ok');
    expect(backend.connections.length).to.equal(1);
  });

  it('drops the socket when bytes follow a complete response in the same packet', async () => {
    const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'));
    const first = await send(pool);
    expect(first.body).to.equal('ok');
    const second = await send(pool);
    expect(second.body).to.equal('ok');
    expect(backend.connections.length).to.equal(2);
  });

  it('stops calling onData while the handler is paused, until resume()', async () => {
    const { pool } = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n');
      setTimeout(() => socket.write('1\r\nb\r\n1\r\nc\r\n0\r\n\r\n'), 30);
    });
    let paused = false;
    const recorder = new Recorder(() => {
      expect(paused, 'onData while paused').to.equal(false);
      if (recorder.chunks.length === 1) paused = true;
      return !paused;
    });
    pool.dispatch({ method: 'GET', path: '/', headers: { host: 'b' } }, recorder);
    await until(() => paused, 'the first chunk arrived');
    await sleep(150); // the rest has arrived at the socket by now
    expect(recorder.chunks.length).to.equal(1);
    expect(recorder.trailers).to.equal(undefined);
    paused = false;
    recorder.resume!();
    await recorder.done;
    expect(recorder.body).to.equal('abc');
  });

  it('delivers a close-delimited body whose end arrived while the handler was paused', async () => {
    const { pool } = await raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\nfirst,');
      setTimeout(() => socket.end('second,third'), 30);
    });
    let paused = false;
    const recorder = new Recorder((self) => {
      expect(paused, 'onData while paused').to.equal(false);
      paused = self.chunks.length === 1;
      return !paused;
    });
    pool.dispatch({ method: 'GET', path: '/', headers: { host: 'b' } }, recorder);
    await until(() => paused, 'the first chunk arrived');
    await sleep(150); // the rest and the close have reached the socket by now
    expect(recorder.trailers).to.equal(undefined);
    expect(recorder.error).to.equal(undefined);
    paused = false;
    recorder.resume!();
    await recorder.done;
    expect([recorder.body, recorder.error]).to.deep.equal(['first,second,third', undefined]);
  });

  it('gives up on a backend that sends no response head within headersTimeout', async () => {
    const { pool } = await raw(() => {}, { headersTimeoutMs: 100 });
    const result = await send(pool);
    expect(result.connects).to.equal(1);
    expect(result.error?.code).to.equal('UND_ERR_HEADERS_TIMEOUT');
  });

  it('reports a refused connection with the OS code and without onConnect', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    server.close();
    await once(server, 'close');
    const pool = new LeanHttp1Pool('127.0.0.1', port, OPTIONS);
    const result = await send(pool);
    expect(result.error?.code).to.equal('ECONNREFUSED');
    expect(result.connects).to.equal(0);
  });

  it('opens a new socket when the backend closed the idle one', async () => {
    const { backend, pool } = await raw((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    expect((await send(pool)).body).to.equal('ok');
    await until(() => pool.size === 0, 'the client saw the close');
    expect((await send(pool)).body).to.equal('ok');
    expect(backend.connections.length).to.equal(2);
  });

  it('fails with UND_ERR_SOCKET when the backend closes a reused socket under a request', async () => {
    const { pool } = await raw((socket, _head, index) => {
      if (index === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    await send(pool);
    const result = await send(pool);
    expect(result.connects).to.equal(1);
    expect(result.error?.code).to.be.oneOf(['UND_ERR_SOCKET', 'ECONNRESET']);
  });


  // A backend process that dies takes every idle socket with it, but their FINs can still
  // be unread when the forwarder resends: the resend must open a fresh connection.
  it('closes the other idle sockets when a reused one fails before any answer byte, so the next request connects afresh', async () => {
    const { backend, pool } = await raw((socket, _head, index) => {
      if (index === 2) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    await Promise.all([send(pool), send(pool)]);
    expect(pool.idleCount, 'two sockets idle').to.equal(2);
    const failed = await send(pool);
    expect(failed.error?.code).to.be.oneOf(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
    expect(pool.idleCount, 'the other idle socket was dropped too').to.equal(0);
    expect((await send(pool)).body).to.equal('ok');
    expect(backend.connections.length, 'the next request opened a fresh connection').to.equal(3);
  });

  it('keeps the other idle sockets when a reused one fails after its answer began', async () => {
    const { pool } = await raw((socket, _head, index) => {
      if (index === 2) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    await Promise.all([send(pool), send(pool)]);
    const failed = await send(pool);
    expect(failed.error?.code).to.equal('UND_ERR_SOCKET');
    expect(pool.idleCount, 'the other idle socket is still there').to.equal(1);
  });
  it('fails with UND_ERR_SOCKET when a Content-Length body is cut short', async () => {
    const { pool } = await raw((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    const result = await send(pool);
    expect(result.status).to.equal(200);
    expect(result.error?.code).to.equal('UND_ERR_SOCKET');
  });

  const malformed: [string, string][] = [
    ['a status line without the version', '200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['an HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'],
    ['a two-digit status code', 'HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n'],
    ['obs-fold (RFC 9112 §5.2)', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n'],
    ['whitespace before the colon (RFC 9112 §5.1)', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n'],
    ['a bare CR in a value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n'],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n'],
    ['differing Content-Length values', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc'],
    ['a non-numeric Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabc'],
    ['an invalid chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    // The client would get this Content-Length beside a body of another length (response splitting).
    ['Transfer-Encoding: chunked and a Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['Transfer-Encoding: gzip and a Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nabcdef'],
    ['a chunk not followed by CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n'],
  ];
  for (const [name, response] of malformed) {
    it(`refuses a response with ${name}`, async () => {
      const { pool } = await raw((socket) => socket.write(response));
      const result = await send(pool);
      expect(result.error?.code, `status ${result.status}, body ${JSON.stringify(result.body)}`).to.equal('UND_ERR_INVALID_RESPONSE');
      expect(pool.size).to.equal(0);
    });
  }

  it('accepts identical repeated Content-Length values and a status line without a reason', async () => {
    const { pool } = await raw((socket) => socket.write('HTTP/1.1 200\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok'));
    const result = await send(pool);
    expect([result.status, result.body, result.error]).to.deep.equal([200, 'ok', undefined]);
  });

  it('refuses a response head larger than maxHeaderSize', async () => {
    const { pool } = await raw((socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2_000)}\r\nContent-Length: 0\r\n\r\n`), { maxHeaderSize: 1_024 });
    const result = await send(pool);
    expect(result.error?.code).to.equal('UND_ERR_HEADERS_OVERFLOW');
  });

  const injections: [string, Partial<LeanDispatchOptions>][] = [
    ['CRLF in a header value', { headers: { host: 'b', 'x-a': 'v\r\nx-injected: 1' } }],
    ['LF in one of several values', { headers: { host: 'b', 'x-a': ['ok', 'v\nx-injected: 1'] } }],
    ['NUL in a header value', { headers: { host: 'b', 'x-a': 'v\0' } }],
    ['a space in a header name', { headers: { host: 'b', 'x a': 'v' } }],
    ['a colon in a header name', { headers: { host: 'b', 'x-a:': 'v' } }],
    ['CRLF in the path', { path: '/ HTTP/1.1\r\nx-injected: 1\r\n\r\nGET /' }],
    ['a space in the method', { method: 'GET /x' }],
  ];
  for (const [name, options] of injections) {
    it(`refuses, synchronously and without writing, a request with ${name}`, async () => {
      const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
      const recorder = new Recorder();
      expect(() => pool.dispatch({ method: 'GET', path: '/', headers: { host: 'b' }, ...options }, recorder))
        .to.throw()
        .with.property('code', 'UND_ERR_INVALID_ARG');
      expect(pool.size).to.equal(0);
      expect(recorder.connects).to.equal(0);
      await send(pool);
      expect(backend.requests).to.deep.equal(['GET / HTTP/1.1\r\nhost: backend.test\r\n\r\n']);
    });
  }

  it('closes idle sockets after keepAliveTimeout', async () => {
    const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), { keepAliveTimeoutMs: 100 });
    await send(pool);
    expect(pool.idleCount).to.equal(1);
    await until(() => backend.connections[0]!.readableEnded || backend.connections[0]!.destroyed, 'the backend saw the close');
    expect(pool.size).to.equal(0);
  });

  it("honours a backend's Keep-Alive timeout hint minus one second", async () => {
    const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n'));
    await send(pool);
    await send(pool);
    expect(backend.connections.length, '1 s - 1 s leaves no time to reuse').to.equal(2);
  });

  it('takes the Keep-Alive hint from each response: a later response without one restores keepAliveTimeout', async () => {
    const answers = ['Keep-Alive: timeout=2\r\n', '', ''];
    const { backend, pool } = await raw((socket, _head, index) => socket.write(`HTTP/1.1 200 OK\r\n${answers[index]}Content-Length: 0\r\n\r\n`));
    await send(pool); // hinted: 2 s - 1 s
    await send(pool); // the same socket, no hint: back to 4 s
    await sleep(1_300);
    await send(pool);
    expect(backend.connections.length, 'the socket outlived the earlier hint').to.equal(1);
  });

  it('close() lets a request in flight finish, then closes; later requests fail UND_ERR_CLOSED', async () => {
    const { backend, pool } = await raw((socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate'), 100));
    const inFlight = send(pool);
    await until(() => backend.requests.length === 1, 'the request reached the backend');
    const closed = pool.close();
    const result = await inFlight;
    expect(result.body).to.equal('late');
    await closed;
    expect(pool.size).to.equal(0);
    const after = await send(pool);
    expect(after.error?.code).to.equal('UND_ERR_CLOSED');
  });

  it('abort() after the request was written drops the socket and reports the reason once', async () => {
    const { backend, pool } = await raw(() => {});
    const recorder = new Recorder();
    pool.dispatch({ method: 'GET', path: '/', headers: { host: 'b' } }, recorder);
    await until(() => backend.requests.length === 1, 'the request reached the backend');
    recorder.abort!(Object.assign(new Error('client gone'), { code: 'client-gone' }));
    await recorder.done;
    expect(recorder.error?.code).to.equal('client-gone');
    await until(() => backend.connections[0]!.readableEnded || backend.connections[0]!.destroyed, 'the backend saw the close');
  });

  it('abort() inside onConnect sends nothing and keeps the socket for the next request', async () => {
    const { backend, pool } = await raw((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    await send(pool);
    const recorder = new Recorder();
    recorder.onConnect = (abort) => abort(Object.assign(new Error('timeout'), { code: 'timeout' }));
    pool.dispatch({ method: 'GET', path: '/', headers: { host: 'b' } }, recorder);
    await recorder.done;
    expect(recorder.error?.code).to.equal('timeout');
    expect((await send(pool)).status).to.equal(200);
    expect(backend.requests.length).to.equal(2);
    expect(backend.connections.length).to.equal(1);
  });
});
