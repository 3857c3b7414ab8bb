// The gRPC echo with a @grpc/grpc-js client generated from our grpcecho.proto.
import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { grpcEchoService, grpcLoaderOptions, loadGrpcEchoDefinition } from '../../src/echo/grpc-descriptor.js';
import { allAuto, grpcEchoProto, killAllEchoes, makeCertificate, startEcho, tempDir, type RunningEcho } from './helpers.js';

interface EchoResponse {
  assertions: {
    fullyQualifiedMethod: string;
    headers: Array<{ key: string; value: string }>;
    authority: string;
    context: { namespace: string; ingress: string; serviceName: string; pod: string } | null;
    tlsAssertions: { version: string; negotiatedProtocol: string; serverName: string; cipherSuite: string; peerCertificates: string[] } | null;
  };
}

type Unary = (request: object, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, response?: EchoResponse) => void) => void;
type EchoClient = grpc.Client & { Echo: Unary; EchoTwo: Unary; EchoThree: Unary };

// The client loads the .proto with proto-loader's usual options (camelCase names): the
// server's snake_case names do not matter on the wire, only field numbers do.
const packageDefinition = loadSync(grpcEchoProto, { defaults: true, arrays: true });
const EchoClientConstructor = grpc.loadPackageDefinition(packageDefinition).gateway_api_conformance as unknown as {
  echo_basic: { grpcecho: { GrpcEcho: new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => EchoClient } };
};

function call(client: EchoClient, method: 'Echo' | 'EchoTwo' | 'EchoThree', metadata = new grpc.Metadata()): Promise<EchoResponse> {
  return new Promise((resolve, reject) => client[method]({}, metadata, (err, response) => (err ? reject(err) : resolve(response!))));
}

describe('echo gRPC', function () {
  after(killAllEchoes);

  it('serves the same definition as grpcecho.proto (descriptor matches the .proto file)', () => {
    const fromProto = loadSync(grpcEchoProto, grpcLoaderOptions);
    const fromCode = loadGrpcEchoDefinition();
    expect(Object.keys(fromCode).sort()).to.deep.equal(Object.keys(fromProto).sort());
    for (const name of Object.keys(fromProto)) {
      const expected = fromProto[name] as unknown as Record<string, unknown>;
      const actual = fromCode[name] as unknown as Record<string, unknown>;
      if ('type' in expected) {
        expect(JSON.stringify((actual as { type: unknown }).type), name).to.equal(JSON.stringify((expected as { type: unknown }).type));
      } else {
        for (const method of Object.keys(expected)) {
          const e = expected[method] as { path: string; requestType: { type: unknown }; responseType: { type: unknown } };
          const a = actual[method] as typeof e;
          expect(a.path).to.equal(e.path);
          expect(JSON.stringify(a.requestType.type)).to.equal(JSON.stringify(e.requestType.type));
          expect(JSON.stringify(a.responseType.type)).to.equal(JSON.stringify(e.responseType.type));
        }
      }
    }
    expect(Object.keys(fromProto)).to.include(grpcEchoService);
  });

  describe('over h2c', () => {
    let echo: RunningEcho;
    let client: EchoClient;
    before(async () => {
      echo = await startEcho(allAuto, { SERVICE_NAME: 'grpc-infra-backend-v1', INGRESS_NAME: 'gw' });
      client = new EchoClientConstructor.echo_basic.grpcecho.GrpcEcho(`127.0.0.1:${echo.ports.grpc}`, grpc.credentials.createInsecure());
    });
    after(async () => {
      client?.close();
      await echo.stop();
    });

    it('Echo answers with the method, metadata, authority and Pod context', async () => {
      const metadata = new grpc.Metadata();
      metadata.add('x-grpc-test', 'one');
      metadata.add('x-other', 'two');
      const { assertions } = await call(client, 'Echo', metadata);
      expect(assertions.fullyQualifiedMethod).to.equal('/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo');
      expect(assertions.authority).to.equal(`127.0.0.1:${echo.ports.grpc}`);
      expect(assertions.context).to.deep.equal({ namespace: 'tls-demo', ingress: 'gw', serviceName: 'grpc-infra-backend-v1', pod: 'echo-7d9f8-abcde' });
      expect(assertions.tlsAssertions).to.equal(null);
      const headers = assertions.headers.map(({ key, value }) => `${key}=${value}`);
      expect(headers).to.include.members(['x-grpc-test=one', 'x-other=two', 'content-type=application/grpc', `:authority=127.0.0.1:${echo.ports.grpc}`]);
      expect(headers.some((h) => h.startsWith('user-agent=grpc-node-js/'))).to.equal(true);
    });

    it('EchoTwo reports its own method name', async () => {
      expect((await call(client, 'EchoTwo')).assertions.fullyQualifiedMethod).to.equal('/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/EchoTwo');
    });

    it('EchoThree is unimplemented', async () => {
      let failure: grpc.ServiceError | undefined;
      try {
        await call(client, 'EchoThree');
      } catch (err) {
        failure = err as grpc.ServiceError;
      }
      expect(failure?.code).to.equal(grpc.status.UNIMPLEMENTED);
    });
  });

  describe('over TLS (echo-basic profile, GRPC_ECHO_SERVER)', () => {
    let dir: { path: string; remove(): Promise<void> };
    let echo: RunningEcho;
    let certPem: string;
    before(async () => {
      dir = await tempDir('echo-grpc-');
      const pair = await makeCertificate(dir.path, 'grpc');
      certPem = pair.certPem;
      echo = await startEcho(['--profile', 'echo-basic', '--address', '127.0.0.1', '--grpc-port', 'auto', '--grpc-tls-port', 'auto'], {
        GRPC_ECHO_SERVER: '1',
        POD_NAME: 'grpc-infra-backend-v1-abc',
        NAMESPACE: 'gateway-conformance-infra',
        TLS_SERVER_CERT: pair.certFile,
        TLS_SERVER_PRIV_KEY: pair.keyFile,
      });
    });
    after(async () => {
      await echo.stop();
      await dir.remove();
    });

    it('reports the TLS connection in tlsAssertions', async () => {
      const client = new EchoClientConstructor.echo_basic.grpcecho.GrpcEcho(`127.0.0.1:${echo.ports.grpcTls}`, grpc.credentials.createSsl(Buffer.from(certPem)), {
        'grpc.ssl_target_name_override': 'demo.example.com',
        'grpc.default_authority': 'demo.example.com',
      });
      try {
        const { assertions } = await call(client, 'Echo');
        expect(assertions.context?.pod).to.equal('grpc-infra-backend-v1-abc');
        expect(assertions.authority).to.equal('demo.example.com');
        expect(assertions.tlsAssertions).to.include({ version: 'TLSv1.3', negotiatedProtocol: 'h2', serverName: 'demo.example.com' });
        expect(assertions.tlsAssertions?.cipherSuite).to.match(/^TLS_/);
      } finally {
        client.close();
      }
    });

    it('still answers over h2c on the plaintext port', async () => {
      const client = new EchoClientConstructor.echo_basic.grpcecho.GrpcEcho(`127.0.0.1:${echo.ports.grpc}`, grpc.credentials.createInsecure());
      try {
        const { assertions } = await call(client, 'EchoTwo');
        expect(assertions.context?.namespace).to.equal('gateway-conformance-infra');
        expect(assertions.tlsAssertions).to.equal(null);
      } finally {
        client.close();
      }
    });
  });
});
