import { expect } from 'chai';
import type { CertificateKeyType, Listener, PassthroughRoute, ServerBlock, TlsCertificate } from '../../src/ir/index.js';
import type { ClientHello } from '../../src/proxy/clienthello.js';
import {
  SignatureScheme as S,
  alpnProtocolsOf,
  buildTlsDispatch,
  selectCertificate,
  selectServerBlock,
  selectTlsAction,
  type ClientHelloSummary,
} from '../../src/proxy/certificate-selection.js';

// Selection reads key types and ids, never the PEM: placeholders keep these tests pure.
function certificate(id: string, keyType: CertificateKeyType): TlsCertificate {
  return { id, source: `Secret default/${id}`, keyType, certificateChainPem: '(leaf)', privateKeyPem: '(key)' };
}

const RSA = certificate('rsa', 'RSA');
const ECDSA = certificate('ecdsa', 'ECDSA');
const ED25519 = certificate('ed25519', 'Ed25519');

function terminate(id: string, hostname: string | undefined, certificates: TlsCertificate[] = [RSA], protocol: 'HTTPS' | 'TLS' = 'HTTPS'): ServerBlock {
  return { id, protocol, ...(hostname === undefined ? {} : { hostname }), tls: { mode: 'Terminate', certificates }, sources: [] };
}

function passthrough(id: string, hostname?: string): ServerBlock {
  return { id, protocol: 'TLS', ...(hostname === undefined ? {} : { hostname }), tls: { mode: 'Passthrough' }, sources: [] };
}

function tlsRoute(name: string, serverBlock: string, hostnames: string[], creationTimestamp = '2024-01-01T00:00:00Z'): PassthroughRoute {
  return {
    source: { kind: 'TLSRoute', namespace: 'default', name, creationTimestamp },
    serverBlock,
    hostnames,
    backends: [{ kind: 'Resolved', name: `Service default/${name}`, weight: 1, endpoints: [{ address: '10.0.0.1', port: 443 }] }],
  };
}

function listener(protocol: Listener['protocol'], serverBlocks: ServerBlock[], tlsPassthrough: PassthroughRoute[] = []): Listener {
  return { name: `test:${protocol}`, address: '127.0.0.1', port: 443, protocol, serverBlocks, httpRoutes: [], grpcRoutes: [], tcpRoutes: [], tlsPassthrough };
}

describe('certificate selection: server block by SNI', function () {
  const mixed = buildTlsDispatch(listener('HTTPS', [terminate('wildcard', '*.example.com'), terminate('exact', 'foo.example.com'), terminate('catch-all', undefined)]));
  // Scenario 1: one HTTPS listener, hostname demo.example.com, and curl to the IP (no SNI).
  const scenario1 = buildTlsDispatch(listener('HTTPS', [terminate('demo', 'demo.example.com')]));
  const passthroughFirst = buildTlsDispatch(listener('TLS', [passthrough('pass', 'demo.example.com'), terminate('tcp', 'tcp.example.com', [RSA], 'TLS')]));
  const passthroughOnly = buildTlsDispatch(listener('TLS', [passthrough('pass', 'demo.example.com')]));

  const rows: Array<[name: string, dispatch: ReturnType<typeof buildTlsDispatch>, serverName: string | undefined, expected: string]> = [
    ['an exact SNI beats a wildcard', mixed, 'foo.example.com', 'exact:sni-exact'],
    ['a wildcard SNI beats the catch-all', mixed, 'bar.example.com', 'wildcard:sni-wildcard'],
    ['a wildcard covers deeper names', mixed, 'a.bar.example.com', 'wildcard:sni-wildcard'],
    ['an SNI no hostname serves goes to the catch-all', mixed, 'example.org', 'catch-all:sni-catch-all'],
    ['no SNI goes to the catch-all block', mixed, undefined, 'catch-all:no-sni-catch-all'],
    ['an empty SNI counts as none', mixed, '', 'catch-all:no-sni-catch-all'],
    ['SNI is case-insensitive', mixed, 'FOO.example.com', 'exact:sni-exact'],
    ['no SNI and no catch-all: the first Terminate block (scenario 1, curl to the IP)', scenario1, undefined, 'demo:no-sni-first-terminate-block'],
    ['no SNI on a shared TLS port: the first Terminate block, never a passthrough one', passthroughFirst, undefined, 'tcp:no-sni-first-terminate-block'],
    ['an SNI no block serves and no catch-all: refused, not the default certificate', scenario1, 'www.example.com', 'refused:unknown-server-name'],
    ['no SNI on a passthrough-only port without catch-all: refused', passthroughOnly, undefined, 'refused:server-name-required'],
  ];
  for (const [name, dispatch, serverName, expected] of rows) {
    it(`${name}: SNI ${JSON.stringify(serverName)} → ${expected}`, function () {
      const choice = selectServerBlock(dispatch, { serverName });
      expect(choice.kind === 'selected' ? `${choice.block.id}:${choice.reason}` : `refused:${choice.reason}`).to.equal(expected);
    });
  }
});

