// The HTTPRoute filters as pure functions, one table row per rule of the Gateway API
// docs (HTTPPathModifier, HTTPRequestRedirectFilter, HTTPHeaderFilter).
import { expect } from 'chai';
import type { PathModifier, RequestRedirectFilter } from '../../src/ir/types.js';
import { applyHeaderEdits, compileHeaderModifier, modifyPath, redirectLocation, type HeaderMap } from '../../src/proxy/http-filters.js';
import { splitTarget } from '../../src/proxy/http-forwarder.js';

describe('http-filters', () => {
  describe('ReplacePrefixMatch (HTTPPathModifier table)', () => {
    const rows: [prefix: string, path: string, replacement: string, expected: string][] = [
      ['/foo', '/foo/bar', '/xyz', '/xyz/bar'],
      ['/foo', '/foo/bar', '/xyz/', '/xyz/bar'],
      ['/foo/', '/foo/bar', '/xyz', '/xyz/bar'],
      ['/foo/', '/foo/bar', '/xyz/', '/xyz/bar'],
      ['/foo', '/foo', '/xyz', '/xyz'],
      ['/foo/', '/foo', '/xyz', '/xyz'],
      ['/foo', '/foo/', '/xyz', '/xyz/'],
      ['/foo', '/foo/', '/xyz/', '/xyz/'],
      ['/foo', '/foo/bar', '/', '/bar'],
      ['/foo/', '/foo/bar', '/', '/bar'],
      ['/foo', '/foo', '/', '/'],
      ['/', '/foo', '/bar', '/bar/foo'],
    ];
    for (const [prefix, path, replacement, expected] of rows) {
      it(`prefix ${prefix}, request ${path}, replacement ${replacement} → ${expected}`, () => {
        const modifier: PathModifier = { type: 'ReplacePrefixMatch', replacePrefixMatch: replacement };
        expect(modifyPath(modifier, path, prefix)).to.equal(expected);
      });
    }
    it('ReplaceFullPath replaces the whole path', () => {
      expect(modifyPath({ type: 'ReplaceFullPath', replaceFullPath: '/new' }, '/old/deep', '/old')).to.equal('/new');
    });
  });

  describe('RequestRedirect Location', () => {
    const request = { scheme: 'http' as const, hostname: 'example.com', path: '/a/b', query: 'q=1', listenerPort: 8080 };
    const rows: [name: string, filter: Omit<RequestRedirectFilter, 'type' | 'statusCode'>, expected: string][] = [
      ['no fields: same URL on the listener port', {}, 'http://example.com:8080/a/b?q=1'],
      ['scheme https: its well-known port, left out', { scheme: 'https' }, 'https://example.com/a/b?q=1'],
      ['scheme http: port 80, left out', { scheme: 'http' }, 'http://example.com/a/b?q=1'],
      ['explicit port 443 with scheme https: left out', { scheme: 'https', port: 443 }, 'https://example.com/a/b?q=1'],
      ['explicit port 8443', { scheme: 'https', port: 8443 }, 'https://example.com:8443/a/b?q=1'],
      ['hostname only', { hostname: 'other.example.com' }, 'http://other.example.com:8080/a/b?q=1'],
      ['full path', { path: { type: 'ReplaceFullPath', replaceFullPath: '/new' } }, 'http://example.com:8080/new?q=1'],
      ['prefix', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/z' } }, 'http://example.com:8080/z/b?q=1'],
    ];
    for (const [name, filter, expected] of rows) {
      it(name, () => {
        expect(redirectLocation({ type: 'RequestRedirect', statusCode: 302, ...filter }, request, '/a')).to.equal(expected);
      });
    }
    it('listener port 80 on http is left out', () => {
      expect(redirectLocation({ type: 'RequestRedirect', statusCode: 301, hostname: 'x.example.com' }, { ...request, listenerPort: 80, query: '' }, '/')).to.equal('http://x.example.com/a/b');
    });
  });

  describe('header modifiers', () => {
    it('set overwrites, add appends with a comma, remove deletes; names case-insensitive', () => {
      const headers: HeaderMap = { 'x-set': 'old', 'x-add': 'one', 'x-remove': 'gone', 'x-keep': 'kept' };
      applyHeaderEdits(headers, compileHeaderModifier({ set: [{ name: 'X-Set', value: 'new' }, { name: 'X-New', value: 'n' }], add: [{ name: 'X-ADD', value: 'two' }, { name: 'x-fresh', value: 'f' }], remove: ['X-Remove'] }));
      expect(headers).to.deep.equal({ 'x-set': 'new', 'x-new': 'n', 'x-add': 'one,two', 'x-fresh': 'f', 'x-keep': 'kept' });
    });
    it('set-cookie stays a list', () => {
      const headers: HeaderMap = { 'set-cookie': ['a=1'] };
      applyHeaderEdits(headers, compileHeaderModifier({ add: [{ name: 'Set-Cookie', value: 'b=2' }] }));
      expect(headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
    });
  });

  describe('request targets', () => {
    const rows: [target: string, path: string, query: string][] = [
      ['/', '/', ''],
      ['/a/b?x=1&y', '/a/b', 'x=1&y'],
      ['/a?', '/a', ''],
      ['http://example.com/p?q', '/p', 'q'],
      ['http://example.com', '/', ''],
    ];
    for (const [target, path, query] of rows) {
      it(`${target} → path ${path}, query ${query || '(none)'}`, () => expect(splitTarget(target)).to.deep.equal({ path, query }));
    }
  });
});
