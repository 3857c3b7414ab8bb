// TCPRoute on a TLS listener in Terminate mode: the client's TLS session ends at the
// gateway, which carries the plain byte stream to the backend (the echo reports no TLS).
// Needs a Gateway API whose channel serves TCPRoute (experimental, or v1.5+ standard).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { echoBackend, terminationManifests } from './shared.js';

export const tcpOverTls: ConformanceTest = {
  shortName: 'TerminationTcpRoute',
  description: 'a TCPRoute on a terminating TLS listener carries the decrypted stream to a plain TCP backend',
  suite: 'termination',
  features: ['Gateway', 'TCPRoute'],
  profile: 'GATEWAY-TLS',
  extended: true,
  manifestDir: terminationManifests,
  async test(ctx) {
    const ca = await createCertificateAuthority('tcp-suite-ca');
    const certificate = await issueCertificate(ca, { commonName: 'tcp.example.com', dnsNames: ['tcp.example.com'] });
    await ctx.tlsSecret('tcp', certificate.certPem, certificate.keyPem);
    await echoBackend(ctx);
    await ctx.applyFile('tcp.yaml');
    const address = await ctx.gatewayAndRouteMustBeAccepted('tcp', 'TCPRoute', 'tcp');
    // The echo greets, reports a plain (not TLS) connection, and echoes the line.
    const probe = await ctx.certificateMustBeServed(
      { address, port: 9443, servername: 'tcp.example.com', ca: ca.certPem, send: 'IS_TLS\nhello over tls\n', readUntil: 'hello over tls\n' },
      certificate.serial,
      'the listener\'s certificate and the plain echo behind it',
      /^Running on Pod echo-[a-z0-9-]+\.\nfalse\nhello over tls\n$/,
    );
    expect(probe.authorized, probe.authorizationError).to.equal(true);
  },
};
