// The proxy harness itself: a request to a proxy that died says how it died, so a test
// that fails that way names a crash instead of only ECONNREFUSED (session 11's CI saw
// the bare ECONNREFUSED and nothing else).
import { expect } from 'chai';
import { startProxy, stopAllProxies } from './proxy-harness.js';

describe('proxy harness: a request to a proxy that died', function () {
  this.timeout(20_000);
  after(() => stopAllProxies());

  it('names the exit (signal) and the last stderr instead of only the refused connection', async () => {
    const proxy = await startProxy();
    expect((await proxy.get('/readyz')).status).to.be.oneOf([200, 503]);
    const exited = new Promise((resolve) => proxy.child.once('exit', resolve));
    proxy.child.kill('SIGKILL');
    await exited;
    const error = await proxy.get('/readyz').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/ECONNREFUSED.*: the proxy exited \(code null, signal SIGKILL\); its last stderr:/s);
  });
});
