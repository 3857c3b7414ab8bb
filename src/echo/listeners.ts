// Binding sockets and closing them again. Every accepted connection is tracked so that
// SIGTERM can end them all promptly; bind errors become one sentence a person can act on.
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { PortcullisError } from '../lib/errors.js';
import { portFlag, type ListenerName, type PortSetting } from './config.js';

export interface BoundListener {
  name: ListenerName;
  transport: 'tcp' | 'udp';
  address: string;
  port: number;
  /** Stops accepting; existing connections are ended by the connection tracker. */
  close(): Promise<void>;
}

/** The sockets a process has open, so shutdown can end them. */
export class ConnectionTracker {
  private readonly sockets = new Set<Socket>();

  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Half-closes every connection (clients see FIN), waits up to graceMs, then destroys what is left. */
  async drain(graceMs: number): Promise<void> {
    for (const socket of this.sockets) socket.end();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of this.sockets) socket.destroy();
  }
}

/** Listens for TCP connections; each accepted socket is tracked, given an error handler, and passed on. */
export async function listenTcp(
  name: ListenerName,
  address: string,
  port: PortSetting,
  tracker: ConnectionTracker,
  onConnection: (socket: Socket) => void,
): Promise<BoundListener> {
  // allowHalfOpen: the stream echo keeps answering after the client's FIN until it has flushed.
  const server: TcpServer = createTcpServer({ allowHalfOpen: true }, (socket) => {
    tracker.add(socket);
    socket.on('error', () => socket.destroy());
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError(name, address, port, err as NodeJS.ErrnoException)));
    server.listen({ host: address, port: port === 'auto' ? 0 : port, exclusive: true }, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound ? bound.port : 0;
  return {
    name,
    transport: 'tcp',
    address,
    port: boundPort,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function listenUdp(
  name: ListenerName,
  address: string,
  port: PortSetting,
  onMessage: (socket: UdpSocket, message: Buffer, remote: { address: string; port: number }) => void,
): Promise<BoundListener> {
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => reject(bindError(name, address, port, err as NodeJS.ErrnoException)));
    socket.bind({ address, port: port === 'auto' ? 0 : port, exclusive: true }, () => resolve());
  });
  socket.on('error', () => undefined);
  socket.on('message', (message, remote) => onMessage(socket, message, remote));
  return {
    name,
    transport: 'udp',
    address,
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function bindError(name: ListenerName, address: string, port: PortSetting, err: NodeJS.ErrnoException): PortcullisError {
  const where = `${isIPv6(address) ? `[${address}]` : address}:${port === 'auto' ? 0 : port}`;
  const flag = portFlag(name);
  switch (err.code) {
    case 'EADDRINUSE':
      return new PortcullisError('ECHO_PORT_IN_USE', `cannot listen for ${name} on ${where}: the port is already in use; stop the other process or choose another port with ${flag}`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new PortcullisError('ECHO_BAD_ADDRESS', `cannot listen for ${name} on ${where}: the address is not on this machine; check --address/POD_IP`, { cause: err });
    case 'EACCES':
      return new PortcullisError('ECHO_PORT_DENIED', `cannot listen for ${name} on ${where}: permission denied (ports below 1024 need privileges); choose another port with ${flag}`, { cause: err });
    default:
      return new PortcullisError('ECHO_LISTEN_FAILED', `cannot listen for ${name} on ${where}: ${err.message}`, { cause: err });
  }
}
