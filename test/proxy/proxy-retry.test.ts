// HTTPRouteRetry end to end, through the real proxy, with undici as the client and a
// flaky backend that fails the first N requests of each key (as the conformance suite's
// echo-basic /retry/ does): by status, by resetting the connection, or by answering too
// late for the backendRequest timeout. Bodies are replayed when small enough to hold.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { HttpRetryPolicy, HttpTimeouts } from '../../src/ir/types.js';
import { HELD_BODY_LIMIT_BYTES } from '../../src/proxy/http-retry.js';
import { config, freePort, httpBackend, httpRoute, listener, loopbackAddress, plainBlock, rule, startProxy, stopAllProxies } from './proxy-harness.js';

interface Attempt {
  at: number;
  method: string;
  body: string;
}

/** `/<anything>?key=K&fail=N&mode=status|reset|slow&code=C`: the first N requests of key K fail, the next succeed. */
function flakyBackend(address: string): Promise<{ server: http.Server; port: number; attempts: Map<string, Attempt[]> }> {
  const attempts = new Map<string, Attempt[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://backend');
      const key = url.searchParams.get('key') ?? '';
      const seen = attempts.get(key) ?? [];
      attempts.set(key, seen);
      seen.push({ at: performance.now(), method: req.method ?? '', body: Buffer.concat(chunks).toString() });
      const failing = seen.length <= Number(url.searchParams.get('fail') ?? '0');
      if (!failing) return void res.end(`ok after ${seen.length}`);
      switch (url.searchParams.get('mode') ?? 'status') {
        case 'reset':
          return void req.socket.resetAndDestroy();
        case 'slow':
          return void setTimeout(() => res.end('too late'), 1_500);
        default:
          res.statusCode = Number(url.searchParams.get('code') ?? '500');
          res.end(`failure ${seen.length}`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, address, () => resolve({ server, port: (server.address() as AddressInfo).port, attempts })));
}

describe('proxy: retries (HTTPRouteRetry)', function () {
  this.timeout(20_000);
  let pool: Pool;
  let backend: Awaited<ReturnType<typeof flakyBackend>>;
  let keyCounter = 0;

  before(async function () {
    this.timeout(30_000);
    const address = loopbackAddress();
    const port = await freePort(address);
    backend = await flakyBackend(address);
    const proxy = await startProxy();
    const retrying = (path: string, retry: HttpRetryPolicy, timeouts?: HttpTimeouts) =>
      rule({ matches: [{ path: { type: 'PathPrefix', value: path } }], backends: [httpBackend('flaky', [{ address, port: backend.port }])], retry, ...(timeouts ? { timeouts } : {}) });
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], {
          httpRoutes: [
            httpRoute('web', 'plain', [], [
              retrying('/code-500-attempts-2', { codes: [500], attempts: 2, backoffMs: 10 }),
              retrying('/backoff', { codes: [503], attempts: 2, backoffMs: 200 }),
              retrying('/timeouts', { codes: [], attempts: 1, backoffMs: 10 }, { requestMs: 5_000, backendRequestMs: 300 }),
              retrying('/tight', { codes: [], attempts: 5, backoffMs: 10 }, { requestMs: 1_000, backendRequestMs: 200 }),
              retrying('/long-backoff', { codes: [500], attempts: 5, backoffMs: 300 }, { requestMs: 500 }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/no-retry' } }], backends: [httpBackend('flaky', [{ address, port: backend.port }])] }),
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
    backend?.server.close();
    await stopAllProxies();
  });

  /** Sends one request with a fresh key; the answer and what the backend saw. */
  async function send(path: string, query: string, options: { method?: 'GET' | 'POST'; body?: string } = {}) {
    const key = `k${++keyCounter}`;
    const response = await pool.request({ path: `${path}?key=${key}&${query}`, method: options.method ?? 'GET', ...(options.body !== undefined ? { body: options.body } : {}) });
    return { status: response.statusCode, text: await response.body.text(), attempts: backend.attempts.get(key) ?? [] };
  }

  it('a retriable status is retried until success within the attempts; the failures never reach the client', async () => {
    const answer = await send('/code-500-attempts-2', 'fail=2');
    expect(answer).to.include({ status: 200, text: 'ok after 3' });
    expect(answer.attempts).to.have.length(3);
  });

  it('when the retries run out, the last failing answer is the one the client gets', async () => {
    const answer = await send('/code-500-attempts-2', 'fail=3');
    expect(answer).to.include({ status: 500, text: 'failure 3' });
    expect(answer.attempts).to.have.length(3);
  });

  it('a status not in the codes is not retried', async () => {
    const answer = await send('/code-500-attempts-2', 'fail=1&code=503');
    expect(answer).to.include({ status: 503, text: 'failure 1' });
    expect(answer.attempts).to.have.length(1);
  });

  it('a rule without retry sends once', async () => {
    const answer = await send('/no-retry', 'fail=1');
    expect(answer).to.include({ status: 500 });
    expect(answer.attempts).to.have.length(1);
  });

  it('a POST body is held and sent again whole', async () => {
    const answer = await send('/code-500-attempts-2', 'fail=1', { method: 'POST', body: 'payload' });
    expect(answer).to.include({ status: 200, text: 'ok after 2' });
    expect(answer.attempts.map((a) => [a.method, a.body])).to.deep.equal([['POST', 'payload'], ['POST', 'payload']]);
  });

  it(`a body above ${HELD_BODY_LIMIT_BYTES} bytes is streamed once, without retries`, async () => {
    const body = 'x'.repeat(HELD_BODY_LIMIT_BYTES * 2 + 17);
    const answer = await send('/code-500-attempts-2', 'fail=1', { method: 'POST', body });
    expect(answer.status).to.equal(500);
    expect(answer.attempts).to.have.length(1);
    expect(answer.attempts[0]!.body.length, 'the whole body reached the backend').to.equal(body.length);
  });

  it('a connection reset before any answer is retried (HTTPRouteRetryConnectionError), even for a POST', async () => {
    const answer = await send('/code-500-attempts-2', 'fail=1&mode=reset', { method: 'POST', body: 'payload' });
    expect(answer).to.include({ status: 200, text: 'ok after 2' });
    const once = await send('/no-retry', 'fail=1&mode=reset', { method: 'POST', body: 'payload' });
    expect(once.status, 'without a retry policy a POST is not sent again').to.equal(502);
  });

  it('an attempt cut by the backendRequest timeout is retried (HTTPRouteRetryBackendTimeout)', async () => {
    const answer = await send('/timeouts', 'fail=1&mode=slow');
    expect(answer).to.include({ status: 200, text: 'ok after 2' });
  });

  it('retries stop at the request timeout, which bounds them all: 504', async () => {
    const answer = await send('/tight', 'fail=100&mode=slow');
    expect(answer.status).to.equal(504);
    expect(answer.attempts.length, 'attempts of 200 ms within 1 s: fewer than the 6 the policy allows').to.be.within(2, 5);
  });

  it('a request timeout during the backoff answers 504 at once: the dropped answer is not waited for again', async () => {
    const answer = await send('/long-backoff', 'fail=100');
    expect(answer.status).to.equal(504);
    expect(answer.attempts, 'attempts before the request timeout cut a wait short').to.have.length.within(1, 2);
  });

  it('retries wait at least the backoff, doubling', async () => {
    const answer = await send('/backoff', 'fail=2&code=503');
    expect(answer).to.include({ status: 200, text: 'ok after 3' });
    const [first, second, third] = answer.attempts.map((a) => a.at) as [number, number, number];
    expect(second - first, 'first wait').to.be.at.least(195);
    expect(third - second, 'second wait, doubled').to.be.at.least(395);
  });
});
