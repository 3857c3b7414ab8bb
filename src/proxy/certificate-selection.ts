// What a TLS port does with a ClientHello: which server block serves it (by SNI), and
// then either which certificate to terminate with or which passthrough route gets the
// untouched stream. Pure: built once per configuration, one lookup per handshake.
//
// Server block by SNI (Listener.hostname docs): exact, then the most specific wildcard,
// then the block without hostname. An SNI that no block serves is refused (the caller
// sends the unrecognized_name alert, RFC 6066 §3) instead of getting someone else's
// certificate.
//
// Without SNI — clients connecting to an IP address must not send one (RFC 6066 §3:
// "Literal IPv4 and IPv6 addresses are not permitted in HostName") — the catch-all block
// serves, else the FIRST Terminate block in IR order (the controller orders blocks
// deterministically; see Listener.serverBlocks). This is what lets scenario 1's
// `curl -k https://$PROXY_IP/echo -H 'Host: demo.example.com'` complete its handshake.
import type { Listener, PassthroughRoute, ServerBlock, TlsCertificate } from '../ir/types.js';
import { HostnameIndex, type HostnameMatchKind } from './hostname-match.js';
import { compareRouteSources } from './route-table.js';

/** The parts of a ClientHello this module reads; src/proxy/clienthello.ts's ClientHello fits. */
export interface ClientHelloSummary {
  /** SNI host_name, undefined when the client sent none. */
  readonly serverName?: string | undefined;
  /** signature_algorithms (RFC 8446 §4.2.3), in the client's order; empty or absent when not sent. */
  readonly signatureAlgorithms?: readonly number[];
}

/** SignatureScheme code points, RFC 8446 §4.2.3 (the TLS 1.2 pairs of RFC 5246 §7.4.1.4.1 share them). */
export const SignatureScheme = {
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  ecdsa_secp521r1_sha512: 0x0603,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
  ed25519: 0x0807,
  rsa_pss_pss_sha256: 0x0809,
  rsa_pss_pss_sha384: 0x080a,
  rsa_pss_pss_sha512: 0x080b,
} as const;

const ECDSA_SCHEMES: ReadonlySet<number> = new Set([SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.ecdsa_secp384r1_sha384, SignatureScheme.ecdsa_secp521r1_sha512]);
const RSA_SCHEMES: ReadonlySet<number> = new Set([
  SignatureScheme.rsa_pkcs1_sha256,
  SignatureScheme.rsa_pkcs1_sha384,
  SignatureScheme.rsa_pkcs1_sha512,
  SignatureScheme.rsa_pss_rsae_sha256,
  SignatureScheme.rsa_pss_rsae_sha384,
  SignatureScheme.rsa_pss_rsae_sha512,
  SignatureScheme.rsa_pss_pss_sha256,
  SignatureScheme.rsa_pss_pss_sha384,
  SignatureScheme.rsa_pss_pss_sha512,
]);

// ---------------------------------------------------------------------------------
// Certificate within a block

/** Why a certificate was chosen; stable strings for metrics and logs. */
export type CertificateChoiceReason =
  /** The block has a single certificate. */
  | 'only-certificate'
  /** The client lists an ECDSA scheme (0x0403, 0x0503, 0x0603) and the block has an ECDSA certificate. */
  | 'client-offers-ecdsa'
  /** The client lists no usable ECDSA scheme (or the block has no ECDSA certificate) but an RSA one. */
  | 'client-offers-rsa'
  /** Only Ed25519 is both offered and available. */
  | 'client-offers-ed25519'
  /** No signature_algorithms: a TLS 1.2 client that assumes RSA (RFC 5246 §7.4.1.4.1). */
  | 'client-sent-no-signature-algorithms'
  /** Nothing the client lists fits: the RSA certificate if any, else the first; the handshake may fail. */
  | 'no-matching-key-type';

export interface CertificateChoice {
  readonly certificate: TlsCertificate;
  readonly reason: CertificateChoiceReason;
}

