// ClientHello inspection: the pure first step of every TLS port. Given the bytes a
// client has sent so far, say whether they hold a complete TLS ClientHello (and what
// it offers: SNI, ALPN, versions, signature schemes), need more bytes, or can never
// become one. No I/O, no clock, never throws: the input is attacker-controlled.
//
// Wire format references:
// - TLS record layer: RFC 8446 §5.1 (RFC 5246 §6.2.1 for TLS 1.2).
// - Handshake framing: RFC 8446 §4 (msg_type u8, length u24).
// - ClientHello body: RFC 8446 §4.1.2, RFC 5246 §7.4.1.2.
// - Extensions: RFC 8446 §4.2, server_name RFC 6066 §3, ALPN RFC 7301 §3.1.
//
// The parser is stateless: callers pass the whole buffer received so far each time.
// `need` in an incomplete result is the distance to the next byte that can change the
// answer (complete or invalid), so an I/O loop can skip re-parsing until that many
// more have arrived without delaying either outcome.

/** A TLS protocol version as it appears on the wire (RFC 8446 §4.2.1, Appendix B.3.1.1). */
export type ProtocolVersion = number;

export const TlsVersion = {
  SSL3: 0x0300,
  TLS1_0: 0x0301,
  TLS1_1: 0x0302,
  TLS1_2: 0x0303,
  TLS1_3: 0x0304,
} as const;

/** What the client offered in its ClientHello. Lists are in the client's order, GREASE values (RFC 8701) included. */
export interface ClientHello {
  /** legacy_record_version of the first record carrying the hello (RFC 8446 §5.1); often 0x0301. */
  readonly recordVersion: ProtocolVersion;
  /** legacy_version / client_version of the body (RFC 8446 §4.1.2); 0x0303 from TLS 1.3 clients. */
  readonly legacyVersion: ProtocolVersion;
  /**
   * The host_name from server_name (RFC 6066 §3), ASCII lower-cased and without a trailing dot;
   * undefined when the client sent no host_name.
   */
  readonly serverName: string | undefined;
  /** ALPN protocol names (RFC 7301 §3.1); empty when the extension is absent. */
  readonly alpnProtocols: readonly string[];
  /** supported_versions (RFC 8446 §4.2.1); empty when absent, i.e. the client speaks at most TLS 1.2. */
  readonly supportedVersions: readonly ProtocolVersion[];
  /** signature_algorithms SignatureScheme values (RFC 8446 §4.2.3); empty when absent. */
  readonly signatureAlgorithms: readonly number[];
  /** signature_algorithms_cert (RFC 8446 §4.2.3); empty when absent (then signatureAlgorithms applies). */
  readonly signatureAlgorithmsCert: readonly number[];
  /** supported_groups NamedGroup values (RFC 8446 §4.2.7, RFC 8422 §5.1.1); empty when absent. */
  readonly supportedGroups: readonly number[];
  /** cipher_suites (RFC 8446 §4.1.2); a TLS 1.2 server picks an RSA or ECDSA certificate to match one. */
  readonly cipherSuites: readonly number[];
  /** Extension types in the order sent. */
  readonly extensionTypes: readonly number[];
  /** How many TLS records carried the hello (more than one when fragmented, RFC 8446 §5.1). */
  readonly recordCount: number;
}

/** Why some bytes can never be (the start of) a valid ClientHello. Stable strings: logs and metrics use them. */
export type ClientHelloRejection =
  /** The first bytes are not a TLS record header. */
  | 'not-tls'
  /** A plaintext HTTP request (or HTTP/2 prior-knowledge preface) sent to a TLS port. */
  | 'http'
  /** An SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2): high bit set in the first byte. */
  | 'sslv2'
  /** A TLS record, but not a handshake record (alert, application_data, ...). */
  | 'not-handshake'
  /** A handshake message other than ClientHello (RFC 8446 §4: client_hello is msg_type 1). */
  | 'not-client-hello'
  /** A record longer than 2^14 bytes (RFC 8446 §5.1, record_overflow). */
  | 'record-overflow'
  /** The hello, with its record headers, would exceed the configured byte bound. */
  | 'too-large'
  /** Length fields or vectors inconsistent with the protocol. */
  | 'malformed'
  /** The same extension type twice (RFC 8446 §4.2, RFC 5246 §7.4.1.4). */
  | 'duplicate-extension'
  /** server_name present but unusable: empty, overrunning, repeated, or not a DNS host name (RFC 6066 §3). */
  | 'invalid-server-name';

