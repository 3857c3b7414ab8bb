import { expect } from 'chai';
import {
  highestOfferedVersion,
  isGreaseValue,
  parseClientHello,
  TlsVersion,
  type ClientHello,
  type ClientHelloParseResult,
  type ClientHelloRejection,
} from '../../src/proxy/clienthello.js';
import {
  alpnExtension,
  clientHelloMessage,
  extension,
  ExtensionType,
  frameRecords,
  handshakeBytesOf,
  handshakeMessage,
  randomFragmentSizes,
  rawServerNameEntries,
  recordCountOf,
  record,
  seededRandom,
  serverNameExtension,
  supportedVersionsExtension,
  typicalHello,
  u16,
  u16ListExtension,
  u24,
  vector16,
  vector8,
  type HelloExtension,
} from './clienthello-builder.js';
import {
  captureClientHello,
  curlClient,
  curlSupportsHttp2,
  nodeTls12Only,
  nodeWithoutServerName,
  nodeWithServerName,
  opensslClient,
  type RealClient,
} from './clienthello-capture.js';

const ECDSA_SECP256R1_SHA256 = 0x0403; // RFC 8446 §4.2.3
const RSA_PSS_RSAE_SHA256 = 0x0804;

function expectComplete(result: ClientHelloParseResult, context: string): { hello: ClientHello; consumed: number } {
  if (result.kind !== 'complete') expect.fail(`${context}: expected a complete ClientHello, got ${JSON.stringify(result)}`);
  return result;
}

/** The hello minus how it was framed, to compare re-framed inputs with the original. */
function withoutFraming(hello: ClientHello): Omit<ClientHello, 'recordCount'> {
  const { recordCount: _ignored, ...rest } = hello;
  return rest;
}

interface RealClientRow {
  client: RealClient;
  serverName: string | undefined;
  alpn: () => string[];
  /** Versions the hello must offer in supported_versions; empty means the extension is absent. */
  supportedVersions: number[];
  highest: number;
}

const realClients: RealClientRow[] = [
  { client: nodeWithServerName, serverName: 'node.example.test', alpn: () => ['h2', 'http/1.1'], supportedVersions: [TlsVersion.TLS1_3, TlsVersion.TLS1_2], highest: TlsVersion.TLS1_3 },
  { client: nodeWithoutServerName, serverName: undefined, alpn: () => [], supportedVersions: [TlsVersion.TLS1_3, TlsVersion.TLS1_2], highest: TlsVersion.TLS1_3 },
  { client: nodeTls12Only, serverName: 'legacy.example.test', alpn: () => [], supportedVersions: [], highest: TlsVersion.TLS1_2 },
  { client: opensslClient, serverName: 'openssl.example.test', alpn: () => ['h2'], supportedVersions: [TlsVersion.TLS1_3, TlsVersion.TLS1_2], highest: TlsVersion.TLS1_3 },
  {
    client: curlClient,
    serverName: 'curl.example.test',
    alpn: () => (curlSupportsHttp2() ? ['h2', 'http/1.1'] : ['http/1.1']),
    supportedVersions: [TlsVersion.TLS1_3, TlsVersion.TLS1_2],
    highest: TlsVersion.TLS1_3,
  },
];