/**
 * Chooses among a block's certificates by the client's signature_algorithms: ECDSA when
 * the client lists an ECDSA scheme (smaller, faster handshakes), else RSA, else
 * Ed25519. Among certificates of one key type the first wins. Undefined only for an
 * empty list (the validator forbids it).
 */
export function selectCertificate(certificates: readonly TlsCertificate[], hello: ClientHelloSummary): CertificateChoice | undefined {
  const first = certificates[0];
  if (first === undefined) return undefined;
  if (certificates.length === 1) return { certificate: first, reason: 'only-certificate' };
  const rsa = certificates.find((c) => c.keyType === 'RSA');
  const schemes = hello.signatureAlgorithms ?? [];
  if (schemes.length === 0) {
    return rsa ? { certificate: rsa, reason: 'client-sent-no-signature-algorithms' } : { certificate: first, reason: 'no-matching-key-type' };
  }
  const ecdsa = certificates.find((c) => c.keyType === 'ECDSA');
  if (ecdsa && schemes.some((s) => ECDSA_SCHEMES.has(s))) return { certificate: ecdsa, reason: 'client-offers-ecdsa' };
  if (rsa && schemes.some((s) => RSA_SCHEMES.has(s))) return { certificate: rsa, reason: 'client-offers-rsa' };
  const ed25519 = certificates.find((c) => c.keyType === 'Ed25519');
  if (ed25519 && schemes.includes(SignatureScheme.ed25519)) return { certificate: ed25519, reason: 'client-offers-ed25519' };
  return { certificate: rsa ?? first, reason: 'no-matching-key-type' };
}

// ---------------------------------------------------------------------------------
// Server block by SNI

/** How the block was chosen; stable strings for metrics and logs. */
export type ServerBlockChoiceReason =
  | 'sni-exact'
  | 'sni-wildcard'
  | 'sni-catch-all'
  /** No SNI; the block without hostname. */
  | 'no-sni-catch-all'
  /** No SNI and no catch-all; the first Terminate block in IR order. */
  | 'no-sni-first-terminate-block';

/** Why a handshake is refused. */
export type TlsRefusalReason =
  /** The SNI names a host no block serves. */
  | 'unknown-server-name'
  /** No SNI, and neither a catch-all nor a Terminate block to default to. */
  | 'server-name-required'
  /** A passthrough block, but none of its routes serves the SNI. */
  | 'no-passthrough-route'
  /** A Terminate block without certificate (an unvalidated config). */
  | 'no-certificate';

export type ServerBlockChoice =
  | { readonly kind: 'selected'; readonly block: ServerBlock; readonly reason: ServerBlockChoiceReason }
  | { readonly kind: 'refused'; readonly reason: TlsRefusalReason };

/** A listener's TLS dispatch, built once per configuration. */
export interface TlsDispatch {
  readonly listener: string;
  readonly blocks: HostnameIndex<ServerBlock>;
  /** The block for clients without SNI (see the top of this file). */
  readonly defaultBlock: ServerBlock | undefined;
  readonly passthroughRoutes: ReadonlyMap<string, HostnameIndex<PassthroughRoute>>;
}

export function buildTlsDispatch(listener: Listener): TlsDispatch {
  const tlsBlocks = listener.serverBlocks.filter((block) => block.tls !== undefined);
  const blocks = new HostnameIndex(tlsBlocks.map((block) => ({ hostname: block.hostname, value: block })));
  const defaultBlock = blocks.catchAllEntry?.value ?? tlsBlocks.find((block) => block.tls?.mode === 'Terminate');
  const passthroughRoutes = new Map<string, HostnameIndex<PassthroughRoute>>();
  for (const block of tlsBlocks.filter((b) => b.tls?.mode === 'Passthrough')) {
    // Oldest first, so that of two routes claiming one hostname the older one wins.
    const routes = listener.tlsPassthrough.filter((route) => route.serverBlock === block.id).sort((a, b) => compareRouteSources(a.source, b.source));
    const entries = routes.flatMap((route) => (route.hostnames.length === 0 ? [{ value: route }] : route.hostnames.map((hostname) => ({ hostname, value: route }))));
    passthroughRoutes.set(block.id, new HostnameIndex(entries));
  }
  return { listener: listener.name, blocks, defaultBlock, passthroughRoutes };
}

