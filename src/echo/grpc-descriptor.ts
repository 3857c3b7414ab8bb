// grpcecho.proto as a protobuf.js namespace, so the server needs no file at run time
// (dist/ may be shipped without src/). Keep it in step with grpcecho.proto; the test
// "grpc descriptor matches grpcecho.proto" compares the two.
import { fromJSON, type PackageDefinition } from '@grpc/proto-loader';

export const grpcEchoPackage = 'gateway_api_conformance.echo_basic.grpcecho';
export const grpcEchoService = `${grpcEchoPackage}.GrpcEcho`;

const string = (id: number) => ({ type: 'string', id });

export const grpcEchoNamespace: Parameters<typeof fromJSON>[0] = {
  nested: {
    gateway_api_conformance: {
      nested: {
        echo_basic: {
          nested: {
            grpcecho: {
              nested: {
                Header: { fields: { key: string(1), value: string(2) } },
                Context: { fields: { namespace: string(1), ingress: string(2), service_name: string(3), pod: string(4) } },
                TLSAssertions: {
                  fields: {
                    version: string(1),
                    negotiated_protocol: string(2),
                    server_name: string(3),
                    cipher_suite: string(4),
                    peer_certificates: { rule: 'repeated', type: 'string', id: 5 },
                  },
                },
                Assertions: {
                  fields: {
                    fully_qualified_method: string(1),
                    headers: { rule: 'repeated', type: 'Header', id: 2 },
                    authority: string(3),
                    context: { type: 'Context', id: 4 },
                    tls_assertions: { type: 'TLSAssertions', id: 5 },
                  },
                },
                EchoRequest: { fields: {} },
                EchoResponse: { fields: { assertions: { type: 'Assertions', id: 1 }, request: { type: 'EchoRequest', id: 2 } } },
                GrpcEcho: {
                  methods: {
                    Echo: { requestType: 'EchoRequest', responseType: 'EchoResponse', comment: 'Answers with what the server saw.' },
                    EchoTwo: { requestType: 'EchoRequest', responseType: 'EchoResponse', comment: 'Same as Echo under another name.' },
                    EchoThree: { requestType: 'EchoRequest', responseType: 'EchoResponse', comment: 'Deliberately unimplemented.' },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

/**
 * The server keeps the .proto's field names (fully_qualified_method); the wire format
 * only carries field numbers, so clients may load the .proto with any naming option.
 */
export const grpcLoaderOptions = { keepCase: true, defaults: true, arrays: true } as const;

export function loadGrpcEchoDefinition(): PackageDefinition {
  return fromJSON(grpcEchoNamespace, grpcLoaderOptions);
}