describe('parseClientHello', function () {
  describe('hellos captured from real clients', function () {
    for (const row of realClients) {
      describe(row.client.name, function () {
        let captured: Buffer;
        before(async function () {
          const unavailable = row.client.unavailable();
          if (unavailable !== undefined) this.skip(); // the reason: `unavailable`
          captured = await captureClientHello(row.client);
        });

        it(`extracts SNI ${JSON.stringify(row.serverName)}, ALPN, versions and signature algorithms`, function () {
          const { hello, consumed } = expectComplete(parseClientHello(captured), row.client.name);
          expect(consumed, 'consumed').to.equal(captured.length);
          expect(hello.serverName, 'serverName (lower-cased)').to.equal(row.serverName);
          expect(hello.alpnProtocols, 'ALPN').to.deep.equal(row.alpn());
          if (row.supportedVersions.length === 0) expect(hello.supportedVersions, 'supported_versions').to.be.empty;
          else expect(hello.supportedVersions, 'supported_versions').to.include.members(row.supportedVersions);
          expect(highestOfferedVersion(hello), 'highest offered version').to.equal(row.highest);
          expect(hello.legacyVersion, 'legacy_version').to.equal(TlsVersion.TLS1_2);
          expect(hello.recordVersion >> 8, 'record version major').to.equal(3);
          expect(hello.signatureAlgorithms, 'signature_algorithms').to.include.members([ECDSA_SECP256R1_SHA256, RSA_PSS_RSAE_SHA256]);
          expect(hello.cipherSuites.length, 'cipher suites').to.be.greaterThan(0);
          expect(hello.recordCount).to.equal(1);
        });

        it('needs more bytes at every shorter prefix (fed one byte at a time), and never overstates how many', function () {
          const whole = expectComplete(parseClientHello(captured), 'whole');
          for (let length = 0; length < captured.length; length++) {
            const result = parseClientHello(captured.subarray(0, length));
            if (result.kind !== 'incomplete') expect.fail(`prefix of ${length}/${captured.length} bytes: expected incomplete, got ${JSON.stringify(result)}`);
            expect(result.need, `need at ${length}`).to.be.at.least(1);
            expect(length + result.need, `need at ${length} overshoots the hello`).to.be.at.most(captured.length);
          }
          expect(parseClientHello(captured).kind).to.equal('complete');
          expect(expectComplete(parseClientHello(Buffer.from(captured)), 'copy').hello).to.deep.equal(whole.hello);
        });

        it('gives the same hello when the handshake message is re-framed over several records (RFC 8446 §5.1)', function () {
          const whole = expectComplete(parseClientHello(captured), 'whole');
          const message = handshakeBytesOf(captured);
          const random = seededRandom(0x5eed);
          const framings: number[][] = [
            [1, 1, 1, 1], // the 4-byte handshake header split byte by byte
            [2, 100],
            [4, 34, 1],
            [message.length - 1],
            randomFragmentSizes(random, message.length, 40),
            randomFragmentSizes(random, message.length, 7),
          ];
          for (const sizes of framings) {
            const reframed = frameRecords(message, sizes);
            const result = expectComplete(parseClientHello(reframed), `framing ${sizes.join(',')}`);
            expect(withoutFraming(result.hello), `framing ${sizes.join(',')}`).to.deep.equal(withoutFraming(whole.hello));
            expect(result.hello.recordCount, 'recordCount').to.equal(recordCountOf(reframed));
            expect(result.consumed).to.equal(reframed.length);
          }
        });

        it('re-framed into 1-byte records and fed one byte at a time, still only completes at the end', function () {
          const message = handshakeBytesOf(captured);
          const reframed = frameRecords(message, new Array<number>(message.length).fill(1));
          for (let length = 0; length < reframed.length; length++) {
            const result = parseClientHello(reframed.subarray(0, length));
            if (result.kind !== 'incomplete') expect.fail(`prefix ${length}/${reframed.length}: ${JSON.stringify(result)}`);
            expect(length + result.need).to.be.at.most(reframed.length);
          }
          const result = expectComplete(parseClientHello(reframed), '1-byte records');
          expect(result.hello.recordCount).to.equal(message.length);
          expect(result.hello.serverName).to.equal(row.serverName);
        });

        it('ignores bytes after the hello (e.g. early data) and reports where the hello ends', function () {
          const followed = Buffer.concat([captured, record(23, Buffer.from('early data'), 0x0303)]);
          const result = expectComplete(parseClientHello(followed), 'followed by application_data');
          expect(result.consumed).to.equal(captured.length);
        });
      });
    }
  });

  describe('normalisation and optional fields', function () {
    const rows: { name: string; input: Buffer; check: (hello: ClientHello) => void }[] = [
      {
        name: 'SNI is lower-cased and a trailing dot is stripped (RFC 6066 §3: no trailing dot)',
        input: typicalHello('WWW.Example.COM.'),
        check: (hello) => expect(hello.serverName).to.equal('www.example.com'),
      },
      {
        name: 'SNI entries of unknown name_type are skipped, host_name is used',
        input: frameRecords(clientHelloMessage({ extensions: [rawServerNameEntries({ nameType: 7, name: Buffer.from('opaque') }, { nameType: 0, name: Buffer.from('a.example') })] })),
        check: (hello) => expect(hello.serverName).to.equal('a.example'),
      },
      {
        name: 'a hello without extensions (RFC 5246 §7.4.1.2: extensions optional) has empty lists',
        input: frameRecords(clientHelloMessage({ legacyVersion: 0x0301 })),
        check: (hello) => {
          expect(hello.serverName).to.equal(undefined);
          expect(hello.extensionTypes).to.deep.equal([]);
          expect(highestOfferedVersion(hello)).to.equal(TlsVersion.TLS1_0);
        },
      },
      {
        name: 'GREASE values (RFC 8701) are kept in lists but ignored for the highest version',
        input: frameRecords(clientHelloMessage({ extensions: [supportedVersionsExtension(0x7a7a, 0x0304, 0x0303)] })),
        check: (hello) => {
          expect(hello.supportedVersions).to.deep.equal([0x7a7a, 0x0304, 0x0303]);
          expect(isGreaseValue(0x7a7a)).to.equal(true);
          expect(isGreaseValue(0x0304)).to.equal(false);
          expect(highestOfferedVersion(hello)).to.equal(TlsVersion.TLS1_3);
        },
      },
      {
        name: 'signature_algorithms_cert and supported_groups are reported',
        input: frameRecords(clientHelloMessage({ extensions: [u16ListExtension(50, 0x0401), u16ListExtension(ExtensionType.supportedGroups, 0x0017)] })),
        check: (hello) => {
          expect(hello.signatureAlgorithmsCert).to.deep.equal([0x0401]);
          expect(hello.supportedGroups).to.deep.equal([0x0017]);
        },
      },
      {
        name: 'pre_shared_key as the last extension is accepted (RFC 8446 §4.2.11)',
        input: typicalHello('psk.example', [extension(ExtensionType.preSharedKey, Buffer.alloc(8))]),
        check: (hello) => expect(hello.extensionTypes.at(-1)).to.equal(ExtensionType.preSharedKey),
      },
    ];
    for (const row of rows) {
      it(row.name, function () {
        row.check(expectComplete(parseClientHello(row.input), row.name).hello);
      });
    }
  });

  describe('rejections', function () {
    const helloWith = (...extensions: HelloExtension[]) => frameRecords(clientHelloMessage({ extensions }));
    const sni = (...names: Buffer[]) => rawServerNameEntries(...names.map((name) => ({ nameType: 0, name })));
    // msg_type CLIENT-HELLO (1), version 3.1, cipher_specs 21 bytes, session id 0, challenge 16 (RFC 6101 Appendix E).
    const sslv2ClientHello = Buffer.concat([Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]), Buffer.alloc(0x15 + 0x10)]);
    const oversizedClaim = Buffer.concat([Buffer.from([22, 3, 1]), u16(100), Buffer.from([1]), u24(20_000)]);

    const rows: { name: string; input: Buffer; reason: ClientHelloRejection; maxBytes?: number }[] = [
      { name: 'garbage bytes', input: Buffer.from('Hello, world\n'), reason: 'not-tls' },
      { name: 'binary garbage', input: Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04, 0x05]), reason: 'not-tls' },
      { name: 'HTTP/1.1 request line', input: Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), reason: 'http' },
      { name: 'HTTP/2 prior-knowledge preface', input: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), reason: 'http' },
      { name: 'SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2)', input: sslv2ClientHello, reason: 'sslv2' },
      { name: 'high bit set but not an SSLv2 CLIENT-HELLO', input: Buffer.from([0xff, 0xff, 0xff, 0xff]), reason: 'not-tls' },
      { name: 'handshake type byte with record version major 2', input: Buffer.from([22, 2, 0, 0, 5]), reason: 'not-tls' },
      { name: 'alert record (non-handshake record type)', input: record(21, Buffer.from([2, 40]), 0x0303), reason: 'not-handshake' },
      { name: 'application_data record', input: record(23, Buffer.from('hi'), 0x0303), reason: 'not-handshake' },
      { name: 'change_cipher_spec record', input: record(20, Buffer.from([1]), 0x0303), reason: 'not-handshake' },
      { name: 'ServerHello instead of ClientHello', input: frameRecords(handshakeMessage(2, Buffer.alloc(40))), reason: 'not-client-hello' },
      { name: 'record longer than 2^14 (RFC 8446 §5.1)', input: Buffer.from([22, 3, 1, 0x40, 0x01, 1]), reason: 'record-overflow' },
      { name: 'oversized: handshake claims 20000 bytes (> 16 KiB), known from the header alone', input: oversizedClaim, reason: 'too-large' },
      { name: 'oversized: a hello over a configured 256-byte bound', input: typicalHello('x'.repeat(63) + '.' + 'y'.repeat(63) + '.' + 'z'.repeat(63)), reason: 'too-large', maxBytes: 256 },
      { name: 'oversized: records that would end past the bound', input: Buffer.concat([frameRecords(clientHelloMessage(), [10]).subarray(0, 15), Buffer.from([22, 3, 1, 0x40, 0x00])]), reason: 'too-large', maxBytes: 1000 },
      { name: 'empty handshake record (RFC 8446 §5.1 forbids zero-length fragments)', input: Buffer.from([22, 3, 1, 0, 0]), reason: 'malformed' },
      { name: 'alert record interleaved in a fragmented hello (RFC 8446 §5.1)', input: Buffer.concat([frameRecords(clientHelloMessage(), [10]).subarray(0, 15), record(21, Buffer.from([2, 40]))]), reason: 'malformed' },
      { name: 'handshake bytes after the hello in its record', input: record(22, Buffer.concat([clientHelloMessage(), Buffer.from([20, 0, 0, 0])])), reason: 'malformed' },
      { name: 'truncated: body shorter than version + random + session id', input: frameRecords(handshakeMessage(1, Buffer.alloc(20))), reason: 'malformed' },
      { name: 'truncated: cipher_suites length overruns the body', input: frameRecords(handshakeMessage(1, Buffer.concat([u16(0x0303), Buffer.alloc(32), vector8(), u16(200), u16(0x1301)]))), reason: 'malformed' },
      { name: 'session id longer than 32 bytes', input: frameRecords(clientHelloMessage({ sessionId: Buffer.alloc(33) })), reason: 'malformed' },
      { name: 'odd cipher_suites length', input: frameRecords(handshakeMessage(1, Buffer.concat([u16(0x0303), Buffer.alloc(32), vector8(), vector16(Buffer.from([0x13])), vector8(Buffer.from([0]))]))), reason: 'malformed' },
      { name: 'no compression methods', input: frameRecords(clientHelloMessage({ compressionMethods: [] })), reason: 'malformed' },
      { name: 'extensions length disagrees with the body', input: frameRecords(clientHelloMessage({ extensions: [alpnExtension('h2')], trailing: Buffer.from([0]) })), reason: 'malformed' },
      { name: 'extension data overruns the extensions block', input: frameRecords(clientHelloMessage({ trailing: vector16(Buffer.from([0, 16, 0, 9, 0])) })), reason: 'malformed' },
      { name: 'duplicate extensions: two ALPN (RFC 8446 §4.2)', input: helloWith(alpnExtension('h2'), alpnExtension('http/1.1')), reason: 'duplicate-extension' },
      { name: 'duplicate extensions: two server_name', input: helloWith(serverNameExtension('a.example'), serverNameExtension('b.example')), reason: 'duplicate-extension' },
      { name: 'extension after pre_shared_key (RFC 8446 §4.2.11)', input: helloWith(extension(ExtensionType.preSharedKey, Buffer.alloc(4)), alpnExtension('h2')), reason: 'malformed' },
      { name: 'zero-length SNI host_name (RFC 6066 §3: opaque<1..2^16-1>)', input: helloWith(sni(Buffer.alloc(0))), reason: 'invalid-server-name' },
      { name: 'zero-length name of an unknown name_type', input: helloWith(rawServerNameEntries({ nameType: 9, name: Buffer.alloc(0) }, { nameType: 0, name: Buffer.from('a.example') })), reason: 'invalid-server-name' },
      { name: 'empty ServerNameList', input: helloWith(extension(ExtensionType.serverName, vector16())), reason: 'invalid-server-name' },
      { name: 'empty server_name extension data', input: helloWith(extension(ExtensionType.serverName, Buffer.alloc(0))), reason: 'invalid-server-name' },
      { name: 'SNI name length overruns the list', input: helloWith(extension(ExtensionType.serverName, vector16(Buffer.from([0]), u16(50), Buffer.from('short')))), reason: 'invalid-server-name' },
      { name: 'SNI list length overruns the extension', input: helloWith(extension(ExtensionType.serverName, Buffer.concat([u16(40), Buffer.from([0]), vector16(Buffer.from('a.example'))]))), reason: 'invalid-server-name' },
      { name: 'SNI list length shorter than the extension', input: helloWith(extension(ExtensionType.serverName, Buffer.concat([u16(3), Buffer.from([0]), vector16(Buffer.from('a.example'))]))), reason: 'invalid-server-name' },
      { name: 'two host_name entries (RFC 6066 §3: one per name_type)', input: helloWith(sni(Buffer.from('a.example'), Buffer.from('b.example'))), reason: 'invalid-server-name' },
      { name: 'SNI with a NUL byte', input: helloWith(sni(Buffer.from('good.example\u0000evil.example'))), reason: 'invalid-server-name' },
      { name: 'SNI with a space', input: helloWith(sni(Buffer.from('a b.example'))), reason: 'invalid-server-name' },
      { name: 'SNI with a non-ASCII byte', input: helloWith(sni(Buffer.from([0x61, 0xe9, 0x2e, 0x62]))), reason: 'invalid-server-name' },
      { name: 'SNI with an empty label', input: helloWith(sni(Buffer.from('a..example'))), reason: 'invalid-server-name' },
      { name: 'SNI that is only a dot', input: helloWith(sni(Buffer.from('.'))), reason: 'invalid-server-name' },
      { name: 'SNI with a 64-byte label (RFC 1035 §2.3.4)', input: helloWith(sni(Buffer.from('a'.repeat(64) + '.example'))), reason: 'invalid-server-name' },
      { name: 'SNI IPv6 literal (RFC 6066 §3 forbids IP literals)', input: helloWith(sni(Buffer.from('::1'))), reason: 'invalid-server-name' },
      { name: 'ALPN with an empty protocol name (RFC 7301 §3.1)', input: helloWith(extension(ExtensionType.alpn, vector16(vector8(), vector8(Buffer.from('h2'))))), reason: 'malformed' },
      { name: 'ALPN name overruns the list', input: helloWith(extension(ExtensionType.alpn, vector16(Buffer.from([9]), Buffer.from('h2')))), reason: 'malformed' },
      { name: 'empty ALPN list', input: helloWith(extension(ExtensionType.alpn, vector16())), reason: 'malformed' },
      { name: 'supported_versions with an odd length (RFC 8446 §4.2.1)', input: helloWith(extension(ExtensionType.supportedVersions, vector8(Buffer.from([3, 4, 3])))), reason: 'malformed' },
      { name: 'signature_algorithms list length mismatch (RFC 8446 §4.2.3)', input: helloWith(extension(ExtensionType.signatureAlgorithms, Buffer.concat([u16(6), u16(0x0403)]))), reason: 'malformed' },
    ];

    for (const row of rows) {
      it(`${row.name} → ${row.reason}`, function () {
        const result = parseClientHello(row.input, row.maxBytes === undefined ? {} : { maxBytes: row.maxBytes });
        if (result.kind !== 'invalid') expect.fail(`expected invalid/${row.reason}, got ${JSON.stringify(result)} for ${row.input.subarray(0, 24).toString('hex')}…`);
        expect(result.reason, result.detail).to.equal(row.reason);
        expect(result.detail).to.be.a('string').and.not.equal('');
      });
    }

    it('HTTP is recognised only once a whole method token has arrived; until then it waits', function () {
      expect(parseClientHello(Buffer.from('GE'))).to.deep.equal({ kind: 'incomplete', need: 1 });
      expect(parseClientHello(Buffer.from('GET')).kind).to.equal('incomplete');
      expect(parseClientHello(Buffer.from('GET ')).kind).to.equal('invalid');
      expect(parseClientHello(Buffer.from('GEX')).kind).to.equal('invalid');
    });

    it('an oversized claim is rejected from the first 9 bytes, without waiting for the body', function () {
      const result = parseClientHello(oversizedClaim.subarray(0, 9));
      expect(result.kind === 'invalid' && result.reason).to.equal('too-large');
    });

    it('truncated input is incomplete, not invalid, and `need` reaches the next byte that can decide', function () {
      const hello = typicalHello();
      const needAt = (length: number) => parseClientHello(hello.subarray(0, length));
      expect(needAt(0), 'empty: the first byte decides TLS or not').to.deep.equal({ kind: 'incomplete', need: 1 });
      expect(needAt(1), 'the version byte').to.deep.equal({ kind: 'incomplete', need: 1 });
      expect(needAt(3), 'the record length').to.deep.equal({ kind: 'incomplete', need: 2 });
      expect(needAt(5), 'msg_type').to.deep.equal({ kind: 'incomplete', need: 1 });
      expect(needAt(7), 'the handshake length').to.deep.equal({ kind: 'incomplete', need: 2 });
      expect(needAt(hello.length - 10), 'the rest of the record').to.deep.equal({ kind: 'incomplete', need: 10 });
    });
  });
});