const SNI_REASONS: Record<HostnameMatchKind, ServerBlockChoiceReason> = { exact: 'sni-exact', wildcard: 'sni-wildcard', 'catch-all': 'sni-catch-all' };

export function selectServerBlock(dispatch: TlsDispatch, hello: ClientHelloSummary): ServerBlockChoice {
  if (hello.serverName) {
    const match = dispatch.blocks.lookup(hello.serverName);
    if (!match) return { kind: 'refused', reason: 'unknown-server-name' };
    return { kind: 'selected', block: match.value, reason: SNI_REASONS[match.kind] };
  }
  const catchAll = dispatch.blocks.catchAllEntry;
  if (catchAll) return { kind: 'selected', block: catchAll.value, reason: 'no-sni-catch-all' };
  if (dispatch.defaultBlock) return { kind: 'selected', block: dispatch.defaultBlock, reason: 'no-sni-first-terminate-block' };
  return { kind: 'refused', reason: 'server-name-required' };
}

// ---------------------------------------------------------------------------------
// The whole decision

/**
 * HTTPS blocks speak h2 and HTTP/1.x. `http/1.0` is offered last so that a client which
 * lists only it (`curl --http1.0`) is served, as nginx and HAProxy serve it, instead of
 * getting the no_application_protocol alert RFC 7301 prescribes for no overlap.
 */
const DEFAULT_HTTPS_ALPN: readonly string[] = ['h2', 'http/1.1', 'http/1.0'];

/** ALPN ids to offer on a Terminate block (TlsTermination.alpnProtocols docs). */
export function alpnProtocolsOf(block: ServerBlock): readonly string[] {
  const tls = block.tls?.mode === 'Terminate' ? block.tls : undefined;
  return tls?.alpnProtocols ?? (block.protocol === 'HTTPS' ? DEFAULT_HTTPS_ALPN : []);
}

export type TlsAction =
  | {
      readonly kind: 'terminate';
      readonly block: ServerBlock;
      readonly blockReason: ServerBlockChoiceReason;
      readonly certificate: TlsCertificate;
      readonly certificateReason: CertificateChoiceReason;
      readonly alpnProtocols: readonly string[];
    }
  | {
      readonly kind: 'passthrough';
      readonly block: ServerBlock;
      readonly blockReason: ServerBlockChoiceReason;
      readonly route: PassthroughRoute;
      /** How the route's hostname matched the SNI (`catch-all`: a route without hostnames). */
      readonly routeMatch: HostnameMatchKind;
    }
  | { readonly kind: 'refuse'; readonly reason: TlsRefusalReason };

/** Block, then certificate or passthrough route, for one ClientHello. */
export function selectTlsAction(dispatch: TlsDispatch, hello: ClientHelloSummary): TlsAction {
  const choice = selectServerBlock(dispatch, hello);
  if (choice.kind === 'refused') return { kind: 'refuse', reason: choice.reason };
  const { block } = choice;
  if (block.tls?.mode === 'Passthrough') {
    const routes = dispatch.passthroughRoutes.get(block.id);
    const match = hello.serverName ? routes?.lookup(hello.serverName) : routes?.catchAllEntry;
    if (!match) return { kind: 'refuse', reason: 'no-passthrough-route' };
    return { kind: 'passthrough', block, blockReason: choice.reason, route: match.value, routeMatch: match.kind };
  }
  const certificate = selectCertificate(block.tls?.certificates ?? [], hello);
  if (!certificate) return { kind: 'refuse', reason: 'no-certificate' };
  return {
    kind: 'terminate',
    block,
    blockReason: choice.reason,
    certificate: certificate.certificate,
    certificateReason: certificate.reason,
    alpnProtocols: alpnProtocolsOf(block),
  };
}