describe('certificate selection: certificate by the client\'s signature_algorithms', function () {
  const TLS13_TYPICAL = [S.ecdsa_secp256r1_sha256, S.rsa_pss_rsae_sha256, S.rsa_pkcs1_sha256, S.ecdsa_secp384r1_sha384, S.rsa_pss_rsae_sha384, S.rsa_pkcs1_sha384, S.rsa_pss_rsae_sha512, S.rsa_pkcs1_sha512];
  const ECDSA_SHA1 = 0x0203; // RFC 5246 (sha1, ecdsa): not one of RFC 8446's ECDSA schemes

  const rows: Array<[name: string, certificates: TlsCertificate[], schemes: number[] | undefined, id: string, reason: string]> = [
    ['a client listing ecdsa_secp256r1_sha256 (0x0403) gets ECDSA', [RSA, ECDSA], TLS13_TYPICAL, 'ecdsa', 'client-offers-ecdsa'],
    ['ecdsa_secp384r1_sha384 (0x0503) alone is enough for ECDSA', [RSA, ECDSA], [S.ecdsa_secp384r1_sha384, S.rsa_pss_rsae_sha256], 'ecdsa', 'client-offers-ecdsa'],
    ['ecdsa_secp521r1_sha512 (0x0603) alone is enough for ECDSA', [RSA, ECDSA], [S.ecdsa_secp521r1_sha512], 'ecdsa', 'client-offers-ecdsa'],
    ['ECDSA is preferred whatever the IR order', [ECDSA, RSA], TLS13_TYPICAL, 'ecdsa', 'client-offers-ecdsa'],
    ['a client without ECDSA schemes gets RSA', [RSA, ECDSA], [S.rsa_pss_rsae_sha256, S.rsa_pkcs1_sha256], 'rsa', 'client-offers-rsa'],
    ['RSA when listed after ECDSA in the IR', [ECDSA, RSA], [S.rsa_pss_rsae_sha256], 'rsa', 'client-offers-rsa'],
    ['legacy ecdsa_sha1 (0x0203) does not count as ECDSA', [RSA, ECDSA], [ECDSA_SHA1, S.rsa_pkcs1_sha256], 'rsa', 'client-offers-rsa'],
    ['no signature_algorithms (TLS 1.2 defaults to RSA, RFC 5246 §7.4.1.4.1)', [ECDSA, RSA], undefined, 'rsa', 'client-sent-no-signature-algorithms'],
    ['an empty list is the same as none', [ECDSA, RSA], [], 'rsa', 'client-sent-no-signature-algorithms'],
    ['ECDSA offered but only RSA available', [RSA, certificate('rsa-2', 'RSA')], [S.ecdsa_secp256r1_sha256, S.rsa_pss_rsae_sha256], 'rsa', 'client-offers-rsa'],
    ['a single certificate is served whatever the client lists', [ECDSA], [S.rsa_pss_rsae_sha256], 'ecdsa', 'only-certificate'],
    ['Ed25519 when it is all that fits', [ECDSA, ED25519], [S.ed25519, S.rsa_pss_rsae_sha256], 'ed25519', 'client-offers-ed25519'],
    ['nothing fits: RSA if present', [ECDSA, RSA], [S.ed25519], 'rsa', 'no-matching-key-type'],
    ['nothing fits and no RSA: the first certificate', [ECDSA, ED25519], [S.rsa_pss_rsae_sha256], 'ecdsa', 'no-matching-key-type'],
    ['no signature_algorithms and no RSA: the first certificate', [ED25519, ECDSA], undefined, 'ed25519', 'no-matching-key-type'],
    ['of two certificates of one type, the first', [RSA, certificate('rsa-2', 'RSA'), ECDSA], [S.rsa_pss_rsae_sha256], 'rsa', 'client-offers-rsa'],
  ];
  for (const [name, certificates, schemes, id, reason] of rows) {
    it(`${name} → ${id} (${reason})`, function () {
      const hello: ClientHelloSummary = schemes === undefined ? {} : { signatureAlgorithms: schemes };
      const choice = selectCertificate(certificates, hello);
      expect(choice && { id: choice.certificate.id, reason: choice.reason }).to.deep.equal({ id, reason });
    });
  }

  it('an empty list selects nothing', function () {
    expect(selectCertificate([], {})).to.equal(undefined);
  });

  it('takes the parser\'s ClientHello as it is', function () {
    const hello: Pick<ClientHello, 'serverName' | 'signatureAlgorithms'> = { serverName: undefined, signatureAlgorithms: [S.ecdsa_secp256r1_sha256] };
    const summary: ClientHelloSummary = hello; // compile-time: ClientHello fits ClientHelloSummary
    expect(selectCertificate([RSA, ECDSA], summary)?.certificate.id).to.equal('ecdsa');
  });
});

