// Builds ClientHello bytes field by field, for negative cases no real client sends,
// and re-frames handshake messages into TLS records. Deliberately independent of the
// parser under test: it only writes the wire format (RFC 8446 §4.1.2, §5.1).

export interface HelloExtension {
  type: number;
  data: Buffer;
}

export interface HelloSpec {
  legacyVersion?: number;
  sessionId?: Buffer;
  cipherSuites?: number[];
  compressionMethods?: number[];
  /** Omitted: no extensions block at all (a TLS 1.2-era hello). */
  extensions?: HelloExtension[];
  /** Bytes appended after the extensions, inside the handshake body. */
  trailing?: Buffer;
}

export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  preSharedKey: 41,
  supportedVersions: 43,
} as const;

export function u8(value: number): Buffer {
  return Buffer.from([value & 0xff]);
}

export function u16(value: number): Buffer {
  return Buffer.from([(value >> 8) & 0xff, value & 0xff]);
}

export function u24(value: number): Buffer {
  return Buffer.from([(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
}

/** opaque<..2^16-1>: a two-byte length, then the bytes. */
export function vector16(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
}

export function vector8(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u8(body.length), body]);
}

export function extension(type: number, data: Buffer): HelloExtension {
  return { type, data };
}

/** RFC 6066 §3 with one host_name entry per name given. */
export function serverNameExtension(...names: string[]): HelloExtension {
  return rawServerNameEntries(...names.map((name) => ({ nameType: 0, name: Buffer.from(name, 'latin1') })));
}

export function rawServerNameEntries(...entries: { nameType: number; name: Buffer }[]): HelloExtension {
  return extension(ExtensionType.serverName, vector16(...entries.map((entry) => Buffer.concat([u8(entry.nameType), vector16(entry.name)]))));
}

/** RFC 7301 §3.1. */
export function alpnExtension(...protocols: string[]): HelloExtension {
  return extension(ExtensionType.alpn, vector16(...protocols.map((protocol) => vector8(Buffer.from(protocol, 'latin1')))));
}

/** RFC 8446 §4.2.1, ClientHello form. */
export function supportedVersionsExtension(...versions: number[]): HelloExtension {
  return extension(ExtensionType.supportedVersions, vector8(...versions.map(u16)));
}

/** Any u16-length vector of u16 values: signature_algorithms, supported_groups. */
export function u16ListExtension(type: number, ...values: number[]): HelloExtension {
  return extension(type, vector16(...values.map(u16)));
}

/** The handshake message: msg_type client_hello (1), u24 length, body (RFC 8446 §4). */
export function clientHelloMessage(spec: HelloSpec = {}): Buffer {
  const body = Buffer.concat([
    u16(spec.legacyVersion ?? 0x0303),
    Buffer.alloc(32, 0x42), // random
    vector8(spec.sessionId ?? Buffer.alloc(32, 0x07)),
    vector16(...(spec.cipherSuites ?? [0x1301, 0x1302, 0xc02b, 0xc02f]).map(u16)),
    vector8(Buffer.from(spec.compressionMethods ?? [0])),
    spec.extensions === undefined ? Buffer.alloc(0) : vector16(...spec.extensions.map((ext) => Buffer.concat([u16(ext.type), vector16(ext.data)]))),
    spec.trailing ?? Buffer.alloc(0),
  ]);
  return handshakeMessage(1, body);
}

export function handshakeMessage(msgType: number, body: Buffer): Buffer {
  return Buffer.concat([u8(msgType), u24(body.length), body]);
}

export function record(contentType: number, payload: Buffer, version = 0x0301): Buffer {
  return Buffer.concat([u8(contentType), u16(version), u16(payload.length), payload]);
}

/** Splits `message` into handshake records whose payloads have the given sizes; the last takes the rest. */
export function frameRecords(message: Buffer, fragmentSizes: number[] = [], version = 0x0301): Buffer {
  const records: Buffer[] = [];
  let offset = 0;
  for (const size of fragmentSizes) {
    if (offset + size >= message.length) break;
    records.push(record(22, message.subarray(offset, offset + size), version));
    offset += size;
  }
  records.push(record(22, message.subarray(offset), version));
  return Buffer.concat(records);
}

/** The handshake bytes carried by a run of complete handshake records (record headers stripped). */
export function handshakeBytesOf(records: Buffer): Buffer {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 5 <= records.length) {
    const length = records.readUInt16BE(offset + 3);
    payloads.push(records.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return Buffer.concat(payloads);
}

export function recordCountOf(records: Buffer): number {
  let count = 0;
  for (let offset = 0; offset + 5 <= records.length; offset += 5 + records.readUInt16BE(offset + 3)) count += 1;
  return count;
}

/** A complete, valid single-record hello: SNI, ALPN, TLS 1.3 + 1.2, signature algorithms, groups. */
export function typicalHello(serverName = 'www.example.com', extra: HelloExtension[] = []): Buffer {
  return frameRecords(
    clientHelloMessage({
      extensions: [
        serverNameExtension(serverName),
        u16ListExtension(ExtensionType.supportedGroups, 0x001d, 0x0017),
        u16ListExtension(ExtensionType.signatureAlgorithms, 0x0403, 0x0804, 0x0401),
        alpnExtension('h2', 'http/1.1'),
        supportedVersionsExtension(0x0304, 0x0303),
        ...extra,
      ],
    }),
  );
}

/** mulberry32: a tiny seeded PRNG, so random tests reproduce from a printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random fragment sizes (1..maxSize) covering `total` bytes. */
export function randomFragmentSizes(random: () => number, total: number, maxSize: number): number[] {
  const sizes: number[] = [];
  let covered = 0;
  while (covered < total) {
    const size = 1 + Math.floor(random() * maxSize);
    sizes.push(size);
    covered += size;
  }
  return sizes;
}