export interface ClientHelloComplete {
  readonly kind: 'complete';
  readonly hello: ClientHello;
  /** Bytes of the input occupied by the records that carried the hello. */
  readonly consumed: number;
}

export interface ClientHelloIncomplete {
  readonly kind: 'incomplete';
  /** Fewer than this many more bytes cannot change the result (always ≥ 1); parse again once they arrive. */
  readonly need: number;
}

export interface ClientHelloInvalid {
  readonly kind: 'invalid';
  readonly reason: ClientHelloRejection;
  /** For a person: what was wrong, where, and the rule it broke. */
  readonly detail: string;
}

export type ClientHelloParseResult = ClientHelloComplete | ClientHelloIncomplete | ClientHelloInvalid;

export interface ClientHelloLimits {
  /** Upper bound on the bytes (record headers included) a hello may occupy. Default 16 KiB. */
  maxBytes?: number;
}

export const DEFAULT_CLIENT_HELLO_MAX_BYTES = 16 * 1024;

const RECORD_HEADER_BYTES = 5; // type u8, legacy_record_version u16, length u16 (RFC 8446 §5.1)
const HANDSHAKE_HEADER_BYTES = 4; // msg_type u8, length u24 (RFC 8446 §4)
const MAX_RECORD_PAYLOAD = 1 << 14; // RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes."

const CONTENT_TYPE_CHANGE_CIPHER_SPEC = 20;
const CONTENT_TYPE_HEARTBEAT = 24; // RFC 6520 §2
const CONTENT_TYPE_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;

const EXTENSION_SERVER_NAME = 0; // RFC 6066 §3
const EXTENSION_SUPPORTED_GROUPS = 10; // RFC 8446 §4.2.7
const EXTENSION_SIGNATURE_ALGORITHMS = 13; // RFC 8446 §4.2.3
const EXTENSION_ALPN = 16; // RFC 7301 §3.1
const EXTENSION_PRE_SHARED_KEY = 41; // RFC 8446 §4.2.11
const EXTENSION_SUPPORTED_VERSIONS = 43; // RFC 8446 §4.2.1
const EXTENSION_SIGNATURE_ALGORITHMS_CERT = 50; // RFC 8446 §4.2.3

const NAME_TYPE_HOST_NAME = 0; // RFC 6066 §3

/** Request methods whose "METHOD " prefix marks plaintext HTTP on a TLS port (RFC 9110 §9, RFC 9113 §3.4 "PRI"). */
const HTTP_METHOD_PREFIXES = ['GET ', 'HEAD ', 'POST ', 'PUT ', 'DELETE ', 'CONNECT ', 'OPTIONS ', 'TRACE ', 'PATCH ', 'PRI '].map(
  (prefix) => Buffer.from(prefix, 'latin1'),
);

/**
 * Parses the ClientHello at the start of `records`, the bytes received so far on a TLS
 * connection. Bytes after the records carrying the hello are ignored.
 */
