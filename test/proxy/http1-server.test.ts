// The lean HTTP/1.1 server (src/proxy/http1-server.ts): which heads it takes and which
// it leaves to node:http, and — end to end — that a proxy serving HTTP/1.1 with it
// answers byte for byte what a proxy serving everything with node:http answers
// (`--http1-server node`), for keep-alive, pipelining, bodies handed over mid-connection,
// every response framing, HEAD, 204/304, Connection: close, and malformed requests.
import { expect } from 'chai';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { parseRequestHead } from '../../src/proxy/http1-server.js';
import { closeAllBackends, config, freePort, httpBackend, httpRoute, listener, loopbackAddress, plainBlock, rule, startProxy, stopAllProxies, type RunningProxy } from './proxy-harness.js';

function parse(text: string) {
  const buffer = Buffer.from(text, 'latin1');
  return parseRequestHead(buffer, buffer.indexOf('\r\n\r\n'));
}

describe('lean HTTP/1.1 server: the heads it serves itself', () => {
  it('parses method, target, Host and lower-cased fields, joining repeats as node:http does', () => {
    const head = parse('GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-Multi: 1\r\nx-multi:  2 \r\nCookie: a=1\r\ncookie: b=2\r\nSet-Cookie: s=1\r\nset-cookie: s=2\r\nContent-Length: 0\r\n\r\n');
    expect(head).to.deep.equal({
      method: 'GET',
      target: '/a/b?c=d',
      authority: 'example.com',
      close: false,
      http10: false,
      headers: { host: 'example.com', 'x-multi': '1, 2', cookie: 'a=1; b=2', 'set-cookie': ['s=1', 's=2'], 'content-length': '0' },
    });
    expect(parse('HEAD / HTTP/1.1\r\nhost: h\r\nconnection: Close\r\n\r\n')).to.include({ method: 'HEAD', close: true });
    expect(parse('OPTIONS /x HTTP/1.1\r\nhost: h\r\nconnection: keep-alive\r\n\r\n')).to.include({ method: 'OPTIONS', close: false, http10: false });
    expect(parse('GET / HTTP/1.0\r\nhost: h\r\n\r\n')).to.include({ close: true, http10: true });
    expect(parse('GET / HTTP/1.0\r\nhost: h\r\nConnection: Keep-Alive\r\n\r\n')).to.include({ close: false, http10: true });
  });

  const leftToNode: [string, string][] = [
    ['a body (Content-Length)', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n'],
    ['a body (Transfer-Encoding)', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['an Upgrade', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
    ['Expect: 100-continue', 'PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n'],
    ['HTTP/0.9 or 2.0 on the request line', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n'],
    ['no Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['two Content-Lengths', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n'],
    ['an absolute-form target', 'GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['an asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n'],
    ['a lower-case method', 'get / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n'],
    ['an obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n'],
    ['a bare LF inside a field', 'GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n'],
    ['a control character in a value', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a Connection option other than close or keep-alive', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, x-hop\r\n\r\n'],
    ['a field named __proto__', 'GET / HTTP/1.1\r\nHost: h\r\n__proto__: x\r\n\r\n'],
  ];
  for (const [what, text] of leftToNode) {
    it(`leaves ${what} to node:http`, () => expect(parse(text)).to.equal(undefined));
  }
});

/** Reads one HTTP/1.1 response from `data` at `offset`; the test's own reader, for comparing two proxies. */
function readResponse(data: Buffer, offset: number, head: boolean): { text: string; next: number; untilClose: boolean } | undefined {
  const end = data.indexOf('\r\n\r\n', offset);
  if (end === -1) return undefined;
  const lines = data.toString('latin1', offset, end).split('\r\n');
  const status = lines[0]!;
  const fields = lines.slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
  });
  const field = (name: string) => fields.find(([n]) => n === name)?.[1];
  let body = '';
  let next = end + 4;
  let untilClose = false;
  const code = Number(status.split(' ')[1]);
  if (head || code === 204 || code === 304) {
    // no body
  } else if (field('transfer-encoding') === 'chunked') {
    for (;;) {
      const lineEnd = data.indexOf('\r\n', next);
      if (lineEnd === -1) return undefined;
      const size = parseInt(data.toString('latin1', next, lineEnd), 16);
      next = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = data.indexOf('\r\n\r\n', next - 2);
        if (trailerEnd === -1) return undefined;
        body += `[trailers:${data.toString('latin1', next, trailerEnd).toLowerCase()}]`;
        next = trailerEnd + 4;
        break;
      }
      if (data.length < next + size + 2) return undefined;
      body += data.toString('latin1', next, next + size);
      next += size + 2;
    }
  } else if (field('content-length') !== undefined) {
    const length = Number(field('content-length'));
    if (data.length < next + length) return undefined;
    body = data.toString('latin1', next, next + length);
    next += length;
  } else {
    body = data.toString('latin1', next);
    next = data.length;
    untilClose = true;
  }
  // Field order and name case differ between the writers and mean nothing (RFC 9110 §5.3); Date changes every second.
  const normalized = fields.filter(([name]) => name !== 'date').map(([name, value]) => `${name}: ${value}`).sort();
  return { text: `${status}\n${normalized.join('\n')}\n\n${body}`, next, untilClose };
}

/**
 * Sends `chunks` 15 ms apart and reads the answers until `expected` arrived, or the
 * connection closed. With `untilClosed`, also waits (within the 5 s) for the close that
 * follows the last answer: a server's FIN can arrive just after its final bytes.
 */
async function exchange(port: number, address: string, chunks: string[], heads: boolean[], expected = heads.length, untilClosed = false): Promise<{ responses: string[]; closed: boolean }> {
  const socket = net.connect(port, address);
  const received: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const done = new Promise<void>((resolve) => socket.once('close', () => ((closed = true), resolve())));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const chunk of chunks) {
    socket.write(chunk, 'latin1');
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  const responses: string[] = [];
  const started = Date.now();
  while (Date.now() - started < 5_000) {
    const data = Buffer.concat(received);
    responses.length = 0;
    let offset = 0;
    for (let i = 0; offset < data.length; i++) {
      const response = readResponse(data, offset, heads[i] ?? false);
      if (!response || (response.untilClose && !closed)) break;
      responses.push(response.text);
      offset = response.next;
    }
    if (closed || (responses.length >= expected && !untilClosed)) break;
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 20))]);
  }
  socket.destroy();
  return { responses, closed };
}

