// GRPCRoute over a terminating HTTPS listener with ALPN h2, beside an HTTPRoute served
// over HTTP/1.1 on the same listener: a real @grpc/grpc-js client calls the echo's
// GrpcEcho service through the proxy, which speaks h2c to the backend.
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { httpsRequest, tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';
import { terminationManifests } from './shared.js';

interface EchoResponse {
  assertions?: { fully_qualified_method?: string; authority?: string; context?: { pod?: string; namespace?: string } };
}
type EchoClient = grpc.Client & { Echo(request: object, callback: (err: grpc.ServiceError | null, response?: EchoResponse) => void): void };

function echoClient(address: string, ca: string): EchoClient {
  const definition = loadSync(`${packageRoot}src/echo/grpcecho.proto`, { keepCase: true, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    gateway_api_conformance: { echo_basic: { grpcecho: { GrpcEcho: new (target: string, credentials: grpc.ChannelCredentials, options: grpc.ClientOptions) => EchoClient } } };
  };
  return new loaded.gateway_api_conformance.echo_basic.grpcecho.GrpcEcho(`${address}:443`, grpc.credentials.createSsl(Buffer.from(ca)), {
    'grpc.ssl_target_name_override': 'grpc.example.com',
    'grpc.default_authority': 'grpc.example.com',
  });
}

export const grpcOverTls: ConformanceTest = {
  shortName: 'TerminationGrpcBesideHttp1',
  description: 'a GRPCRoute over TLS (ALPN h2) and an HTTPRoute over HTTP/1.1 share one HTTPS listener',
  suite: 'termination',
  features: ['Gateway', 'GRPCRoute', 'HTTPRoute'],
  profile: 'GATEWAY-GRPC',
  manifestDir: terminationManifests,
  async test(ctx) {
    const ca = await createCertificateAuthority('grpc-suite-ca');
    const wildcard = await issueCertificate(ca, { commonName: '*.example.com', dnsNames: ['*.example.com'] });
    await ctx.tlsSecret('wildcard', wildcard.certPem, wildcard.keyPem);
    await ctx.applyFile('grpc.yaml');
    await ctx.podsReady('app=echo', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('mixed', 'GRPCRoute', 'grpc');
    await ctx.gatewayAndRouteMustBeAccepted('mixed', 'HTTPRoute', 'web');

    const h2 = await tlsProbe({ address, port: 443, servername: 'grpc.example.com', ca: ca.certPem, alpn: ['h2'] });
    expect(h2.alpnProtocol, 'ALPN offered h2 only').to.equal('h2');
    const client = echoClient(address, ca.certPem);
    try {
      await awaitConvergence('GrpcEcho/Echo through the proxy', ctx.timeouts, async () => {
        const response = await new Promise<EchoResponse>((resolve, reject) =>
          client.Echo({}, (err, value) => (err ? reject(new Error(`gRPC ${err.code} ${err.details}`)) : resolve(value!))),
        );
        expect(response.assertions?.fully_qualified_method).to.equal('/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo');
        expect(response.assertions?.context?.pod).to.match(/^echo-/);
        expect(response.assertions?.context?.namespace).to.equal(ctx.namespace);
      });
    } finally {
      client.close();
    }
    await awaitConvergence('HTTP/1.1 to web.example.com on the same listener', ctx.timeouts, async () => {
      const response = await httpsRequest({ address, port: 443, path: '/', servername: 'web.example.com', ca: ca.certPem });
      expect(response.status, response.body).to.equal(200);
      expect(response.body).to.match(/^Running on Pod echo-/);
    });
  },
};