describe('certificate selection: the whole TLS decision', function () {
  const blocks = [
    terminate('https', 'demo.example.com', [RSA, ECDSA]),
    passthrough('pass-exact', 'pass.example.com'),
    passthrough('pass-wild', '*.tls.example.com'),
    terminate('tcp', 'tcp.example.com', [RSA], 'TLS'),
  ];
  const routes = [
    tlsRoute('newer', 'pass-exact', ['pass.example.com'], '2024-06-01T00:00:00Z'),
    tlsRoute('older', 'pass-exact', ['pass.example.com'], '2024-01-01T00:00:00Z'),
    tlsRoute('b-same-age', 'pass-wild', ['*.tls.example.com'], '2024-01-01T00:00:00Z'),
    tlsRoute('a-same-age', 'pass-wild', ['*.tls.example.com'], '2024-01-01T00:00:00Z'),
    tlsRoute('exact-in-wild', 'pass-wild', ['a.tls.example.com'], '2025-01-01T00:00:00Z'),
  ];
  const dispatch = buildTlsDispatch(listener('TLS', blocks, routes));

  function describeAction(serverName: string | undefined, schemes?: number[]): string {
    const action = selectTlsAction(dispatch, { serverName, ...(schemes ? { signatureAlgorithms: schemes } : {}) });
    switch (action.kind) {
      case 'terminate':
        return `terminate ${action.block.id} with ${action.certificate.id} alpn=${action.alpnProtocols.join(',')}`;
      case 'passthrough':
        return `passthrough ${action.block.id} to ${action.route.source.name} (${action.routeMatch})`;
      case 'refuse':
        return `refuse ${action.reason}`;
    }
  }

  const rows: Array<[name: string, serverName: string | undefined, schemes: number[] | undefined, expected: string]> = [
    ['HTTPS terminate: ECDSA for an ECDSA client, ALPN h2, http/1.1 and http/1.0 by default', 'demo.example.com', [S.ecdsa_secp256r1_sha256], 'terminate https with ecdsa alpn=h2,http/1.1,http/1.0'],
    ['HTTPS terminate: RSA for a client without ECDSA', 'demo.example.com', [S.rsa_pss_rsae_sha256], 'terminate https with rsa alpn=h2,http/1.1,http/1.0'],
    ['TLS terminate carrying TCP offers no ALPN by default', 'tcp.example.com', undefined, 'terminate tcp with rsa alpn='],
    ['passthrough: of two TLSRoutes for one hostname the oldest wins', 'pass.example.com', undefined, 'passthrough pass-exact to older (exact)'],
    ['passthrough: equal age, alphabetical {namespace}/{name} wins', 'x.tls.example.com', undefined, 'passthrough pass-wild to a-same-age (wildcard)'],
    ['passthrough: an exact route hostname beats a wildcard one in the same block', 'a.tls.example.com', undefined, 'passthrough pass-wild to exact-in-wild (exact)'],
    ['no SNI: the first Terminate block', undefined, undefined, 'terminate https with rsa alpn=h2,http/1.1,http/1.0'],
    ['an SNI nobody serves is refused', 'nobody.example.com', undefined, 'refuse unknown-server-name'],
  ];
  for (const [name, serverName, schemes, expected] of rows) {
    it(`${name}: ${expected}`, function () {
      expect(describeAction(serverName, schemes)).to.equal(expected);
    });
  }

  it('a passthrough block whose routes do not serve the SNI refuses it', function () {
    const lonely = buildTlsDispatch(listener('TLS', [passthrough('pass', '*.example.com')], [tlsRoute('only-a', 'pass', ['a.example.com'])]));
    expect(selectTlsAction(lonely, { serverName: 'b.example.com' })).to.deep.equal({ kind: 'refuse', reason: 'no-passthrough-route' });
  });

  it('a catch-all passthrough route takes clients without SNI on a catch-all passthrough block', function () {
    const open = buildTlsDispatch(listener('TLS', [passthrough('pass')], [tlsRoute('any', 'pass', [])]));
    const action = selectTlsAction(open, {});
    expect(action.kind === 'passthrough' ? `${action.route.source.name} ${action.blockReason} ${action.routeMatch}` : action.kind).to.equal('any no-sni-catch-all catch-all');
  });

  it('explicit ALPN protocols are offered as configured', function () {
    const block: ServerBlock = { ...terminate('h1', 'h1.example.com'), tls: { mode: 'Terminate', certificates: [RSA], alpnProtocols: ['http/1.1'] } };
    expect(alpnProtocolsOf(block)).to.deep.equal(['http/1.1']);
    expect(alpnProtocolsOf(passthrough('p'))).to.deep.equal([]);
  });
});
