// The HTTP echo, against the real process, with real clients (undici, node:http2, node:net).
import { expect } from 'chai';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { request, WebSocket } from 'undici';
import { allAuto, killAllEchoes, startEcho, type RunningEcho } from './helpers.js';
import type { HttpRequestAssertions } from '../../src/echo/http-echo.js';
import { waitFor as waitUntil } from '../../src/lib/wait.js';

/** The JSON answer, as the server declares it. */
type EchoJson = HttpRequestAssertions;

function h2Get(session: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    let status = 0;
    let body = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
    stream.end();
  });
}

/** Sends a raw HTTP/1.1 request and reads one Content-Length framed answer (or until the server closes). */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
      const headerEnd = answer.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(answer.slice(0, headerEnd));
      if (headerEnd !== -1 && length && Buffer.byteLength(answer.slice(headerEnd + 4)) >= Number(length[1])) {
        socket.destroy();
        resolve(answer);
      }
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, 2000);
  });
}

describe('echo HTTP', function () {
  after(killAllEchoes);

  describe('plain format (reference guide)', () => {
    let echo: RunningEcho;
    let base: string;
    before(async () => {
      echo = await startEcho(allAuto);
      base = `http://127.0.0.1:${echo.ports.http}`;
    });
    after(() => echo.stop());

    for (const path of ['/', '/echo', '/healthz', '/any/path?x=1']) {
      it(`answers "Running on Pod <pod>." on ${path}`, async () => {
        const res = await request(`${base}${path}`);
        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
        expect(await res.body.text()).to.equal('Running on Pod echo-7d9f8-abcde.\n');
      });
    }

    it('answers the JSON echo when the request accepts application/json', async () => {
      const res = await request(`${base}/echo?q=1`, { headers: { accept: 'application/json', 'x-custom': 'v', host: 'demo.example.com' } });
      expect(res.statusCode).to.equal(200);
      expect(res.headers['content-type']).to.equal('application/json');
      expect(res.headers['x-content-type-options']).to.equal('nosniff');
      const body = (await res.body.json()) as EchoJson;
      expect(Object.keys(body)).to.deep.equal(['path', 'host', 'method', 'proto', 'headers', 'httpPort', 'namespace', 'ingress', 'service', 'pod']);
      expect(body).to.include({ path: '/echo?q=1', host: 'demo.example.com', method: 'GET', proto: 'HTTP/1.1', httpPort: String(echo.ports.http), namespace: 'tls-demo', pod: 'echo-7d9f8-abcde' });
      expect(body.headers['X-Custom']).to.deep.equal(['v']);
      expect(body.headers).to.not.have.property('Host');
    });

    it('speaks h2c with prior knowledge on the same port', async () => {
      const session = connectHttp2(base);
      try {
        const plain = await h2Get(session, '/x');
        expect(plain).to.deep.equal({ status: 200, body: 'Running on Pod echo-7d9f8-abcde.\n' });
        const json = JSON.parse((await h2Get(session, '/y', { accept: 'application/json' })).body) as EchoJson;
        expect(json.proto).to.equal('HTTP/2.0');
        expect(json.path).to.equal('/y');
        expect(json.host).to.equal(`127.0.0.1:${echo.ports.http}`);
      } finally {
        session.close();
      }
    });

    it('answers an HTTP/1.1 request that offers Upgrade: h2c as HTTP/1.1', async () => {
      const answer = await rawHttp(echo.ports.http!, 'GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      expect(answer).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).to.include('Running on Pod echo-7d9f8-abcde.\n');
    });

    it('adds the response headers X-Echo-Set-Header asks for', async () => {
      const res = await request(`${base}/`, { headers: { 'x-echo-set-header': 'X-Header-Set: set-value, X-Other:1' } });
      await res.body.text();
      expect(res.headers['x-header-set']).to.equal('set-value');
      expect(res.headers['x-other']).to.equal('1');
    });
  });

  describe('json format (upstream echo-basic)', () => {
    let echo: RunningEcho;
    let base: string;
    before(async () => {
      echo = await startEcho([...allAuto, '--format', 'json'], { SERVICE_NAME: 'infra-backend-v1', INGRESS_NAME: 'gw' });
      base = `http://127.0.0.1:${echo.ports.http}`;
    });
    after(() => echo.stop());

    it('echoes every path as JSON with the Pod context', async () => {
      const res = await request(`${base}/some/path`, { method: 'POST', body: 'x', headers: { 'x-forwarded-proto': 'https' } });
      const body = (await res.body.json()) as EchoJson;
      expect(body).to.include({ path: '/some/path', method: 'POST', namespace: 'tls-demo', ingress: 'gw', service: 'infra-backend-v1', pod: 'echo-7d9f8-abcde' });
      expect(body.headers['X-Forwarded-Proto']).to.deep.equal(['https']);
      expect(body.headers['Content-Length']).to.deep.equal(['1']);
    });

    it('says "Echoing back request made to <target> to client (<address>)" on stdout for each echoed request, as upstream does (the mirror tests read it in the Pod log)', async () => {
      let stdout = '';
      echo.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      await (await request(`${base}/mirror-me?uuid=1`)).body.dump();
      await waitUntil({ what: 'the echo line on stdout', timeoutMs: 5_000, intervalMs: 20 }, async () => (stdout.includes('/mirror-me') ? true : undefined));
      expect(stdout).to.match(/^Echoing back request made to \/mirror-me\?uuid=1 to client \(127\.0\.0\.1:\d+\)$/m);
    });

    it('serves /health, /status/<code> and 400 for a bad status', async () => {
      const health = await request(`${base}/health`);
      expect([health.statusCode, await health.body.text()]).to.deep.equal([200, 'OK']);
      for (const [path, code] of [['/status/503', 503], ['/status/204', 204], ['/status/abc', 400], ['/status/503?x=1', 400]] as const) {
        const res = await request(`${base}${path}`);
        await res.body.text();
        expect(res.statusCode, path).to.equal(code);
      }
    });

    it('redirects /status to /status/ and dot segments away, as Go ServeMux does, but keeps double slashes', async () => {
      for (const [path, location] of [['/status?a=1', '/status/?a=1'], ['/a/../health', '/health']]) {
        const answer = await rawHttp(echo.ports.http!, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
        expect(answer, path).to.match(/^HTTP\/1\.1 301 /);
        expect(answer, path).to.include(`\r\nLocation: ${location}\r\n`);
      }
      const res = await request(`${base}//double//slash`);
      expect(res.statusCode).to.equal(200);
      expect(((await res.body.json()) as EchoJson).path).to.equal('//double//slash');
    });

    it('waits for ?delay=<Go duration> and reports a bad one as a JSON 500', async () => {
      const started = Date.now();
      const res = await request(`${base}/?delay=300ms`);
      await res.body.text();
      expect(Date.now() - started).to.be.at.least(290);
      const bad = await request(`${base}/?delay=soon`);
      expect(bad.statusCode).to.equal(500);
      expect(await bad.body.json()).to.deep.equal({ message: 'time: invalid duration "soon"' });
    });

    it('simulates a flaky backend on /retry/: responseCode failures, then the echo', async () => {
      const url = `${base}/retry/code-500?uuid=u1&succeedAfter=2&responseCode=503`;
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await request(url);
        await res.body.text();
        codes.push(res.statusCode);
      }
      expect(codes).to.deep.equal([503, 503, 200]);
      const missing = await request(`${base}/retry/x?succeedAfter=1`);
      expect([missing.statusCode, await missing.body.text()]).to.deep.equal([400, 'uuid is required']);
    });

    it('resets the connection for a /retry/ failure without responseCode', async () => {
      let failure: unknown;
      try {
        const res = await request(`${base}/retry/reset?uuid=u2&succeedAfter=1`);
        await res.body.text();
      } catch (err) {
        failure = err;
      }
      expect(failure, 'the first attempt must fail at the connection level').to.be.instanceOf(Error);
      const res = await request(`${base}/retry/reset?uuid=u2&succeedAfter=1`);
      expect(res.statusCode).to.equal(200);
      expect(((await res.body.json()) as EchoJson).path).to.equal('/retry/reset?uuid=u2&succeedAfter=1');
    });

    it('echoes WebSocket text and binary messages on /ws', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${echo.ports.http}/ws`);
      ws.binaryType = 'arraybuffer';
      const received: Array<string | ArrayBuffer> = [];
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => {
          ws.send('Websocket Support!');
          ws.send(new Uint8Array([1, 2, 3, 250]));
          ws.send('x'.repeat(70_000));
        };
        ws.onmessage = (event) => {
          received.push(event.data as string | ArrayBuffer);
          if (received.length === 3) resolve();
        };
        ws.onerror = () => reject(new Error('websocket error'));
      });
      ws.close();
      expect(received[0]).to.equal('Websocket Support!');
      expect([...new Uint8Array(received[1] as ArrayBuffer)]).to.deep.equal([1, 2, 3, 250]);
      expect(received[2]).to.equal('x'.repeat(70_000));
    });
  });

  describe('echo-basic profile h2c port', () => {
    let echo: RunningEcho;
    before(async () => {
      echo = await startEcho(['--profile', 'echo-basic', '--address', '127.0.0.1', '--http-port', 'auto', '--h2c-port', 'auto'], { POD_NAME: 'infra-backend-v1-xyz', NAMESPACE: 'gateway-conformance-infra' });
    });
    after(() => echo.stop());

    it('refuses plain HTTP/1.1 like upstream', async () => {
      const res = await request(`http://127.0.0.1:${echo.ports.h2c}/`);
      expect([res.statusCode, await res.body.text()]).to.deep.equal([400, 'Expected h2c request']);
    });

    it('echoes h2c requests as JSON, reporting httpPort like upstream (HTTP_PORT, default 3000)', async () => {
      const session = connectHttp2(`http://127.0.0.1:${echo.ports.h2c}`);
      try {
        const { status, body } = await h2Get(session, '/backend-protocol-h2c');
        expect(status).to.equal(200);
        const json = JSON.parse(body) as EchoJson;
        expect(json).to.include({ proto: 'HTTP/2.0', path: '/backend-protocol-h2c', httpPort: '3000', namespace: 'gateway-conformance-infra', pod: 'infra-backend-v1-xyz' });
      } finally {
        session.close();
      }
    });

    it('echoes an HTTP/1.1 request carrying Upgrade: h2c, as upstream does', async () => {
      const answer = await rawHttp(echo.ports.h2c!, 'GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
      expect(answer).to.match(/^HTTP\/1\.1 200 OK\r\n/);
      const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as EchoJson;
      expect(json).to.include({ proto: 'HTTP/1.1', path: '/upgrade' });
      expect(json.headers.Upgrade).to.deep.equal(['h2c']);
    });

    it('answers JSON by default on the HTTP port', async () => {
      const res = await request(`http://127.0.0.1:${echo.ports.http}/x`);
      expect(((await res.body.json()) as EchoJson).pod).to.equal('infra-backend-v1-xyz');
    });
  });
});
