// Collects server blocks and routes by the socket (address:port) that serves them,
// then emits IR listeners in a stable order.
import type { GrpcRoute, HttpRoute, Listener, ListenerProtocol, PassthroughRoute, ServerBlock, TcpRoute } from '../../ir/types.js';

interface SocketPlan {
  address: string;
  port: number;
  blocks: ServerBlock[];
  httpRoutes: HttpRoute[];
  grpcRoutes: GrpcRoute[];
  tcpRoutes: TcpRoute[];
  tlsPassthrough: PassthroughRoute[];
}

export class IrBuilder {
  private readonly sockets = new Map<string, SocketPlan>();

  private socket(address: string, port: number): SocketPlan {
    const key = `${address}:${port}`;
    let plan = this.sockets.get(key);
    if (!plan) {
      plan = { address, port, blocks: [], httpRoutes: [], grpcRoutes: [], tcpRoutes: [], tlsPassthrough: [] };
      this.sockets.set(key, plan);
    }
    return plan;
  }

  /**
   * Adds the block, or says why not: another block on this socket already serves the
   * same hostname, or speaks a protocol that cannot share the socket (HTTP beside HTTPS,
   * e.g. two Gateways on one Service address). The first one wins.
   */
  addBlock(address: string, port: number, block: ServerBlock): string | undefined {
    const plan = this.socket(address, port);
    if (plan.blocks.some((b) => b.hostname === block.hostname)) return `another Gateway already serves hostname ${block.hostname ?? '(any)'} on ${address}:${port}`;
    const clash = plan.blocks.find((b) => socketFamily(b.protocol) !== socketFamily(block.protocol));
    if (clash) return `${clash.sources.join(', ')} already serves ${clash.protocol} on ${address}:${port}, which cannot share the socket with ${block.protocol}`;
    plan.blocks.push(block);
    return undefined;
  }

  hasBlock(address: string, port: number, id: string): boolean {
    return this.sockets.get(`${address}:${port}`)?.blocks.some((b) => b.id === id) ?? false;
  }

  addHttpRoute(address: string, port: number, route: HttpRoute): void {
    this.socket(address, port).httpRoutes.push(route);
  }

  addGrpcRoute(address: string, port: number, route: GrpcRoute): void {
    this.socket(address, port).grpcRoutes.push(route);
  }

  addTcpRoute(address: string, port: number, route: TcpRoute): void {
    this.socket(address, port).tcpRoutes.push(route);
  }

  addPassthroughRoute(address: string, port: number, route: PassthroughRoute): void {
    this.socket(address, port).tlsPassthrough.push(route);
  }

  build(): Listener[] {
    return [...this.sockets.values()]
      .filter((plan) => plan.blocks.length > 0)
      .sort((a, b) => (a.address === b.address ? a.port - b.port : a.address.localeCompare(b.address, 'en', { numeric: true })))
      .map((plan) => ({
        name: `${plan.address}:${plan.port}`,
        address: plan.address,
        port: plan.port,
        protocol: socketProtocol(plan.blocks),
        serverBlocks: plan.blocks,
        httpRoutes: plan.httpRoutes,
        grpcRoutes: plan.grpcRoutes,
        tcpRoutes: plan.tcpRoutes,
        tlsPassthrough: plan.tlsPassthrough,
      }));
  }
}

/** Protocols that can share one socket: HTTPS and TLS (SNI decides); HTTP and TCP only with their own kind. */
function socketFamily(protocol: ListenerProtocol): string {
  return protocol === 'HTTPS' || protocol === 'TLS' ? 'tls' : protocol;
}

/** A socket that mixes HTTPS and TLS blocks dispatches by SNI first: protocol TLS. */
function socketProtocol(blocks: ServerBlock[]): ListenerProtocol {
  const protocols = new Set(blocks.map((b) => b.protocol));
  if (protocols.has('TLS')) return 'TLS';
  return blocks[0]!.protocol;
}
