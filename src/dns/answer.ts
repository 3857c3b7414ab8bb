// The answer to one DNS message, as CoreDNS would give it with the plugins we support.
// Pure: bytes and the client's address in, bytes out; the sockets live in server.ts.
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from 'dns-packet';
import { fullyQualified, type ZoneConfig } from './corefile.js';

export type Transport = 'udp' | 'tcp';

export interface Client {
  address: string;
  port: number;
  transport: Transport;
}

/** RFC 1035 §4.1.1 response codes we send. */
const rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NOTIMP: 4, REFUSED: 5 } as const;
type RcodeName = keyof typeof rcode;

/** RFC 1035 §2.3.4: a UDP answer without EDNS(0) fits in 512 bytes. */
const classicUdpSize = 512;

export interface Reply {
  bytes: Buffer;
  /** The server block that took the query, if any; its `log` decides whether it is logged. */
  zone?: ZoneConfig;
  query?: DecodedPacket;
  rcode: RcodeName;
}

/**
 * Answers `message`, or returns undefined when no answer is due: too short to carry a header,
 * or itself a response (as miekg/dns, CoreDNS's server library, does).
 */
export function answerMessage(message: Buffer, zones: ZoneConfig[], client: Client): Reply | undefined {
  if (message.length < 12 || (message[2]! & 0x80) !== 0) return undefined;
  const id = message.readUInt16BE(0);
  const opcode = (message[2]! >> 3) & 0x0f;
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return headerOnly(id, opcode, 'FORMERR');
  }
  if (opcode !== 0) return headerOnly(id, opcode, 'NOTIMP');
  if (query.questions?.length !== 1) return headerOnly(id, opcode, 'FORMERR');

  const zone = matchZone(zones, query.questions[0]!.name);
  if (!zone) return finish(query, client, 'REFUSED', []);
  const reply = zoneAnswer(zone, query, client);
  return { ...reply, zone };
}

/** The zone whose name is the longest suffix, label by label, of `name` (CoreDNS's server lookup). */
export function matchZone(zones: ZoneConfig[], name: string): ZoneConfig | undefined {
  const wanted = fullyQualified(name);
  let best: ZoneConfig | undefined;
  for (const zone of zones) {
    if (!isInZone(wanted, zone.zone)) continue;
    if (!best || zone.zone.length > best.zone.length) best = zone;
  }
  return best;
}

function isInZone(name: string, zone: string): boolean {
  return zone === '.' || name === zone || name.endsWith(`.${zone}`);
}

/**
 * The plugins run in CoreDNS's fixed order (plugin.cfg: forward before whoami), not the
 * Corefile's. A query no plugin takes gets SERVFAIL, as in CoreDNS.
 */
function zoneAnswer(zone: ZoneConfig, query: DecodedPacket, client: Client): Reply {
  const name = query.questions![0]!.name;
  // forward: this machine has no route to any upstream resolver, so instead of waiting for
  // the upstream timeouts CoreDNS would hit, answer at once with the SERVFAIL it ends with.
  if (zone.forwardFrom !== undefined && isInZone(fullyQualified(name), zone.forwardFrom)) {
    return finish(query, client, 'SERVFAIL', []);
  }
  if (zone.whoami) return finish(query, client, 'NOERROR', whoamiRecords(query, client), dnsPacket.AUTHORITATIVE_ANSWER);
  return finish(query, client, 'SERVFAIL', []);
}

/**
 * CoreDNS's whoami: whatever the question's type, an empty answer section and, in the
 * additional section, the client's address (A or AAAA) under the question's name and an SRV
 * `_<transport>.<name>` carrying the client's port; TTL 0, case of the name kept.
 */
function whoamiRecords(query: DecodedPacket, client: Client): Answer[] {
  const question = query.questions![0]!;
  const recordClass = question.class ?? 'IN';
  const isIPv4 = !client.address.includes(':') || client.address.startsWith('::ffff:');
  const address: Answer = isIPv4
    ? { type: 'A', name: question.name, class: recordClass, ttl: 0, data: client.address.replace(/^::ffff:/, '') }
    : { type: 'AAAA', name: question.name, class: recordClass, ttl: 0, data: client.address };
  const srvName = question.name === '.' ? `_${client.transport}.` : `_${client.transport}.${question.name}`;
  const srv: Answer = { type: 'SRV', name: srvName, class: recordClass, ttl: 0, data: { priority: 0, weight: 0, port: client.port, target: '.' } };
  return [address, srv];
}

/** The reply header as miekg/dns's SetReply makes it: same id, opcode, RD and CD bits, the question. */
function finish(query: DecodedPacket, client: Client, code: RcodeName, additionals: Answer[], extraFlags = 0): Reply {
  const copied = (query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED);
  const requestOpt = query.additionals?.find((record): record is OptAnswer => record.type === 'OPT');
  const sizeLimit = client.transport === 'udp' ? Math.max(classicUdpSize, requestOpt?.udpPayloadSize ?? 0) : 65535;
  const reply: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: copied | extraFlags | rcode[code],
    questions: query.questions,
    additionals: [...additionals, ...echoedOpt(requestOpt)],
  };
  let bytes = dnsPacket.encode(reply);
  if (bytes.length > sizeLimit) {
    // RFC 1035 §4.2.1: too long for this datagram; say so with TC and let the client retry over TCP.
    bytes = dnsPacket.encode({ ...reply, flags: reply.flags! | dnsPacket.TRUNCATED_RESPONSE, additionals: echoedOpt(requestOpt) });
  }
  return { bytes, query, rcode: code };
}

/** RFC 6891 §7: a reply to an EDNS query carries an OPT record too; the DO bit is echoed. */
function echoedOpt(requestOpt: OptAnswer | undefined): Answer[] {
  if (!requestOpt) return [];
  const flags = requestOpt.flags & dnsPacket.DNSSEC_OK;
  return [{ type: 'OPT', name: '.', udpPayloadSize: Math.max(classicUdpSize, requestOpt.udpPayloadSize), extendedRcode: 0, ednsVersion: 0, flags, flag_do: flags !== 0, options: [] }];
}

/** For a message that cannot be read (or asks for an opcode we lack): the header alone. */
function headerOnly(id: number, opcode: number, code: RcodeName): Reply {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt16BE(id, 0);
  bytes.writeUInt16BE(0x8000 | (opcode << 11) | rcode[code], 2);
  return { bytes, rcode: code };
}
