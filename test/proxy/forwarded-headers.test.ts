// The forwarding headers sent to backends: one row per rule in forwarded-headers.ts.
import { expect } from 'chai';
import { setForwardedHeaders, type ForwardedFacts } from '../../src/proxy/forwarded-headers.js';
import type { HeaderMap } from '../../src/proxy/http-filters.js';

describe('forwarded headers (X-Forwarded-*, RFC 7239 Forwarded)', function () {
  const facts: ForwardedFacts = { clientAddress: '192.0.2.10', scheme: 'https', authority: 'demo.example.com', port: 443 };
  const rows: Array<[name: string, received: HeaderMap, facts: ForwardedFacts, expected: HeaderMap]> = [
    ['a first hop: every header set', {}, facts, { 'x-forwarded-for': '192.0.2.10', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443', 'x-forwarded-host': 'demo.example.com', forwarded: 'for=192.0.2.10;host=demo.example.com;proto=https' }],
    [
      'X-Forwarded-For and Forwarded are appended to (RFC 7239 §4), list values joined',
      { 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'], forwarded: 'for=10.0.0.2' },
      facts,
      { 'x-forwarded-for': '10.0.0.1, 10.0.0.2, 192.0.2.10', forwarded: 'for=10.0.0.2, for=192.0.2.10;host=demo.example.com;proto=https' },
    ],
    ['proto, host and port describe this hop: a client\'s values are overwritten', { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', 'x-forwarded-port': '1' }, { ...facts, scheme: 'http', port: 80 }, { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'demo.example.com', 'x-forwarded-port': '80' }],
    ['an IPv6 client is bracketed and quoted in Forwarded (RFC 7239 §6), plain in X-Forwarded-For', {}, { ...facts, clientAddress: '2001:db8::1' }, { 'x-forwarded-for': '2001:db8::1', forwarded: 'for="[2001:db8::1]";host=demo.example.com;proto=https' }],
    ['a host with a port is not a token: quoted', {}, { ...facts, authority: 'demo.example.com:8443' }, { 'x-forwarded-host': 'demo.example.com:8443', forwarded: 'for=192.0.2.10;host="demo.example.com:8443";proto=https' }],
    ['no Host at all (HTTP/1.0): no X-Forwarded-Host, no host= pair', { 'x-forwarded-host': 'spoofed' }, { ...facts, authority: '' }, { 'x-forwarded-host': undefined, forwarded: 'for=192.0.2.10;proto=https' }],
    ['quotes and backslashes in a host are escaped', {}, { ...facts, authority: 'a"b\\c' }, { forwarded: 'for=192.0.2.10;host="a\\"b\\\\c";proto=https' }],
  ];
  for (const [name, received, rowFacts, expected] of rows) {
    it(name, () => {
      const headers: HeaderMap = { ...received };
      setForwardedHeaders(headers, received, rowFacts);
      for (const [header, value] of Object.entries(expected)) expect(headers[header], header).to.deep.equal(value);
    });
  }
});
