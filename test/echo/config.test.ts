import { expect } from 'chai';
import { PortcullisError } from '../../src/lib/errors.js';
import { parseEchoConfig, type EchoConfig } from '../../src/echo/config.js';

function configOf(argv: string[], env: Record<string, string> = {}): EchoConfig {
  const parsed = parseEchoConfig(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected a run configuration');
  return parsed.config;
}

function errorOf(argv: string[], env: Record<string, string> = {}): PortcullisError {
  try {
    parseEchoConfig(argv, env);
  } catch (err) {
    expect(err).to.be.instanceOf(PortcullisError);
    return err as PortcullisError;
  }
  throw new Error(`expected ${JSON.stringify(argv)} ${JSON.stringify(env)} to be rejected`);
}

describe('echo configuration', () => {
  describe('portcullis profile', () => {
    it('defaults to the reference guide ports on all addresses, plain answers, optional TLS', () => {
      const config = configOf([], { POD_NAME: 'echo-1' });
      expect(config.address).to.equal('0.0.0.0');
      expect(config.ports).to.deep.equal({ http: 1027, h2c: 0, https: 0, tcp: 1025, tls: 1030, udp: 1026, grpc: 3000, grpcTls: 0 });
      expect(config.format).to.equal('plain');
      expect(config.streamProtocol).to.equal('echo');
      expect(config.certificate).to.deep.equal({ certFile: '/etc/tls/tls.crt', keyFile: '/etc/tls/tls.key', required: false });
      expect(config.pod).to.deep.equal({ pod: 'echo-1', namespace: '', ingress: '', service: '' });
    });

    it('reads the environment the node agent sets', () => {
      const config = configOf([], {
        POD_IP: '127.1.0.5',
        POD_NAME: 'echo-2',
        POD_NAMESPACE: 'demo',
        SERVICE_NAME: 'echo',
        HTTP_PORT: '8080',
        TCP_PORT: '0',
        GRPC_PORT: '0',
        ECHO_FORMAT: 'json',
        TLS_CERT_FILE: '/x/tls.crt',
        TLS_KEY_FILE: '/x/tls.key',
      });
      expect(config.address).to.equal('127.1.0.5');
      expect(config.ports.http).to.equal(8080);
      expect(config.ports.tcp).to.equal(0);
      expect(config.ports.grpc).to.equal(0);
      expect(config.format).to.equal('json');
      expect(config.certificate).to.deep.equal({ certFile: '/x/tls.crt', keyFile: '/x/tls.key', required: true });
      expect(config.pod).to.deep.equal({ pod: 'echo-2', namespace: 'demo', ingress: '', service: 'echo' });
    });

    it('lets flags win over the environment', () => {
      const config = configOf(['--http-port', '9000', '--address', '::1', '--format', 'plain', '--pod-name', 'p'], { HTTP_PORT: '8080', POD_IP: '127.0.0.9', ECHO_FORMAT: 'json', POD_NAME: 'q' });
      expect(config.ports.http).to.equal(9000);
      expect(config.address).to.equal('::1');
      expect(config.format).to.equal('plain');
      expect(config.pod.pod).to.equal('p');
    });

    it('makes TLS required once a TLS port is given explicitly', () => {
      expect(configOf(['--tls-port', '1030']).certificate?.required).to.equal(true);
      expect(configOf([], { HTTPS_PORT: '8443' }).certificate?.required).to.equal(true);
      expect(configOf(['--tls-port', '0']).certificate?.required).to.equal(false);
    });

    it('accepts "auto" ports', () => {
      expect(configOf(['--http-port', 'auto']).ports.http).to.equal('auto');
    });

    it('falls back to NAMESPACE when POD_NAMESPACE is not set', () => {
      expect(configOf([], { NAMESPACE: 'ns' }).pod.namespace).to.equal('ns');
    });
  });

  describe('rejects bad input with one clear sentence', () => {
    const rows: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['a word as port', ['--http-port', 'abc'], {}, /invalid port "abc" in --http-port/],
      ['a port above 65535', ['--tcp-port', '65536'], {}, /invalid port "65536" in --tcp-port/],
      ['a negative port', ['--tls-port=-1'], {}, /invalid port "-1" in --tls-port/],
      ['a fractional port from env', [], { GRPC_PORT: '1.5' }, /invalid port "1.5" in GRPC_PORT/],
      ['an unknown flag', ['--colour', 'red'], {}, /Unknown option '--colour'/],
      ['a positional argument', ['serve'], {}, /serve/],
      ['a host name as address', ['--address', 'localhost'], {}, /invalid --address\/POD_IP "localhost"/],
      ['an unknown format', ['--format', 'xml'], {}, /invalid --format "xml": use one of plain, json/],
      ['an unknown profile', [], { ECHO_PROFILE: 'kong' }, /invalid --profile "kong"/],
      ['two TCP listeners on one port', ['--http-port', '1025'], {}, /--http-port and --tcp-port are both 1025/],
      ['a too short certificate check interval', ['--cert-check-interval', '1'], {}, /--cert-check-interval/],
    ];
    for (const [name, argv, env, message] of rows) {
      it(name, () => {
        const err = errorOf(argv, env);
        expect(err.code).to.equal('ECHO_BAD_ARGUMENT');
        expect(err.message).to.match(message);
        expect(err.message).to.not.include('\n');
      });
    }

    it('lets TCP and UDP share a number', () => {
      expect(configOf(['--udp-port', '1025']).ports.udp).to.equal(1025);
    });
  });

  describe('echo-basic profile (the upstream image contract)', () => {
    const basic = (env: Record<string, string>, argv: string[] = []) => configOf(['--profile', 'echo-basic', ...argv], env);

    it('serves HTTP on 3000 and h2c on 3001 with JSON answers; HTTPS only with TLS_SERVER_CERT and TLS_SERVER_PRIVKEY', () => {
      const plain = basic({ POD_NAME: 'infra-backend-v1-abc', NAMESPACE: 'gateway-conformance-infra' });
      expect(plain.ports).to.include({ http: 3000, h2c: 3001, https: 0, tcp: 0, tls: 0, udp: 0, grpc: 0, grpcTls: 0 });
      expect(plain.format).to.equal('json');
      expect(plain.httpPortLabel).to.equal('3000');
      expect(plain.certificate).to.equal(undefined);
      expect(plain.pod).to.deep.equal({ pod: 'infra-backend-v1-abc', namespace: 'gateway-conformance-infra', ingress: '', service: '' });

      const tls = basic({ TLS_SERVER_CERT: '/etc/secret-volume/crt', TLS_SERVER_PRIVKEY: '/etc/secret-volume/key', TLS_CLIENT_CACERTS: '/etc/ca/crt', HTTP_PORT: '8080' });
      expect(tls.ports).to.include({ http: 8080, https: 8443 });
      expect(tls.httpPortLabel).to.equal('8080');
      expect(tls.certificate).to.deep.equal({ certFile: '/etc/secret-volume/crt', keyFile: '/etc/secret-volume/key', clientCaFile: '/etc/ca/crt', required: true });
    });

    it('GRPC_ECHO_SERVER: gRPC on HTTP_PORT, gRPC over TLS on HTTPS_PORT with TLS_SERVER_PRIV_KEY', () => {
      const config = basic({ GRPC_ECHO_SERVER: '1', TLS_SERVER_CERT: '/c', TLS_SERVER_PRIV_KEY: '/k' });
      expect(config.ports).to.include({ http: 0, h2c: 0, grpc: 3000, grpcTls: 8443 });
      expect(config.certificate?.keyFile).to.equal('/k');
      // The HTTP spelling of the key variable does not count in gRPC mode, as upstream.
      expect(basic({ GRPC_ECHO_SERVER: '1', TLS_SERVER_CERT: '/c', TLS_SERVER_PRIVKEY: '/k' }).ports.grpcTls).to.equal(0);
    });

    it('TCP_ECHO_SERVER: the conformance TCP protocol on 3000, TLS on 8443', () => {
      const config = basic({ TCP_ECHO_SERVER: '1', TLS_SERVER_CERT: '/c', TLS_SERVER_PRIV_KEY: '/k' });
      expect(config.ports).to.include({ http: 0, tcp: 3000, tls: 8443 });
      expect(config.streamProtocol).to.equal('gateway-api');
      expect(config.tlsEchoAlpn).to.equal('ignore');
      const withoutTls = basic({ TCP_ECHO_SERVER: '1', TLS_PORT: '9443' });
      expect(withoutTls.ports.tls).to.equal(0);
      expect(withoutTls.tlsPortLabel).to.equal('9443');
    });

    it('UDP_ECHO_SERVER: the JSON UDP echo on 8080', () => {
      const config = basic({ UDP_ECHO_SERVER: '1', UDP_PORT: '9090' });
      expect(config.ports).to.include({ udp: 9090, http: 0 });
      expect(config.datagramProtocol).to.equal('gateway-api');
    });

    it('still lets flags override ports and the bind address', () => {
      const config = basic({ TCP_ECHO_SERVER: '1' }, ['--tcp-port', 'auto', '--address', '127.0.0.1']);
      expect(config.ports.tcp).to.equal('auto');
      expect(config.address).to.equal('127.0.0.1');
    });

    it('rejects a non-numeric port variable, as upstream does', () => {
      expect(errorOf(['--profile', 'echo-basic'], { HTTP_PORT: 'http' }).message).to.match(/invalid port "http" in HTTP_PORT/);
    });
  });
});
