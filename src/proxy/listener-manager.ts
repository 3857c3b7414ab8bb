// The sockets the proxy listens on, by `address|port`, across configurations.
//
// Applying a config is two steps so that a bind failure changes nothing:
// 1. prepare: bind the sockets the new config adds (a port in use fails the whole
//    apply; what was bound for it is closed again);
// 2. commit: point every socket at its listener of the new config — one synchronous
//    loop, so the swap is atomic for the event loop — and close sockets the config
//    dropped. Accepted connections keep the listener they were accepted with.
// A socket whose address and port stay is never closed, so a config change loses no
// connection and refuses none.
import net, { type Server, type Socket } from 'node:net';
import { PortcullisError } from '../lib/errors.js';
import type { RuntimeConfig, RuntimeListener } from './config-state.js';
import type { DataPlaneContext } from './data-plane-context.js';
import { handlePlainHttpConnection } from './http-frontend.js';
import { handleTcpConnection } from './tcp-proxy.js';
import { handleTlsConnection } from './tls-dispatch.js';

export interface BindFailure {
  listener: string;
  address: string;
  port: number;
  code: string;
  message: string;
}

export class ListenerBindError extends PortcullisError {
  constructor(readonly failures: BindFailure[]) {
    super(
      'LISTENER_BIND_FAILED',
      `could not listen on ${failures.map((f) => `${f.address}:${f.port} (listener ${f.listener}: ${f.code})`).join(', ')}; the previous configuration keeps serving. ` +
        'Free the port or choose another one (EADDRINUSE: another process listens there; EACCES: a privileged port; EADDRNOTAVAIL: the address is not on this host).',
    );
  }
}

class BoundSocket {
  readonly server: Server;

  constructor(
    public active: RuntimeListener,
    private readonly context: DataPlaneContext,
    track: (socket: Socket) => void,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      track(socket);
      acceptConnection(this.active, socket, context);
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        // Accept errors (EMFILE, ...) after binding must not crash the process.
        this.server.on('error', (error: NodeJS.ErrnoException) => this.context.log.warn('listener socket error', { listener: this.active.name, code: error.code, error }));
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host: this.active.ir.address, port: this.active.ir.port, backlog: 511 });
    });
  }

  close(): void {
    this.server.close();
  }
}

/** Per-connection bookkeeping shared by every protocol, then the protocol's handler. */
export function acceptConnection(listener: RuntimeListener, socket: Socket, context: DataPlaneContext): void {
  const { metrics } = context;
  const name = listener.name;
  metrics.connectionsAccepted.inc([name]);
  metrics.connectionsActive.add([name], 1);
  // The connection keeps its config generation (routes, certificates, upstream pools) alive
  // from accept to close — also while its ClientHello and handshake are still under way.
  const release = listener.generation.hold();
  socket.once('close', () => {
    metrics.connectionsActive.add([name], -1);
    release();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => metrics.connectionErrors.inc([name, (error.code ?? 'error').toLowerCase()]));
  try {
    switch (listener.ir.protocol) {
      case 'HTTP':
        return handlePlainHttpConnection(listener, socket, context);
      case 'HTTPS':
      case 'TLS':
        handleTlsConnection(listener, socket, context).catch((error: unknown) => {
          context.log.error('TLS connection handler failed', { listener: name, error });
          socket.destroy();
        });
        return;
      case 'TCP':
        return handleTcpConnection(listener, socket, context);
    }
  } catch (error) {
    context.log.error('connection handler failed', { listener: name, error });
    socket.destroy();
  }
}

export interface PreparedListeners {
  readonly config: RuntimeConfig;
  readonly added: ReadonlyMap<string, BoundSocket>;
}

export class ListenerManager {
  private readonly bound = new Map<string, BoundSocket>();
  /** Every accepted connection still open, whatever its listener or config (for the shutdown drain). */
  private readonly open = new Set<Socket>();
  private readonly track = (socket: Socket): void => {
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  };

  constructor(private readonly context: DataPlaneContext) {}

  get openConnections(): number {
    return this.open.size;
  }

  /** The end of a drain: whatever is still open is cut. */
  destroyOpenConnections(): void {
    for (const socket of this.open) socket.destroy();
  }

  /** Binds what `config` adds. Throws ListenerBindError (nothing left bound) if any bind fails. */
  async prepare(config: RuntimeConfig): Promise<PreparedListeners> {
    const added = new Map<string, BoundSocket>();
    const failures: BindFailure[] = [];
    await Promise.all(
      [...config.listeners.values()]
        .filter((listener) => !this.bound.has(listener.key))
        .map(async (listener) => {
          // A brand-new port serves the new config at once: no older config has it.
          const socket = new BoundSocket(listener, this.context, this.track);
          try {
            await socket.listen();
            added.set(listener.key, socket);
          } catch (error) {
            const code = (error as NodeJS.ErrnoException).code ?? 'ERROR';
            failures.push({ listener: listener.name, address: listener.ir.address, port: listener.ir.port, code, message: (error as Error).message });
          }
        }),
    );
    if (failures.length > 0) {
      for (const socket of added.values()) socket.close();
      throw new ListenerBindError(failures);
    }
    return { config, added };
  }

  commit(prepared: PreparedListeners): void {
    for (const [key, socket] of prepared.added) this.bound.set(key, socket);
    for (const [key, socket] of this.bound) {
      const listener = prepared.config.listeners.get(key);
      if (listener) socket.active = listener;
      else {
        socket.close();
        this.bound.delete(key);
      }
    }
  }

  rollback(prepared: PreparedListeners): void {
    for (const socket of prepared.added.values()) socket.close();
  }

  closeAll(): void {
    for (const socket of this.bound.values()) socket.close();
    this.bound.clear();
  }

  /** Bound addresses, for logs: `address:port` → actual port. */
  addresses(): { key: string; port: number }[] {
    return [...this.bound].map(([key, socket]) => ({ key, port: (socket.server.address() as net.AddressInfo | null)?.port ?? 0 }));
  }
}