export function parseClientHello(records: Buffer, limits: ClientHelloLimits = {}): ClientHelloParseResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_CLIENT_HELLO_MAX_BYTES;
  const notTls = classifyFirstBytes(records);
  if (notTls !== undefined) return notTls;

  // The handshake message may be split over several records, and several records
  // may arrive in one read (RFC 8446 §5.1). `fragments` holds [start, end) pairs of
  // handshake payload within `records`; nothing is copied unless there are several.
  const fragments: number[] = [];
  let handshakeSeen = 0;
  let handshakeTotal = -1; // header + body, once the 4-byte handshake header is known
  let offset = 0;
  let recordCount = 0;

  for (;;) {
    const available = records.length - offset;
    if (available < RECORD_HEADER_BYTES) {
      const partial = checkPartialRecordHeader(records, offset, available);
      if (partial !== undefined) return partial;
      // The type byte, the version byte and the length field are each decision points.
      return incomplete(available < 2 ? 1 : RECORD_HEADER_BYTES - available);
    }
    const recordLength = readU16(records, offset + 3);
    const headerProblem = checkPartialRecordHeader(records, offset, RECORD_HEADER_BYTES);
    if (headerProblem !== undefined) return headerProblem;
    if (recordLength > MAX_RECORD_PAYLOAD) {
      return invalid('record-overflow', `record at byte ${offset} declares ${recordLength} bytes; the limit is 2^14 (RFC 8446 §5.1)`);
    }
    if (recordLength === 0) {
      return invalid('malformed', `record at byte ${offset} is an empty handshake fragment, which RFC 8446 §5.1 forbids`);
    }
    const recordEnd = offset + RECORD_HEADER_BYTES + recordLength;
    if (recordEnd > maxBytes) {
      return invalid('too-large', `record at byte ${offset} ends at byte ${recordEnd}, beyond the ${maxBytes}-byte ClientHello bound`);
    }
    recordCount += 1;
    const payloadStart = offset + RECORD_HEADER_BYTES;
    const payloadEnd = Math.min(recordEnd, records.length);
    if (payloadEnd > payloadStart) {
      fragments.push(payloadStart, payloadEnd);
      handshakeSeen += payloadEnd - payloadStart;
    }

    if (handshakeTotal < 0 && handshakeSeen >= 1) {
      const msgType = handshakeByte(records, fragments, 0);
      if (msgType !== HANDSHAKE_CLIENT_HELLO) {
        return invalid('not-client-hello', `first handshake message has msg_type ${msgType}; a client must open with client_hello (1) (RFC 8446 §4)`);
      }
    }
    if (handshakeTotal < 0 && handshakeSeen >= HANDSHAKE_HEADER_BYTES) {
      const bodyLength =
        (handshakeByte(records, fragments, 1) << 16) | (handshakeByte(records, fragments, 2) << 8) | handshakeByte(records, fragments, 3);
      handshakeTotal = HANDSHAKE_HEADER_BYTES + bodyLength;
      // Every record adds a header, so the hello occupies at least one header more than itself.
      if (RECORD_HEADER_BYTES + handshakeTotal > maxBytes) {
        return invalid('too-large', `ClientHello declares ${bodyLength} body bytes; with framing that exceeds the ${maxBytes}-byte bound`);
      }
    }

    if (payloadEnd < recordEnd) {
      // Until the record is whole, only the handshake header's msg_type and length decide anything.
      const recordRemaining = recordEnd - payloadEnd;
      if (handshakeTotal >= 0) return incomplete(recordRemaining);
      return incomplete(Math.min(recordRemaining, handshakeSeen === 0 ? 1 : HANDSHAKE_HEADER_BYTES - handshakeSeen));
    }
    if (handshakeTotal >= 0 && handshakeSeen >= handshakeTotal) {
      if (handshakeSeen > handshakeTotal) {
        // The client's first flight is the ClientHello alone (RFC 8446 §2, RFC 5246 §7.3), and
        // with 0-RTT a key change follows it, so it must end on a record boundary (RFC 8446 §5.1).
        return invalid('malformed', `${handshakeSeen - handshakeTotal} handshake bytes follow the ClientHello in its last record (RFC 8446 §5.1)`);
      }
      const message = joinFragments(records, fragments, handshakeTotal);
      const hello = parseClientHelloBody(message.subarray(HANDSHAKE_HEADER_BYTES), readU16(records, 1), recordCount);
      if ('kind' in hello) return hello;
      return { kind: 'complete', hello, consumed: recordEnd };
    }
    offset = recordEnd;
  }
}

/** RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal; they must be ignored. */
export function isGreaseValue(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

/**
 * The highest version the client offers: from supported_versions when present
 * (RFC 8446 §4.2.1 says servers then ignore legacy_version), else legacy_version.
 */
export function highestOfferedVersion(hello: ClientHello): ProtocolVersion {
  let highest = -1;
  for (const version of hello.supportedVersions) {
    if (!isGreaseValue(version) && version > highest) highest = version;
  }
  return highest >= 0 ? highest : hello.legacyVersion;
}

// ---------------------------------------------------------------------------------
// Record layer

/** Rejects input whose first bytes cannot start a TLS handshake record, or says "wait" for a few more. */
function classifyFirstBytes(records: Buffer): ClientHelloIncomplete | ClientHelloInvalid | undefined {
  if (records.length === 0) return incomplete(1);
  const first = records[0];
  if (first & 0x80) return classifySslv2(records);
  if (first === CONTENT_TYPE_HANDSHAKE) return undefined;
  if (first >= CONTENT_TYPE_CHANGE_CIPHER_SPEC && first <= CONTENT_TYPE_HEARTBEAT) {
    if (records.length < 2) return incomplete(1);
    if (records[1] === 3) {
      return invalid('not-handshake', `first record has content type ${first}; a connection must open with a handshake record (22) (RFC 8446 §5.1)`);
    }
    return invalid('not-tls', `first bytes ${hexPrefix(records)} are not a TLS record header`);
  }
  return classifyPlaintext(records);
}

/**
 * An SSLv2-compatible hello has a 2-byte header with the high bit set, then msg_type
 * 1 (CLIENT-HELLO) and a version (RFC 5246 Appendix E.2). Wait for the msg_type byte
 * so the reason does not depend on how the bytes were segmented.
 */
function classifySslv2(records: Buffer): ClientHelloIncomplete | ClientHelloInvalid {
  if (records.length < 3) return incomplete(3 - records.length);
  if (records[2] === 1) {
    const version = records.length >= 5 ? ` offering version ${hex16(readU16(records, 3))}` : '';
    return invalid('sslv2', `SSLv2-compatible CLIENT-HELLO${version}; only TLS record framing is accepted (RFC 6176, RFC 8446 Appendix D.5)`);
  }
  return invalid('not-tls', `first bytes ${hexPrefix(records)} are not a TLS record header`);
}

function classifyPlaintext(records: Buffer): ClientHelloIncomplete | ClientHelloInvalid {
  let couldStillBeHttp = false;
  for (const prefix of HTTP_METHOD_PREFIXES) {
    const compared = Math.min(prefix.length, records.length);
    if (records.compare(prefix, 0, compared, 0, compared) !== 0) continue;
    if (compared === prefix.length) {
      return invalid('http', `plaintext HTTP request (${JSON.stringify(prefix.toString('latin1').trim())}) sent to a TLS port`);
    }
    couldStillBeHttp = true;
  }
  if (couldStillBeHttp) return incomplete(1);
  return invalid('not-tls', `first bytes ${hexPrefix(records)} are not a TLS record header`);
}

/** Checks the bytes of a record header that have arrived, so bad input fails before the header is whole. */
function checkPartialRecordHeader(records: Buffer, offset: number, available: number): ClientHelloInvalid | undefined {
  if (available >= 1 && records[offset] !== CONTENT_TYPE_HANDSHAKE) {
    return invalid('malformed', `record at byte ${offset} has type ${records[offset]}; a handshake message split over records must not be interleaved with other records (RFC 8446 §5.1)`);
  }
  if (available >= 2 && records[offset + 1] !== 3) {
    const reason = offset === 0 ? 'not-tls' : 'malformed';
    return invalid(reason, `record at byte ${offset} has version major ${records[offset + 1]}; TLS records carry 0x03xx (RFC 8446 §5.1)`);
  }
  return undefined;
}

function handshakeByte(records: Buffer, fragments: readonly number[], index: number): number {
  for (let i = 0; i < fragments.length; i += 2) {
    const length = fragments[i + 1] - fragments[i];
    if (index < length) return records[fragments[i] + index];
    index -= length;
  }
  return -1; // callers only ask for bytes already counted in handshakeSeen
}

/** The handshake message as one Buffer: a view when it sits in one record, a copy only when fragmented. */
function joinFragments(records: Buffer, fragments: readonly number[], total: number): Buffer {
  if (fragments.length === 2) return records.subarray(fragments[0], fragments[0] + total);
  const message = Buffer.allocUnsafe(total);
  let written = 0;
  for (let i = 0; i < fragments.length; i += 2) written += records.copy(message, written, fragments[i], fragments[i + 1]);
  return message;
}

// ---------------------------------------------------------------------------------
// ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2)

type MutableClientHello = { -readonly [K in keyof ClientHello]: ClientHello[K] };

function parseClientHelloBody(body: Buffer, recordVersion: number, recordCount: number): ClientHello | ClientHelloInvalid {
  // legacy_version u16, random[32], legacy_session_id<0..32>
  if (body.length < 35) return malformed(`ClientHello body is ${body.length} bytes; version, random and session id need at least 35 (RFC 8446 §4.1.2)`);
  const legacyVersion = readU16(body, 0);
  const sessionIdLength = body[34];
  if (sessionIdLength > 32) return malformed(`legacy_session_id is ${sessionIdLength} bytes; at most 32 are allowed (RFC 8446 §4.1.2)`);
  let pos = 35 + sessionIdLength;

  // cipher_suites<2..2^16-2>
  if (pos + 2 > body.length) return malformed('ClientHello ends before cipher_suites (RFC 8446 §4.1.2)');
  const cipherSuitesLength = readU16(body, pos);
  pos += 2;
  if (cipherSuitesLength < 2 || cipherSuitesLength % 2 !== 0 || pos + cipherSuitesLength > body.length) {
    return malformed(`cipher_suites length ${cipherSuitesLength} is odd, empty or overruns the ClientHello (RFC 8446 §4.1.2)`);
  }
  const cipherSuites = readU16Values(body, pos, cipherSuitesLength);
  pos += cipherSuitesLength;

  // legacy_compression_methods<1..2^8-1>
  if (pos + 1 > body.length) return malformed('ClientHello ends before legacy_compression_methods (RFC 8446 §4.1.2)');
  const compressionLength = body[pos];
  pos += 1;
  if (compressionLength < 1 || pos + compressionLength > body.length) {
    return malformed(`legacy_compression_methods length ${compressionLength} is empty or overruns the ClientHello (RFC 8446 §4.1.2)`);
  }
  pos += compressionLength;

  const hello: MutableClientHello = {
    recordVersion,
    legacyVersion,
    serverName: undefined,
    alpnProtocols: [],
    supportedVersions: [],
    signatureAlgorithms: [],
    signatureAlgorithmsCert: [],
    supportedGroups: [],
    cipherSuites,
    extensionTypes: [],
    recordCount,
  };
  // RFC 5246 §7.4.1.2: extensions are present iff bytes follow the compression methods.
  if (pos === body.length) return hello;
  if (pos + 2 > body.length) return malformed('one stray byte where the extensions length should be (RFC 5246 §7.4.1.2)');
  const extensionsLength = readU16(body, pos);
  pos += 2;
  if (pos + extensionsLength !== body.length) {
    return malformed(`extensions length ${extensionsLength} does not match the ${body.length - pos} bytes left in the ClientHello (RFC 8446 §4.1.2)`);
  }
  const problem = parseExtensions(body, pos, body.length, hello);
  return problem ?? hello;
}

function parseExtensions(body: Buffer, start: number, end: number, hello: MutableClientHello): ClientHelloInvalid | undefined {
  const extensionTypes: number[] = [];
  const seen = new Set<number>();
  let pos = start;
  while (pos < end) {
    if (pos + 4 > end) return malformed(`extension header at byte ${pos} is cut short (RFC 8446 §4.2)`);
    const type = readU16(body, pos);
    const length = readU16(body, pos + 2);
    pos += 4;
    if (pos + length > end) return malformed(`extension ${type} declares ${length} bytes but only ${end - pos} remain (RFC 8446 §4.2)`);
    if (seen.has(type)) {
      return invalid('duplicate-extension', `extension ${type} appears twice; "There MUST NOT be more than one extension of the same type" (RFC 8446 §4.2)`);
    }
    if (seen.has(EXTENSION_PRE_SHARED_KEY)) {
      return malformed(`extension ${type} follows pre_shared_key, which MUST be the last extension (RFC 8446 §4.2.11)`);
    }
    seen.add(type);
    extensionTypes.push(type);
    const problem = parseExtension(type, body, pos, length, hello);
    if (problem !== undefined) return problem;
    pos += length;
  }
  hello.extensionTypes = extensionTypes;
  return undefined;
}

function parseExtension(type: number, body: Buffer, start: number, length: number, hello: MutableClientHello): ClientHelloInvalid | undefined {
  switch (type) {
    case EXTENSION_SERVER_NAME: {
      const serverName = parseServerName(body, start, length);
      if (typeof serverName === 'object') return serverName;
      hello.serverName = serverName;
      return undefined;
    }
    case EXTENSION_ALPN: {
      const protocols = parseAlpn(body, start, length);
      if (!Array.isArray(protocols)) return protocols;
      hello.alpnProtocols = protocols;
      return undefined;
    }
    case EXTENSION_SUPPORTED_VERSIONS: {
      // ProtocolVersion versions<2..254> (RFC 8446 §4.2.1): a one-byte length.
      const listLength = length >= 1 ? body[start] : -1;
      if (listLength + 1 !== length || listLength < 2 || listLength % 2 !== 0) {
        return malformed(`supported_versions list of ${length} bytes is empty, odd or mis-sized (RFC 8446 §4.2.1)`);
      }
      hello.supportedVersions = readU16Values(body, start + 1, listLength);
      return undefined;
    }
    case EXTENSION_SIGNATURE_ALGORITHMS:
    case EXTENSION_SIGNATURE_ALGORITHMS_CERT:
    case EXTENSION_SUPPORTED_GROUPS: {
      // SignatureScheme supported_signature_algorithms<2..2^16-2> (RFC 8446 §4.2.3),
      // NamedGroup named_group_list<2..2^16-1> (RFC 8446 §4.2.7): two-byte length, u16 items.
      const values = readU16Vector(body, start, length);
      if (values === undefined) return malformed(`extension ${type} list of ${length} bytes is empty, odd or mis-sized (RFC 8446 §4.2.3, §4.2.7)`);
      if (type === EXTENSION_SIGNATURE_ALGORITHMS) hello.signatureAlgorithms = values;
      else if (type === EXTENSION_SIGNATURE_ALGORITHMS_CERT) hello.signatureAlgorithmsCert = values;
      else hello.supportedGroups = values;
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * RFC 6066 §3: ServerName server_name_list<1..2^16-1>, each entry a name_type u8 and,
 * for host_name (0), HostName opaque<1..2^16-1>. At most one name per type. Entries of
 * unknown types are skipped, assuming the same opaque<1..2^16-1> shape.
 */
function parseServerName(body: Buffer, start: number, length: number): string | undefined | ClientHelloInvalid {
  if (length < 2) return invalid('invalid-server-name', `server_name extension is ${length} bytes; it must hold a ServerNameList (RFC 6066 §3)`);
  const listLength = readU16(body, start);
  if (listLength + 2 !== length) {
    return invalid('invalid-server-name', `ServerNameList declares ${listLength} bytes in a ${length}-byte extension (RFC 6066 §3)`);
  }
  if (listLength === 0) return invalid('invalid-server-name', 'ServerNameList is empty; it must hold at least one name (RFC 6066 §3)');
  const end = start + length;
  let pos = start + 2;
  let hostName: string | undefined;
  while (pos < end) {
    if (pos + 3 > end) return invalid('invalid-server-name', `ServerName entry at byte ${pos} is cut short (RFC 6066 §3)`);
    const nameType = body[pos];
    const nameLength = readU16(body, pos + 1);
    pos += 3;
    if (nameLength === 0) return invalid('invalid-server-name', `ServerName of type ${nameType} is empty; HostName is opaque<1..2^16-1> (RFC 6066 §3)`);
    if (pos + nameLength > end) {
      return invalid('invalid-server-name', `ServerName of type ${nameType} declares ${nameLength} bytes but only ${end - pos} remain (RFC 6066 §3)`);
    }
    if (nameType === NAME_TYPE_HOST_NAME) {
      if (hostName !== undefined) return invalid('invalid-server-name', 'ServerNameList holds two host_name entries; at most one per type is allowed (RFC 6066 §3)');
      const normalised = normaliseHostName(body, pos, nameLength);
      if (typeof normalised === 'object') return normalised;
      hostName = normalised;
    }
    pos += nameLength;
  }
  return hostName;
}

/**
 * RFC 6066 §3: HostName is a DNS name in ASCII, without a trailing dot. We accept and
 * strip one trailing dot (a fully-qualified name a client failed to trim), lower-case it
 * (DNS names compare case-insensitively, RFC 4343), and refuse anything that is not a
 * letter-digit-hyphen name (underscore tolerated) with labels of 1..63 bytes and at
 * most 253 bytes in all (RFC 1035 §2.3.4). IPv4 literals, which RFC 6066 forbids but
 * some clients send, pass through: they simply match no route.
 */
function normaliseHostName(body: Buffer, start: number, length: number): string | ClientHelloInvalid {
  let end = start + length;
  if (body[end - 1] === 0x2e) end -= 1;
  if (end - start > 253) return invalid('invalid-server-name', `host_name is ${end - start} bytes; DNS names are at most 253 (RFC 1035 §2.3.4)`);
  let labelLength = 0;
  let hasUpperCase = false;
  for (let i = start; i < end; i++) {
    const c = body[i];
    if (c === 0x2e) {
      if (labelLength === 0) return invalid('invalid-server-name', `host_name has an empty label at byte ${i - start} (RFC 1035 §2.3.4)`);
      labelLength = 0;
      continue;
    }
    if (!isHostNameByte(c)) {
      return invalid('invalid-server-name', `host_name contains byte 0x${c.toString(16).padStart(2, '0')} at ${i - start}; only letters, digits, '-', '_' and '.' are accepted (RFC 6066 §3)`);
    }
    if (c >= 0x41 && c <= 0x5a) hasUpperCase = true;
    labelLength += 1;
    if (labelLength > 63) return invalid('invalid-server-name', 'host_name has a label longer than 63 bytes (RFC 1035 §2.3.4)');
  }
  if (labelLength === 0) return invalid('invalid-server-name', 'host_name is empty or ends with an empty label (RFC 6066 §3)');
  const name = body.toString('latin1', start, end);
  return hasUpperCase ? name.toLowerCase() : name;
}

function isHostNameByte(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x5f // _
  );
}

/** RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, each ProtocolName opaque<1..2^8-1>. */
function parseAlpn(body: Buffer, start: number, length: number): string[] | ClientHelloInvalid {
  const listLength = length >= 2 ? readU16(body, start) : -1;
  if (listLength + 2 !== length || listLength < 2) {
    return malformed(`ALPN protocol_name_list of ${length} bytes is empty or mis-sized (RFC 7301 §3.1)`);
  }
  const protocols: string[] = [];
  const end = start + length;
  let pos = start + 2;
  while (pos < end) {
    const nameLength = body[pos];
    pos += 1;
    if (nameLength === 0) return malformed('ALPN list holds an empty protocol name (RFC 7301 §3.1)');
    if (pos + nameLength > end) return malformed(`ALPN protocol name declares ${nameLength} bytes but only ${end - pos} remain (RFC 7301 §3.1)`);
    protocols.push(body.toString('latin1', pos, pos + nameLength));
    pos += nameLength;
  }
  return protocols;
}

// ---------------------------------------------------------------------------------
// Small helpers

/** A u16-length-prefixed, non-empty vector of u16 values filling exactly `length` bytes. */
function readU16Vector(body: Buffer, start: number, length: number): number[] | undefined {
  const listLength = length >= 2 ? readU16(body, start) : -1;
  if (listLength + 2 !== length || listLength < 2 || listLength % 2 !== 0) return undefined;
  return readU16Values(body, start + 2, listLength);
}

function readU16Values(body: Buffer, start: number, length: number): number[] {
  const values = new Array<number>(length >> 1);
  for (let i = 0; i < values.length; i++) values[i] = readU16(body, start + 2 * i);
  return values;
}

function readU16(buffer: Buffer, offset: number): number {
  return (buffer[offset] << 8) | buffer[offset + 1];
}

function incomplete(need: number): ClientHelloIncomplete {
  return { kind: 'incomplete', need };
}

function invalid(reason: ClientHelloRejection, detail: string): ClientHelloInvalid {
  return { kind: 'invalid', reason, detail };
}

function malformed(detail: string): ClientHelloInvalid {
  return invalid('malformed', detail);
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

function hexPrefix(records: Buffer): string {
  return records.subarray(0, 8).toString('hex');
}
