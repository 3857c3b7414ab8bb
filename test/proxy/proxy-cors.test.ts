// The CORS filter end to end, through the real proxy: curl sends the preflight a browser
// would (OPTIONS with Origin and Access-Control-Request-Method) and the proxy answers it
// without reaching the backend; undici sends the actual requests over HTTP/1.1, an h2c
// client over HTTP/2, and the backend's answers get the CORS headers only for allowed
// origins. Requests without Origin pass untouched.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  type HttpBackendServer,
} from './proxy-harness.js';

const run = promisify(execFile);

describe('proxy: CORS filter (HTTPCORSFilter)', function () {
  this.timeout(15_000);
  let address: string;
  let port: number;
  let backend: HttpBackendServer;
  let pool: Pool;

  before(async function () {
    this.timeout(30_000);
    address = loopbackAddress();
    port = await freePort(address);
    backend = await startHttpBackend(address, 'a');
    const proxy = await startProxy();
    const cors = {
      type: 'CORS' as const,
      allowOrigins: ['https://www.foo.com', 'https://*.bar.com'],
      allowCredentials: true,
      allowMethods: ['GET', 'PUT'],
      allowHeaders: ['x-header-1', 'x-header-2'],
      exposeHeaders: ['x-backend'],
      maxAgeSeconds: 3600,
    };
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], {
          httpRoutes: [
            httpRoute('web', 'plain', ['web.example.com'], [
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/cors' } }], filters: [cors], backends: [httpBackend('a', [backend])] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/moved' } }], filters: [cors, { type: 'RequestRedirect', path: { type: 'ReplaceFullPath', replaceFullPath: '/cors' }, statusCode: 302 }], backends: [] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/plain' } }], backends: [httpBackend('a', [backend])] }),
            ]),
          ],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    pool = new Pool(`http://${address}:${port}`);
  });

  after(async () => {
    await pool?.close();
    await stopAllProxies();
    await closeAllBackends();
  });

  /** Status and headers of curl's answer (lower-case names). */
  async function curl(args: string[]): Promise<{ status: number; headers: Record<string, string> }> {
    const { stdout } = await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-H', 'Host: web.example.com', ...args]);
    const [statusLine, ...lines] = stdout.trim().split(/\r?\n/);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(statusLine!.split(' ')[1]), headers };
  }

  const preflight = (origin: string, path = '/cors/items') =>
    curl(['-X', 'OPTIONS', '-H', `Origin: ${origin}`, '-H', 'Access-Control-Request-Method: PUT', '-H', 'Access-Control-Request-Headers: x-header-1', `http://${address}:${port}${path}`]);

  it('a preflight from an allowed origin is answered by the proxy: 204 and the CORS headers, nothing sent to the backend', async () => {
    const before = backend.requests.length;
    const answer = await preflight('https://deep.www.bar.com');
    expect(answer.status).to.equal(204);
    expect(answer.headers).to.include({
      'access-control-allow-origin': 'https://deep.www.bar.com',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-headers': 'x-header-1, x-header-2',
      'access-control-expose-headers': 'x-backend',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '3600',
    });
    expect(backend.requests.length, 'the backend saw the preflight').to.equal(before);
  });

  it('a preflight from another origin gets 403 and no CORS header', async () => {
    const answer = await preflight('https://bar.com');
    expect(answer.status).to.equal(403);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).to.deep.equal([]);
  });

  it("an actual request from an allowed origin: the backend's answer carries the origin, credentials and exposed headers", async () => {
    const response = await pool.request({ path: '/cors/items', method: 'PUT', headers: { host: 'web.example.com', origin: 'https://www.foo.com' }, body: 'x' });
    expect(await response.body.text()).to.equal('Running on Pod a.\nbody=x\n');
    expect(response.headers).to.include({ 'access-control-allow-origin': 'https://www.foo.com', 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-backend', vary: 'Origin' });
    expect(backend.requests.at(-1)).to.include({ method: 'PUT', url: '/cors/items' });
  });

  it('over HTTP/2 (h2c) too', async () => {
    const session = http2.connect(`http://${address}:${port}`);
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({ ':path': '/cors', ':authority': 'web.example.com', origin: 'https://a.bar.com' });
        stream.on('response', (received) => {
          stream.resume();
          stream.on('end', () => resolve(received));
        });
        stream.on('error', reject);
      });
      expect(headers[':status']).to.equal(200);
      expect(headers['access-control-allow-origin']).to.equal('https://a.bar.com');
    } finally {
      session.close();
    }
  });

  it('an actual request from another origin, or without Origin, is forwarded with no CORS header added', async () => {
    for (const headers of [{ origin: 'https://www.foo.com.evil.example' }, {}]) {
      const response = await pool.request({ path: '/cors', method: 'GET', headers: { host: 'web.example.com', ...headers } });
      expect(response.statusCode).to.equal(200);
      await response.body.dump();
      expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-')), JSON.stringify(headers)).to.deep.equal([]);
    }
  });

  it('a redirect on a CORS rule carries the CORS headers (browsers need them to follow it)', async () => {
    const answer = await curl(['-H', 'Origin: https://www.foo.com', `http://${address}:${port}/moved`]);
    expect(answer.status).to.equal(302);
    expect(answer.headers).to.include({ location: `http://web.example.com:${port}/cors`, 'access-control-allow-origin': 'https://www.foo.com' });
  });

  it('a route without the filter answers an OPTIONS preflight from its backend, unchanged', async () => {
    const answer = await preflight('https://www.foo.com', '/plain');
    expect(answer.status).to.equal(200);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).to.deep.equal([]);
    expect(backend.requests.at(-1)).to.include({ method: 'OPTIONS', url: '/plain' });
  });
});
