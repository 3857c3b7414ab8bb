// Request mirroring (HTTPRequestMirrorFilter) end to end, through the real proxy with
// undici as the client: copies reach the mirror backends with the rule's header edits
// and the body, their answers never reach the client, a dead mirror changes nothing for
// the client, and a share mirrors about that share of requests.
import { expect } from 'chai';
import { Pool } from 'undici';
import type { HttpBackend, RequestMirrorFilter } from '../../src/ir/types.js';
import { HELD_BODY_LIMIT_BYTES } from '../../src/proxy/http-retry.js';
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
  waitFor,
  type HttpBackendServer,
} from './proxy-harness.js';

describe('proxy: request mirroring (HTTPRequestMirrorFilter)', function () {
  this.timeout(20_000);
  let pool: Pool;
  let primary: HttpBackendServer;
  let shadow: HttpBackendServer;
  let other: HttpBackendServer;

  before(async function () {
    this.timeout(30_000);
    const address = loopbackAddress();
    const port = await freePort(address);
    const deadPort = await freePort(address);
    [primary, shadow, other] = await Promise.all([startHttpBackend(address, 'primary'), startHttpBackend(address, 'shadow'), startHttpBackend(address, 'other')]);
    const mirror = (backend: HttpBackend, share?: RequestMirrorFilter['share']): RequestMirrorFilter => ({ type: 'RequestMirror', backend, ...(share ? { share } : {}) });
    const primaryWithOwnFilter: HttpBackend = { ...httpBackend('primary', [primary]), filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-backend-only', value: 'primary' }] }] };
    const proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('http', address, port, 'HTTP', [plainBlock('plain', 'HTTP')], {
          httpRoutes: [
            httpRoute('web', 'plain', [], [
              rule({
                matches: [{ path: { type: 'PathPrefix', value: '/both' } }],
                filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-rule', value: 'edited' }] }, mirror(httpBackend('shadow', [shadow])), mirror(httpBackend('other', [other]))],
                backends: [primaryWithOwnFilter],
              }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/dead' } }], filters: [mirror(httpBackend('dead', [{ address, port: deadPort }]))], backends: [httpBackend('primary', [primary])] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/half' } }], filters: [mirror(httpBackend('shadow', [shadow]), { numerator: 1, denominator: 2 })], backends: [httpBackend('primary', [primary])] }),
              rule({ matches: [{ path: { type: 'PathPrefix', value: '/none' } }], filters: [mirror(httpBackend('shadow', [shadow]), { numerator: 0, denominator: 100 })], backends: [httpBackend('primary', [primary])] }),
            ]),
          ],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    pool = new Pool(`http://${address}:${port}`, { connections: 8 });
  });

  after(async () => {
    await pool?.close();
    await stopAllProxies();
    await closeAllBackends();
  });

  async function send(path: string, options: { method?: 'GET' | 'POST'; body?: string } = {}) {
    const response = await pool.request({ path, method: options.method ?? 'GET', ...(options.body !== undefined ? { body: options.body } : {}) });
    return { status: response.statusCode, text: await response.body.text() };
  }

  const seenBy = (backend: HttpBackendServer, url: string) => backend.requests.filter((r) => r.url === url);

  it("each mirror gets a copy with the rule's header edits, not the primary backend's; the client gets the primary's answer", async () => {
    expect(await send('/both/a?q=1')).to.deep.equal({ status: 200, text: 'Running on Pod primary.\n' });
    const copy = await waitFor('the copy at the shadow backend', () => seenBy(shadow, '/both/a?q=1')[0]);
    await waitFor('the copy at the other backend', () => seenBy(other, '/both/a?q=1')[0]);
    expect(copy.headers['x-rule']).to.equal('edited');
    expect(copy.headers['x-backend-only']).to.equal(undefined);
    expect(seenBy(primary, '/both/a?q=1')[0]!.headers).to.include({ 'x-rule': 'edited', 'x-backend-only': 'primary' });
  });

  it('a request body is copied too', async () => {
    expect((await send('/both/post', { method: 'POST', body: 'payload' })).text).to.equal('Running on Pod primary.\nbody=payload\n');
    const copy = await waitFor('the copy with its body', () => seenBy(shadow, '/both/post')[0]);
    expect(copy).to.include({ method: 'POST', body: 'payload' });
  });

  it(`a body above ${HELD_BODY_LIMIT_BYTES} bytes goes to the primary whole, and is not mirrored`, async () => {
    const body = 'y'.repeat(HELD_BODY_LIMIT_BYTES + 1);
    const answer = await send('/both/large', { method: 'POST', body });
    expect(answer.status).to.equal(200);
    expect(seenBy(primary, '/both/large')[0]!.body.length).to.equal(body.length);
    await send('/both/after-large');
    await waitFor('a later copy', () => seenBy(shadow, '/both/after-large')[0]);
    expect(seenBy(shadow, '/both/large')).to.have.length(0);
  });

  it('a mirror nobody listens on changes nothing for the client', async () => {
    for (let i = 0; i < 3; i++) expect(await send(`/dead/${i}`)).to.deep.equal({ status: 200, text: 'Running on Pod primary.\n' });
  });

  it('a share of 1/2 mirrors about half the requests; a share of 0 none', async () => {
    const count = 100;
    for (let i = 0; i < count; i++) await send(`/half/${i}`);
    for (let i = 0; i < 10; i++) await send(`/none/${i}`);
    await send('/both/marker');
    await waitFor('the marker copy (every earlier copy was sent before it)', () => seenBy(shadow, '/both/marker')[0]);
    const mirrored = shadow.requests.filter((r) => r.url.startsWith('/half/')).length;
    expect(mirrored, 'copies of 100 requests at 1/2 (five standard deviations either side)').to.be.within(25, 75);
    expect(shadow.requests.filter((r) => r.url.startsWith('/none/'))).to.have.length(0);
  });
});
