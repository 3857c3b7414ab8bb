// The `log` plugin's line, in CoreDNS's default format (plugin/log, "{common}"):
//   [INFO] {remote}:{port} - {id} "{type} {class} {name} {proto} {size} {do} {bufsize}" {rcode} {rflags} {rsize} {duration}
// e.g. [INFO] 10.0.0.7:41325 - 3162 "A IN foo.bar.com. udp 52 false 1232" SERVFAIL qr,rd 52 0.000041s
import type { DecodedPacket, OptAnswer } from 'dns-packet';
import type { Client, Reply } from './answer.js';

const flagNames: Array<[string, number]> = [
  ['qr', 0x8000],
  ['aa', 0x0400],
  ['tc', 0x0200],
  ['rd', 0x0100],
  ['ra', 0x0080],
  ['z', 0x0040],
  ['ad', 0x0020],
  ['cd', 0x0010],
];

export function queryLogLine(query: DecodedPacket, querySize: number, client: Client, reply: Reply, elapsedNs: bigint): string {
  const question = query.questions![0]!;
  const opt = query.additionals?.find((record): record is OptAnswer => record.type === 'OPT');
  const bufsize = opt ? Math.max(512, opt.udpPayloadSize) : 512;
  const remote = client.address.includes(':') ? `[${client.address}]` : client.address;
  const name = question.name.endsWith('.') ? question.name : `${question.name}.`;
  const replyFlags = reply.bytes.readUInt16BE(2);
  const rflags = flagNames.filter(([, bit]) => (replyFlags & bit) !== 0).map(([flag]) => flag).join(',');
  const seconds = (Number(elapsedNs) / 1e9).toFixed(6);
  return `[INFO] ${remote}:${client.port} - ${query.id ?? 0} "${question.type} ${question.class ?? 'IN'} ${name} ${client.transport} ${querySize} ${opt?.flag_do ?? false} ${bufsize}" ${reply.rcode} ${rflags} ${reply.bytes.length} ${seconds}s`;
}
