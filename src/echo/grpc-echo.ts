// The gRPC echo the conformance suite's GRPCRoute tests call
// (gateway_api_conformance.echo_basic.grpcecho.GrpcEcho): Echo and EchoTwo answer with
// what the server saw (method, metadata, :authority, Pod context, TLS); EchoThree is left
// unimplemented on purpose and answers UNIMPLEMENTED.
//
// We own the sockets (listeners.ts binds them, and terminates TLS ourselves so the
// certificate can rotate like everywhere else) and inject the connections into
// @grpc/grpc-js, which speaks HTTP/2 and gRPC on them.
import * as grpc from '@grpc/grpc-js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PodIdentity } from './config.js';
import { grpcEchoService, loadGrpcEchoDefinition } from './grpc-descriptor.js';
import { httpTlsVersionName } from './go-compat.js';
import { readTlsFacts, type TlsFacts } from './tls-facts.js';

interface GrpcHeader {
  key: string;
  value: string;
}

/** The Assertions message, with the .proto's field names. */
export interface GrpcAssertions {
  fully_qualified_method: string;
  headers: GrpcHeader[];
  authority: string;
  context: { namespace: string; ingress: string; service_name: string; pod: string };
  tls_assertions?: { version: string; negotiated_protocol: string; server_name: string; cipher_suite: string; peer_certificates: string[] };
}

/**
 * Metadata as grpc-go's server shows it to a handler, which is what upstream echoes:
 * custom keys, user-agent, :authority and content-type. grpc-js strips content-type
 * before the handler sees it, so we restore it; gRPC always sends application/grpc
 * (or a +subtype, which we cannot see and report without).
 */
export function metadataHeaders(metadata: grpc.Metadata, authority: string): GrpcHeader[] {
  const headers: GrpcHeader[] = [];
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) headers.push({ key, value: Buffer.isBuffer(value) ? value.toString('utf8') : String(value) });
  }
  headers.push({ key: 'content-type', value: 'application/grpc' });
  if (authority) headers.push({ key: ':authority', value: authority });
  return headers;
}

export class GrpcEcho {
  private readonly server = new grpc.Server();
  private readonly cleartext: grpc.ConnectionInjector;
  private readonly overTls: grpc.ConnectionInjector;
  /** TLS facts by peer address, for the calls that arrive on those connections. */
  private readonly tlsByPeer = new Map<string, TlsFacts>();

  constructor(private readonly pod: PodIdentity) {
    const definition = loadGrpcEchoDefinition()[grpcEchoService] as grpc.ServiceDefinition;
    this.server.addService(definition, {
      Echo: this.unary('Echo'),
      EchoTwo: this.unary('EchoTwo'),
    });
    // TLS is terminated before the connection reaches grpc-js, so both injectors are "insecure".
    this.cleartext = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.overTls = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  acceptCleartext(socket: Socket): void {
    this.cleartext.injectConnection(socket);
  }

  acceptTls(socket: TLSSocket): void {
    const key = peerKey(socket.remoteAddress, socket.remotePort);
    this.tlsByPeer.set(key, readTlsFacts(socket));
    socket.once('close', () => this.tlsByPeer.delete(key));
    this.overTls.injectConnection(socket);
  }

  close(): void {
    this.cleartext.destroy();
    this.overTls.destroy();
    this.server.forceShutdown();
  }

  private unary(method: string): grpc.handleUnaryCall<unknown, { assertions: GrpcAssertions }> {
    return (call, callback) => {
      const authority = call.getHost();
      const assertions: GrpcAssertions = {
        fully_qualified_method: `/${grpcEchoService}/${method}`,
        headers: metadataHeaders(call.metadata, authority),
        authority,
        context: { namespace: this.pod.namespace, ingress: this.pod.ingress, service_name: this.pod.service, pod: this.pod.pod },
      };
      const tls = this.tlsByPeer.get(call.getPeer());
      if (tls) {
        assertions.tls_assertions = {
          version: httpTlsVersionName(tls.protocol),
          negotiated_protocol: tls.alpnProtocol,
          server_name: tls.serverName,
          cipher_suite: tls.cipherSuite,
          peer_certificates: tls.peerCertificates,
        };
      }
      callback(null, { assertions });
    };
  }
}

/** The form grpc-js's call.getPeer() uses. */
function peerKey(address: string | undefined, port: number | undefined): string {
  return port ? `${address}:${port}` : `${address}`;
}
