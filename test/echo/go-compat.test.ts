import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { canonicalHeaderKey, goJsonMarshal, goJsonMarshalIndent, parseGoDuration, pemEncodeCertificate } from '../../src/echo/go-compat.js';
import { echoedResponseHeaders, requestHeaderMap } from '../../src/echo/http-echo.js';
import { answerCommand, streamAssertions, streamGreeting } from '../../src/echo/stream-echo.js';
import { datagramReplies } from '../../src/echo/datagram-echo.js';
import { makeCertificate, tempDir } from './helpers.js';

describe('echo wire details shared with the upstream (Go) echo', () => {
  describe('canonicalHeaderKey (Go textproto.CanonicalMIMEHeaderKey)', () => {
    const rows: Array<[string, string]> = [
      ['x-forwarded-for', 'X-Forwarded-For'],
      ['USER-AGENT', 'User-Agent'],
      ['x-echo-set-header', 'X-Echo-Set-Header'],
      ['te', 'Te'],
      ['a--b', 'A--B'],
      ['bad header', 'bad header'],
    ];
    for (const [input, expected] of rows) it(`${input} → ${expected}`, () => expect(canonicalHeaderKey(input)).to.equal(expected));
  });

  describe('parseGoDuration (Go time.ParseDuration)', () => {
    const rows: Array<[string, number]> = [
      ['0', 0],
      ['300ms', 300],
      ['1.5s', 1500],
      ['.5s', 500],
      ['1m30s', 90_000],
      ['2h', 7_200_000],
      ['-1s', -1000],
      ['1500us', 1.5],
    ];
    for (const [input, ms] of rows) it(`${input} = ${ms}ms`, () => expect(parseGoDuration(input)).to.be.closeTo(ms, 1e-9));

    const errors: Array<[string, string]> = [
      ['invalid', 'time: invalid duration "invalid"'],
      ['10', 'time: missing unit in duration "10"'],
      ['10x', 'time: unknown unit "x" in duration "10x"'],
      ['.s', 'time: invalid duration ".s"'],
    ];
    for (const [input, message] of errors) it(`rejects ${input}`, () => expect(() => parseGoDuration(input)).to.throw(message));
  });

  it('marshals JSON as Go does: HTML-escaped, one-space indent', () => {
    expect(goJsonMarshal({ a: '<b>&' })).to.equal('{"a":"\\u003cb\\u003e\\u0026"}');
    expect(goJsonMarshalIndent({ a: ['x'], b: {} })).to.equal('{\n "a": [\n  "x"\n ],\n "b": {}\n}');
  });

  it('encodes PEM like Go pem.Encode (and like Node)', async () => {
    const dir = await tempDir('echo-pem-');
    try {
      const pair = await makeCertificate(dir.path, 'pem');
      const x509 = new X509Certificate(pair.certPem);
      expect(pemEncodeCertificate(x509.raw)).to.equal(x509.toString());
    } finally {
      await dir.remove();
    }
  });

  describe('request headers as a Go handler sees them', () => {
    it('canonicalises names, keeps repeated fields apart, sorts keys and drops Host', () => {
      const headers = requestHeaderMap(['host', 'gw', 'x-b', '1', 'X-A', 'a', 'x-b', '2', 'Transfer-Encoding', 'chunked'], false);
      expect(headers).to.deep.equal({ 'X-A': ['a'], 'X-B': ['1', '2'] });
      expect(Object.keys(headers)).to.deep.equal(['X-A', 'X-B']);
    });

    it('drops HTTP/2 pseudo-headers and joins cookies', () => {
      expect(requestHeaderMap([':path', '/', ':authority', 'gw', 'cookie', 'a=1', 'cookie', 'b=2'], true)).to.deep.equal({ Cookie: ['a=1; b=2'] });
    });
  });

  describe('X-Echo-Set-Header', () => {
    const rows: Array<[string, string[], Record<string, string>]> = [
      ['one header', ['Header1:Value1'], { Header1: 'Value1' }],
      ['a comma-separated list, spaces trimmed', ['Header2:Value2, Header3: Value3'], { Header2: 'Value2', Header3: 'Value3' }],
      ['the same name twice joins with a comma', ['X-A:1', 'X-A: 2'], { 'X-A': '1,2' }],
      ['a name without value', ['X-Empty'], { 'X-Empty': '' }],
      ['an invalid name is skipped', ['bad name:1'], {}],
    ];
    for (const [name, values, expected] of rows) {
      it(name, () => expect(Object.fromEntries(echoedResponseHeaders(values))).to.deep.equal(expected));
    }
  });

  describe('stream protocol', () => {
    const pod = { pod: 'tcp-backend-1', namespace: 'gateway-conformance-infra', ingress: '', service: 'tcp-backend' };
    const settings = { protocol: 'gateway-api' as const, pod, tcpPortLabel: '3000', tlsPortLabel: '8443' };

    it('greets like the reference echo or like upstream', () => {
      expect(streamGreeting('echo', 'p', false)).to.equal('Running on Pod p.\n');
      expect(streamGreeting('echo', 'p', true)).to.equal('Running on Pod p.\nThrough TLS connection.\n');
      expect(streamGreeting('gateway-api', 'p', true)).to.equal('Gateway API Test TCP Server\n');
    });

    it('answers PING, IS_TLS and TEST, and nothing else', () => {
      const assertions = streamAssertions(settings, undefined);
      expect(answerCommand('PING', assertions)).to.equal('PONG\n');
      expect(answerCommand('IS_TLS', assertions)).to.equal('false\n');
      expect(answerCommand('TEST', assertions)).to.equal(
        '{"namespace":"gateway-conformance-infra","ingress":"","service":"tcp-backend","pod":"tcp-backend-1","tcpport":"3000","tlsport":"8443","isTLS":false}\n',
      );
      expect(answerCommand('ping', assertions)).to.equal(undefined);
    });

    it('reports TLS like Go tls.VersionName', () => {
      const assertions = streamAssertions(settings, { protocol: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', serverName: 'abc.example.com', alpnProtocol: '', peerCertificates: [] });
      expect(assertions.isTLS).to.equal(true);
      expect(assertions.tls).to.deep.equal({ version: 'TLS 1.3', serverName: 'abc.example.com', cipherSuite: 'TLS_AES_128_GCM_SHA256' });
    });
  });

  it('UDP replies: greeting then payload, or upstream JSON of at most 1024 bytes', () => {
    const pod = { pod: 'udp-1', namespace: 'ns', ingress: '', service: 'udp' };
    expect(datagramReplies('echo', pod, Buffer.from('hi\n')).map(String)).to.deep.equal(['Running on Pod udp-1.\n', 'hi\n']);
    const [json] = datagramReplies('gateway-api', pod, Buffer.alloc(2000, 'a'));
    const parsed = JSON.parse(String(json)) as Record<string, string>;
    expect(Object.keys(parsed)).to.deep.equal(['request', 'namespace', 'ingress', 'service', 'pod']);
    expect(parsed.request).to.have.length(1024);
  });
});
