// The sockets: for each port of the Corefile, DNS over UDP and over TCP (RFC 1035 §4.2.2:
// each message preceded by its two-byte length) on every IPv4 address.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { once } from 'node:events';
import type { Logger } from '../lib/log.js';
import { PortcullisError, errorMessage } from '../lib/errors.js';
import { answerMessage, type Client, type Reply } from './answer.js';
import type { ZoneConfig } from './corefile.js';
import { queryLogLine } from './query-log.js';

/** A client that sends nothing for this long loses its TCP connection (CoreDNS: 10 s idle). */
const tcpIdleTimeoutMs = 10_000;

export interface DnsServer {
  port: number;
  zones: string[];
}

export interface StartedDns {
  servers: DnsServer[];
  close(): Promise<void>;
}

export async function startDns(zones: ZoneConfig[], log: Logger, host = '0.0.0.0'): Promise<StartedDns> {
  const ports = [...new Set(zones.map((zone) => zone.port))];
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    await Promise.all(closers.map((closeListener) => closeListener()));
  };
  try {
    for (const port of ports) {
      const portZones = zones.filter((zone) => zone.port === port);
      const respond = (message: Buffer, client: Client): Reply | undefined => answerAndLog(message, portZones, client);
      closers.push(await listenUdp(host, port, respond, log));
      closers.push(await listenTcp(host, port, respond, log));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { servers: ports.map((port) => ({ port, zones: zones.filter((zone) => zone.port === port).map((zone) => zone.zone) })), close };
}

function answerAndLog(message: Buffer, zones: ZoneConfig[], client: Client): Reply | undefined {
  const started = process.hrtime.bigint();
  const reply = answerMessage(message, zones, client);
  if (reply?.zone?.log && reply.query) {
    process.stdout.write(queryLogLine(reply.query, message.length, client, reply, process.hrtime.bigint() - started) + '\n');
  }
  return reply;
}

async function listenUdp(host: string, port: number, respond: (message: Buffer, client: Client) => Reply | undefined, log: Logger): Promise<() => Promise<void>> {
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    const reply = respond(message, { address: remote.address, port: remote.port, transport: 'udp' });
    if (reply) socket.send(reply.bytes, remote.port, remote.address);
  });
  await bindOrFail(socket, () => socket.bind(port, host), 'udp', host, port);
  socket.on('error', (err) => log.warn('udp socket error', { port, error: err }));
  return () => new Promise((resolve) => socket.close(() => resolve()));
}

async function listenTcp(host: string, port: number, respond: (message: Buffer, client: Client) => Reply | undefined, log: Logger): Promise<() => Promise<void>> {
  const connections = new Set<TcpSocket>();
  const server = createServer((connection) => {
    connections.add(connection);
    connection.once('close', () => connections.delete(connection));
    serveTcpConnection(connection, respond);
  });
  await bindOrFail(server, () => server.listen(port, host), 'tcp', host, port);
  server.on('error', (err) => log.warn('tcp server error', { port, error: err }));
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      // Open connections end too, so shutdown does not wait for idle clients.
      for (const connection of connections) connection.destroy();
    });
}

function serveTcpConnection(connection: TcpSocket, respond: (message: Buffer, client: Client) => Reply | undefined): void {
  const client: Client = { address: connection.remoteAddress ?? '', port: connection.remotePort ?? 0, transport: 'tcp' };
  connection.setTimeout(tcpIdleTimeoutMs, () => connection.destroy());
  connection.on('error', () => connection.destroy());
  let pending = Buffer.alloc(0);
  connection.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      const reply = respond(pending.subarray(2, 2 + length), client);
      pending = pending.subarray(2 + length);
      if (!reply) continue;
      const framed = Buffer.alloc(2 + reply.bytes.length);
      framed.writeUInt16BE(reply.bytes.length, 0);
      reply.bytes.copy(framed, 2);
      connection.write(framed);
    }
  });
}

async function bindOrFail(emitter: UdpSocket | TcpServer, bind: () => void, transport: string, host: string, port: number): Promise<void> {
  try {
    const listening = once(emitter, 'listening');
    bind();
    await listening;
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE' : 'is another DNS server running there?';
    throw new PortcullisError('DNS_LISTEN_FAILED', `cannot listen on ${transport} ${host}:${port}: ${errorMessage(err)} (${hint})`, { cause: err });
  }
}
