import { expect } from 'chai';
import { HostnameIndex, hostnameMatches, hostnameOfAuthority, selectByHostname } from '../../src/proxy/hostname-match.js';

describe('hostnameMatches', function () {
  const rows: Array<[name: string, pattern: string, host: string, expected: boolean]> = [
    ['an exact hostname matches itself', 'foo.example.com', 'foo.example.com', true],
    ['an exact hostname does not match a subdomain', 'example.com', 'foo.example.com', false],
    ['an exact hostname does not match its parent', 'foo.example.com', 'example.com', false],
    ['"*.example.com" matches "test.example.com"', '*.example.com', 'test.example.com', true],
    ['"*.example.com" matches "foo.test.example.com" (one or more labels)', '*.example.com', 'foo.test.example.com', true],
    ['"*.example.com" does not match "example.com"', '*.example.com', 'example.com', false],
    ['"*.example.com" does not match "badexample.com" (whole labels only)', '*.example.com', 'badexample.com', false],
    ['"*.example.com" does not match "example.net"', '*.example.com', 'example.net', false],
    ['matching is case-insensitive (host)', 'foo.example.com', 'FOO.Example.COM', true],
    ['matching is case-insensitive (pattern)', '*.EXAMPLE.com', 'foo.example.com', true],
    ['a trailing dot on the host is ignored', 'foo.example.com', 'foo.example.com.', true],
    ['a trailing dot on the pattern is ignored', '*.example.com.', 'foo.example.com', true],
    ['a wildcard needs a non-empty label before its suffix', '*.example.com', '.example.com', false],
  ];
  for (const [name, pattern, host, expected] of rows) {
    it(`${name}: ${pattern} vs ${host} → ${expected}`, function () {
      expect(hostnameMatches(pattern, host)).to.equal(expected);
    });
  }
});

describe('HostnameIndex / selectByHostname (exact > most specific wildcard > catch-all)', function () {
  const entries = [
    { hostname: '*.example.com', value: 'wildcard' },
    { hostname: 'foo.example.com', value: 'exact' },
    { hostname: '*.bar.example.com', value: 'longer-wildcard' },
    { value: 'catch-all' },
    { hostname: 'FOO.example.com', value: 'duplicate exact (later, ignored)' },
    { hostname: '*.example.com', value: 'duplicate wildcard (later, ignored)' },
    { value: 'second catch-all (later, ignored)' },
  ];
  const index = new HostnameIndex(entries);

  const rows: Array<[name: string, host: string, value: string, kind: string, pattern?: string]> = [
    ['exact beats wildcard', 'foo.example.com', 'exact', 'exact', 'foo.example.com'],
    ['exact, case-insensitive with trailing dot', 'Foo.Example.Com.', 'exact', 'exact', 'foo.example.com'],
    ['a wildcard covers an unlisted subdomain', 'other.example.com', 'wildcard', 'wildcard', '*.example.com'],
    ['the most specific wildcard wins ("*.bar.example.com" over "*.example.com")', 'x.bar.example.com', 'longer-wildcard', 'wildcard', '*.bar.example.com'],
    ['a deeper subdomain still takes the most specific wildcard', 'a.b.bar.example.com', 'longer-wildcard', 'wildcard', '*.bar.example.com'],
    ['"*.bar.example.com" does not take "bar.example.com" itself; "*.example.com" does', 'bar.example.com', 'wildcard', 'wildcard', '*.example.com'],
    ['the bare domain falls to the catch-all', 'example.com', 'catch-all', 'catch-all'],
    ['an unrelated host falls to the catch-all', 'example.net', 'catch-all', 'catch-all'],
    ['no host at all falls to the catch-all', '', 'catch-all', 'catch-all'],
  ];
  for (const [name, host, value, kind, pattern] of rows) {
    it(`${name}: ${JSON.stringify(host)} → ${value}`, function () {
      const match = index.lookup(host);
      expect(match).to.deep.equal(pattern === undefined ? { value, kind } : { value, kind, pattern });
      expect(selectByHostname(entries, host)).to.equal(value);
    });
  }

  it('without a catch-all, an unmatched host selects nothing', function () {
    const noCatchAll = new HostnameIndex([{ hostname: 'foo.example.com', value: 1 }, { hostname: '*.example.com', value: 2 }]);
    expect(noCatchAll.lookup('example.com')).to.equal(undefined);
    expect(noCatchAll.catchAllEntry).to.equal(undefined);
    expect(selectByHostname([{ hostname: 'a.example.com', value: 1 }], 'b.example.com')).to.equal(undefined);
  });

  it('the first of duplicate entries wins (callers order entries by precedence)', function () {
    expect(index.catchAllEntry?.value).to.equal('catch-all');
    expect(index.size).to.equal(entries.length);
  });

  it('returns the same match object on every lookup (no allocation per lookup)', function () {
    expect(index.lookup('foo.example.com')).to.equal(index.lookup('foo.example.com'));
  });
});

describe('hostnameOfAuthority (Host header → hostname; "MUST ignore any port value")', function () {
  const rows: Array<[string, string]> = [
    ['demo.example.com', 'demo.example.com'],
    ['very.specific.com:1234', 'very.specific.com'],
    ['Demo.Example.com.:443', 'demo.example.com'],
    ['10.0.0.1:8443', '10.0.0.1'],
    ['[::1]:443', '::1'],
    ['[FD00::1]', 'fd00::1'],
    ['', ''],
  ];
  for (const [authority, hostname] of rows) {
    it(`${JSON.stringify(authority)} → ${JSON.stringify(hostname)}`, function () {
      expect(hostnameOfAuthority(authority)).to.equal(hostname);
    });
  }
});