describe('lean HTTP/1.1 server: answers exactly as node:http does', function () {
  this.timeout(30_000);
  const address = loopbackAddress();
  let backend: http.Server;
  let lean: { proxy: RunningProxy; port: number };
  let node: { proxy: RunningProxy; port: number };
  /** Sends /held's body, which the backend keeps back after its head. */
  let releaseHeld: (() => void) | undefined;

  before(async () => {
    backend = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const seen = `${req.method} ${req.url} host=${req.headers.host} xff=${String(req.headers['x-forwarded-for'])} multi=${String(req.headers['x-multi'])} body=${body}`;
        switch (req.url) {
          case '/chunked':
            if (req.method === 'HEAD') return void res.writeHead(200, { 'content-type': 'text/plain' }).end();
            res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
            res.write('first;');
            res.addTrailers({ 'x-checksum': 'abc' });
            setTimeout(() => res.end('second'), 10);
            return;
          case '/te-and-cl':
            req.socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
            return;
          case '/close':
            req.socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil-close');
            return;
          case '/no-content':
            res.writeHead(204, { 'x-a': '1' }).end();
            return;
          case '/not-modified':
            res.writeHead(304, { etag: '"v1"' }).end();
            return;
          case '/big':
            res.writeHead(200, { 'content-length': String(200_000) }).end(Buffer.alloc(200_000, 'b'));
            return;
          case '/held':
            res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '9' }).flushHeaders();
            releaseHeld = () => res.end('held body');
            return;
          default:
            res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(seen)), 'x-multi-out': ['1', '2'] }).end(seen);
        }
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, address, () => resolve()));
    const backendPort = (backend.address() as AddressInfo).port;
    const start = async (mode: string) => {
      const port = await freePort(address);
      const proxy = await startProxy(['--http1-server', mode]);
      const answer = await proxy.put(
        config('v1', [
          listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], {
            httpRoutes: [httpRoute('web', 'plain', ['web.example.com'], [rule({ backends: [httpBackend('b', [{ address, port: backendPort }])] })])],
          }),
        ]),
      );
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      return { proxy, port };
    };
    [lean, node] = await Promise.all([start('lean'), start('node')]);
  });

  after(async () => {
    backend?.closeAllConnections();
    await new Promise((resolve) => backend?.close(resolve));
    await stopAllProxies();
    await closeAllBackends();
  });

  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: web.example.com\r\n${extra}\r\n`;
  const cases: { what: string; chunks: string[]; heads?: boolean[]; closes?: boolean }[] = [
    { what: 'keep-alive requests, each answered on the same connection', chunks: [get('/a'), get('/b', 'X-Multi: 1\r\nx-multi: 2\r\n'), get('/c?q=1')] },
    { what: 'pipelined requests in one write, answered in order', chunks: [get('/1') + get('/2') + get('/3')] },
    { what: 'a head split into single bytes', chunks: [...get('/split', 'X-A: b\r\n')] },
    { what: 'a body mid-connection (handed to node:http), then more requests', chunks: [get('/before'), 'POST /post HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: 5\r\n\r\nhello', get('/after')] },
    { what: 'chunked answers with trailers, 204 and 304', chunks: [get('/chunked', 'TE: trailers\r\n'), get('/no-content'), get('/not-modified'), get('/chunked')] },
    { what: 'a large answer', chunks: [get('/big'), get('/after-big')] },
    { what: 'HEAD answers carry no body', chunks: ['HEAD /head HTTP/1.1\r\nHost: web.example.com\r\n\r\n', get('/after-head'), 'HEAD /chunked HTTP/1.1\r\nHost: web.example.com\r\n\r\n', 'HEAD /x HTTP/1.1\r\nHost: nobody.example.com\r\n\r\n'], heads: [true, false, true, true] },
    { what: 'Connection: close closes after the answer', chunks: [get('/first'), get('/last', 'Connection: close\r\n')], closes: true },
    { what: 'a close-delimited backend answer is sent chunked, and the connection stays open', chunks: [get('/close'), get('/after-close')] },
    { what: 'the proxy’s own answers: no route, misdirected host', chunks: [get('/x').replace('web.example.com', 'nobody.example.com'), get('/y')] },
    { what: 'HTTP/1.0: closed after the answer', chunks: ['GET /old HTTP/1.0\r\nHost: web.example.com\r\n\r\n'], closes: true },
    { what: 'HTTP/1.0 with keep-alive: kept while the length is known, closed after a body of unknown length', chunks: ['GET /old HTTP/1.0\r\nHost: web.example.com\r\nConnection: keep-alive\r\n\r\n', 'GET /chunked HTTP/1.0\r\nHost: web.example.com\r\nConnection: keep-alive\r\n\r\n'], closes: true },
    { what: 'a malformed head after a good request: 400 and closed', chunks: [get('/good'), 'GET / HTTP/1.1\r\nHost : web.example.com\r\n\r\n'], closes: true },
    { what: 'an oversized head: 431', chunks: [get('/big-head', `X-Big: ${'a'.repeat(20_000)}\r\n`)], closes: true },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const heads = c.heads ?? [...c.chunks.join('').matchAll(/(GET|HEAD|POST) \/\S* HTTP\/1\.[01]\r\n/g)].map((match) => match[1] === 'HEAD');
      const closes = c.closes ?? false;
      const [fromLean, fromNode] = await Promise.all([exchange(lean.port, address, c.chunks, heads, heads.length, closes), exchange(node.port, address, c.chunks, heads, heads.length, closes)]);
      expect(fromNode.responses.length, `node:http answered ${fromNode.responses.join('\n---\n')}`).to.be.greaterThan(0);
      expect(fromLean.responses).to.deep.equal(fromNode.responses);
      if (closes) {
        expect(fromLean.closed, 'the lean server closed the connection').to.equal(true);
        expect(fromNode.closed, 'node:http closed the connection').to.equal(true);
      }
    });
  }

  it('a backend answer with both Transfer-Encoding and Content-Length is refused (502), never relayed with a length that splits the client connection', async () => {
    for (const { port } of [lean, node]) {
      const { responses } = await exchange(port, address, [get('/te-and-cl'), get('/after')], [false, false]);
      expect(responses[0]).to.match(/^HTTP\/1\.1 502 /);
      expect(responses.join('')).not.to.contain('hello');
      expect(responses[1]).to.match(/^HTTP\/1\.1 200 [^]*GET \/after /);
    }
  });

  it('a response head the backend sends before its body reaches the client at once, not only with the body', async () => {
    const socket = net.connect(lean.port, address);
    socket.on('error', () => {});
    let received = '';
    const arrived = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited 3 s for ${JSON.stringify(text)}; received ${JSON.stringify(received)}`)), 3_000);
        const check = () => {
          if (!received.includes(text)) return;
          clearTimeout(timer);
          socket.off('data', check);
          resolve();
        };
        socket.on('data', check);
        check();
      });
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    try {
      socket.write(get('/held'), 'latin1');
      // The backend sends the body only once the client has the head: a head held back for the body would never arrive.
      await arrived('\r\n\r\n');
      expect(received).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      expect(received).to.not.contain('held body');
      releaseHeld?.();
      await arrived('held body');
      expect(received.endsWith('\r\n\r\nheld body')).to.equal(true);
    } finally {
      socket.destroy();
    }
  });

  it('an idle keep-alive connection closes after --keep-alive-timeout-ms, an unfinished head gets 408 after --headers-timeout-ms', async () => {
    const port = await freePort(address);
    const proxy = await startProxy(['--keep-alive-timeout-ms', '300', '--headers-timeout-ms', '400']);
    const backendPort = (backend.address() as AddressInfo).port;
    await proxy.put(config('v1', [listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], { httpRoutes: [httpRoute('web', 'plain', [], [rule({ backends: [httpBackend('b', [{ address, port: backendPort }])] })])] })]));
    const idle = exchange(port, address, [get('/once')], [false], 2);
    const slow = exchange(port, address, [get('/first'), 'GET /unfinished HTTP/1.1\r\nHost: web.example.com\r\n'], [false, false], 3);
    const [afterOne, unfinished] = await Promise.all([idle, slow]);
    expect(afterOne.responses).to.have.length(1);
    expect(afterOne.closed).to.equal(true);
    expect(unfinished.responses).to.have.length(2);
    expect(unfinished.responses[1]).to.match(/^HTTP\/1\.1 408 /);
    expect(unfinished.closed).to.equal(true);
  });
});
