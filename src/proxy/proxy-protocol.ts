// The PROXY protocol version 2 header (haproxy's proxy-protocol.txt §2.2): sent first on
// a stream to a backend that asked for it (IR `Backend.proxyProtocol`), so the backend
// learns the client's address and port although the TCP connection comes from us.
//
//   12 bytes signature, 1 byte version (2) and command (PROXY = 1), 1 byte address
//   family and transport (TCP over IPv4 = 0x11, over IPv6 = 0x21), 2 bytes length,
//   then source address, destination address, source port, destination port.
//
// An IPv4 client seen on an IPv6 socket (`::ffff:192.0.2.1`) is sent as IPv4; if the
// two ends are still of different families, both are sent as IPv6 (IPv4-mapped). When
// an address is unknown the family is UNSPEC (0x00, no addresses): the receiver then
// uses the connection's own endpoints (§2.2, "the receiver must ... use the real
// connection endpoints").
import { isIPv4, isIPv6 } from 'node:net';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const VERSION_2_PROXY = 0x21;
const TCP_OVER_IPV4 = 0x11;
const TCP_OVER_IPV6 = 0x21;
const UNSPEC = 0x00;

export interface StreamEndpoint {
  address: string | undefined;
  port: number | undefined;
}

const MAPPED_PREFIX = '::ffff:';

function unmapped(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith(MAPPED_PREFIX) && isIPv4(lower.slice(MAPPED_PREFIX.length)) ? lower.slice(MAPPED_PREFIX.length) : address;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

/** 16 bytes of an IPv6 literal (with `::` and an optional dotted IPv4 tail); an IPv4 address is mapped (`::ffff:a.b.c.d`). */
function ipv6Bytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  if (isIPv4(address)) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    ipv4Bytes(address).copy(bytes, 12);
    return bytes;
  }
  const withoutZone = address.split('%')[0]!;
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = ipv4Bytes(piece);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const gap = withoutZone.indexOf('::');
  const head = groups(gap === -1 ? withoutZone : withoutZone.slice(0, gap));
  const tail = gap === -1 ? [] : groups(withoutZone.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  all.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

function header(family: number, addresses: Buffer): Buffer {
  const fixed = Buffer.alloc(16);
  SIGNATURE.copy(fixed, 0);
  fixed[12] = VERSION_2_PROXY;
  fixed[13] = family;
  fixed.writeUInt16BE(addresses.length, 14);
  return Buffer.concat([fixed, addresses]);
}

/** The v2 header for a TCP stream from `source` (the client) to `destination` (the address it connected to). */
export function proxyProtocolV2Header(source: StreamEndpoint, destination: StreamEndpoint): Buffer {
  if (!source.address || !destination.address || source.port === undefined || destination.port === undefined) return header(UNSPEC, Buffer.alloc(0));
  const from = unmapped(source.address);
  const to = unmapped(destination.address);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(source.port, 0);
  ports.writeUInt16BE(destination.port, 2);
  if (isIPv4(from) && isIPv4(to)) return header(TCP_OVER_IPV4, Buffer.concat([ipv4Bytes(from), ipv4Bytes(to), ports]));
  if ((isIPv6(from) || isIPv4(from)) && (isIPv6(to) || isIPv4(to))) return header(TCP_OVER_IPV6, Buffer.concat([ipv6Bytes(from), ipv6Bytes(to), ports]));
  return header(UNSPEC, Buffer.alloc(0));
}
