// Path normalization before matching (path-normalization.ts): one row per rule, then end
// to end with clients that send the path as written (curl --path-as-is, a raw socket).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalizePath } from '../../src/proxy/path-normalization.js';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  rawExchange,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  type RunningProxy,
} from './proxy-harness.js';

const run = promisify(execFile);

describe('path normalization', function () {
  const rows: Array<[name: string, input: string, expected: string | 'invalid']> = [
    ['an ordinary path is untouched', '/a/b/c', '/a/b/c'],
    ['the root', '/', '/'],
    ['a trailing slash is kept', '/a/b/', '/a/b/'],
    ['RFC 3986 §6.2.2.2: encoded unreserved characters are decoded', '/%7Euser/%41%62%2D%2e%5F', '/~user/Ab-._'],
    ['RFC 3986 §6.2.2.1: other encodings keep, hex upper-cased', '/a%2fb%3a%c3%a9', '/a%2Fb%3A%C3%A9'],
    ['an encoded slash is data, not a separator', '/a%2F..%2Fb', '/a%2F..%2Fb'],
    ['an encoded backslash stays encoded', '/a%5cb', '/a%5Cb'],
    ['consecutive slashes are merged', '//a///b//', '/a/b/'],
    ['RFC 3986 §5.2.4: "." segments are removed', '/a/./b/.', '/a/b/'],
    ['".." removes the previous segment', '/a/b/../c', '/a/c'],
    ['".." at the end leaves a trailing slash', '/a/b/..', '/a/'],
    ['".." never climbs above the root', '/../../a', '/a'],
    ['encoded dots count as dot segments (decoded first)', '/public/%2e%2e/admin', '/admin'],
    ['a segment that merely starts with a dot is kept', '/a/.well-known/..b', '/a/.well-known/..b'],
    ['slashes merged before ".." is applied', '/a//..//b', '/b'],
    ['a "%" without two hex digits is invalid', '/a%zz', 'invalid'],
    ['a "%" at the end is invalid', '/a%', 'invalid'],
    ['"*" (OPTIONS *) is left alone', '*', '*'],
  ];
  for (const [name, input, expected] of rows) {
    it(`${name}: ${input}`, () => {
      const result = normalizePath(input);
      if (expected === 'invalid') expect(result.ok).to.equal(false);
      else expect(result).to.deep.equal({ ok: true, path: expected });
    });
  }

  describe('end to end', () => {
    this.timeout(15_000);
    let proxy: RunningProxy;
    let address: string;
    let port: number;

    before(async function () {
      this.timeout(30_000);
      address = loopbackAddress();
      const [open, admin] = await Promise.all([startHttpBackend(address, 'public'), startHttpBackend(address, 'admin')]);
      port = await freePort(address); // after the backends took theirs
      proxy = await startProxy();
      const answer = await proxy.put(
        config('v1', [
          listener('http', address, port, 'HTTP', [plainBlock('web', 'HTTP')], {
            httpRoutes: [
              httpRoute('web', 'web', [], [
                rule({ matches: [{ path: { type: 'PathPrefix', value: '/public' } }], backends: [httpBackend('public', [open])] }),
                rule({ matches: [{ path: { type: 'Exact', value: '/admin' } }], backends: [httpBackend('admin', [admin])] }),
              ]),
            ],
          }),
        ]),
      );
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    });

    after(async () => {
      await stopAllProxies();
      await closeAllBackends();
    });

    async function curl(path: string): Promise<{ status: string; backend: string; seenPath: string }> {
      const { stdout } = await run('curl', ['-sS', '--path-as-is', '-D', '-', '-o', '/dev/null', `http://${address}:${port}${path}`]);
      return {
        status: stdout.split(' ')[1] ?? '',
        backend: /^x-backend: (.*)\r$/m.exec(stdout)?.[1] ?? '',
        seenPath: /^x-seen-path: (.*)\r$/m.exec(stdout)?.[1] ?? '',
      };
    }

    it('"/public/../admin" is the admin route, and the admin backend gets "/admin" (no prefix smuggling)', async () => {
      expect(await curl('/public/../admin')).to.deep.equal({ status: '200', backend: 'admin', seenPath: '/admin' });
    });

    it('merged slashes and decoded unreserved characters match the prefix and go upstream normalized, query untouched', async () => {
      expect(await curl('//%70ublic///x/./y?q=%2e%2e//')).to.deep.equal({ status: '200', backend: 'public', seenPath: '/public/x/y?q=%2e%2e//' });
    });

    it('an encoded slash is not a separator: "/public%2Fx" does not match the "/public" prefix element-wise', async () => {
      expect((await curl('/public%2Fx')).status).to.equal('404');
      expect(await curl('/public/a%2fb')).to.deep.equal({ status: '200', backend: 'public', seenPath: '/public/a%2Fb' });
    });

    it('a malformed escape: 400 with the reason', async () => {
      const answer = await rawExchange(address, port, Buffer.from('GET /public/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      const text = answer.received.toString();
      expect(text).to.match(/^HTTP\/1\.1 400 /);
      expect(text).to.contain('two hex digits');
    });
  });
});
