// The CORS filter as pure functions, one table row per rule of the HTTPCORSFilter docs
// (allowOrigins matching, preflight answers, wildcards with and without credentials).
import { expect } from 'chai';
import type { CorsFilter } from '../../src/ir/types.js';
import { compileCors, corsVerdict, originAllowed } from '../../src/proxy/cors.js';
import { applyHeaderEdits, type HeaderMap } from '../../src/proxy/http-filters.js';

function cors(partial: Partial<CorsFilter>): CorsFilter {
  return { type: 'CORS', allowOrigins: [], allowCredentials: false, allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: 5, ...partial };
}

describe('cors', () => {
  describe('allowOrigins matching (HTTPCORSFilter.allowOrigins)', () => {
    const rows: [allowed: string[], origin: string, expected: boolean][] = [
      [['https://www.foo.com'], 'https://www.foo.com', true],
      [['https://www.foo.com'], 'https://WWW.Foo.com', true],
      [['https://www.foo.com'], 'http://www.foo.com', false],
      [['https://www.foo.com'], 'https://www.foo.com.evil.com', false],
      [['https://www.foo.com'], 'https://foo.com', false],
      [['https://www.foo.com'], 'https://www.foo.com:443', true],
      [['https://www.foo.com'], 'https://www.foo.com:8443', false],
      [['https://www.foo.com:8443'], 'https://www.foo.com:8443', true],
      [['http://www.foo.com'], 'http://www.foo.com:80', true],
      [['https://*.bar.com'], 'https://www.bar.com', true],
      [['https://*.bar.com'], 'https://xpto.www.bar.com', true],
      [['https://*.bar.com'], 'https://bar.com', false],
      [['https://*.bar.com'], 'https://foobar.com', false],
      [['https://*.bar.com'], 'https://www.bar.com:8443', false],
      [['https://*'], 'https://anything.example', true],
      [['https://*'], 'http://anything.example', false],
      [['*'], 'https://foobar.com:12345', true],
      [['*'], 'null', true],
      [['https://www.foo.com'], 'null', false],
      [[], 'https://www.foo.com', false],
    ];
    for (const [allowed, origin, expected] of rows) {
      it(`${JSON.stringify(allowed)} ${expected ? 'allows' : 'refuses'} ${origin}`, () => {
        expect(originAllowed(compileCors(cors({ allowOrigins: allowed })), origin)).to.equal(expected);
      });
    }
  });

  const conformancePolicy = compileCors(
    cors({
      allowOrigins: ['https://www.foo.com', 'https://*.bar.com'],
      allowMethods: ['GET', 'OPTIONS'],
      allowHeaders: ['x-header-1', 'x-header-2'],
      exposeHeaders: ['x-header-3', 'x-header-4'],
      allowCredentials: true,
      maxAgeSeconds: 3600,
    }),
  );

  it('a request without Origin is not a CORS request: nothing changes', () => {
    expect(corsVerdict(conformancePolicy, 'OPTIONS', { 'access-control-request-method': 'GET' })).to.deep.equal({ kind: 'none' });
    expect(corsVerdict(conformancePolicy, 'GET', {})).to.deep.equal({ kind: 'none' });
  });

  it('a preflight from an allowed origin: 204 with every configured header', () => {
    const verdict = corsVerdict(conformancePolicy, 'OPTIONS', { origin: 'https://xpto.www.bar.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-header-1' });
    expect(verdict).to.deep.include({ kind: 'preflight', status: 204 });
    expect(verdict.kind === 'preflight' && verdict.headers).to.include({
      'access-control-allow-origin': 'https://xpto.www.bar.com',
      'access-control-allow-methods': 'GET, OPTIONS',
      'access-control-allow-headers': 'x-header-1, x-header-2',
      'access-control-expose-headers': 'x-header-3, x-header-4',
      'access-control-max-age': '3600',
      'access-control-allow-credentials': 'true',
    });
  });

  it('a preflight from another origin: 403 without any CORS header', () => {
    const verdict = corsVerdict(conformancePolicy, 'OPTIONS', { origin: 'https://foobar.com', 'access-control-request-method': 'GET' });
    expect(verdict.kind === 'preflight' && verdict.status).to.equal(403);
    expect(Object.keys(verdict.kind === 'preflight' ? verdict.headers : {}).filter((name) => name.startsWith('access-control-'))).to.deep.equal([]);
  });

  it('an OPTIONS request without Access-Control-Request-Method is an actual request, forwarded', () => {
    expect(corsVerdict(conformancePolicy, 'OPTIONS', { origin: 'https://www.foo.com' }).kind).to.equal('actual');
  });

  it('an actual request from an allowed origin: the answer gets the origin, credentials, exposed headers and Vary', () => {
    const verdict = corsVerdict(conformancePolicy, 'GET', { origin: 'https://www.foo.com' });
    expect(verdict.kind).to.equal('actual');
    const answer: HeaderMap = { 'access-control-allow-origin': '*', vary: 'Accept-Encoding' };
    if (verdict.kind === 'actual') applyHeaderEdits(answer, verdict.responseHeaders);
    expect(answer).to.deep.equal({
      'access-control-allow-origin': 'https://www.foo.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-header-3, x-header-4',
      vary: 'Accept-Encoding,Origin',
    });
  });

  it('an actual request from another origin is forwarded untouched', () => {
    expect(corsVerdict(conformancePolicy, 'GET', { origin: 'https://foobar.com' })).to.deep.equal({ kind: 'none' });
  });

  describe('wildcards (allowMethods, allowHeaders, exposeHeaders "*")', () => {
    const rows: [name: string, credentials: boolean][] = [
      ['with allowCredentials: the request is echoed, never "*"', true],
      ['without allowCredentials: echoed too (the API allows "*" or the echo)', false],
    ];
    for (const [name, credentials] of rows) {
      it(name, () => {
        const policy = compileCors(cors({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'], exposeHeaders: ['*'], allowCredentials: credentials }));
        const verdict = corsVerdict(policy, 'OPTIONS', { origin: 'https://other.foo.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-header-1, x-header-2' });
        const headers = verdict.kind === 'preflight' ? verdict.headers : {};
        expect(headers['access-control-allow-origin']).to.equal('https://other.foo.com');
        expect(headers['access-control-allow-methods']).to.equal('PUT');
        expect(headers['access-control-allow-headers']).to.equal('x-header-1, x-header-2');
        expect(headers['access-control-allow-credentials']).to.equal(credentials ? 'true' : undefined);
        expect(headers['access-control-expose-headers'], 'exposeHeaders "*" cannot be used with credentials').to.equal(credentials ? undefined : '*');
        expect(headers['access-control-max-age']).to.equal('5');
      });
    }

    it('allowHeaders "*" without Access-Control-Request-Headers: the header is left out', () => {
      const policy = compileCors(cors({ allowOrigins: ['*'], allowHeaders: ['*'] }));
      const verdict = corsVerdict(policy, 'OPTIONS', { origin: 'https://a.example', 'access-control-request-method': 'GET' });
      expect(verdict.kind === 'preflight' && verdict.headers).not.to.have.property('access-control-allow-headers');
      expect(verdict.kind === 'preflight' && verdict.headers).not.to.have.property('access-control-allow-methods');
    });
  });
});
