// Reference scenario 1 (SCENARIOS.md): an HTTPS Gateway listener terminates TLS for
// demo.example.com and an HTTPRoute sends /echo to echo:1027, checked with the guide's
// curl to the address (no SNI, Host header) and with SNI and a verified chain.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';
import { tlsProbe } from '../../src/harness/probes.js';
import { curlMustReachEcho, echoBackend, guideCertificate, scenarioManifests } from './shared.js';

export const scenario1: ConformanceTest = {
  shortName: 'ReferenceScenario1GatewayTermination',
  description: 'an HTTPS listener with certificateRefs terminates TLS and routes /echo by HTTPRoute, also for clients that send no SNI',
  suite: 'reference',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: scenarioManifests,
  async test(ctx) {
    const certificate = await guideCertificate(ctx);
    await echoBackend(ctx);
    await ctx.applyFile('scenario-1-gateway-termination.yaml');
    const address = await ctx.gatewayAndRouteMustBeAccepted('kong', 'HTTPRoute', 'demo-example');
    const gateway = await ctx.getCustom<Gateway>('Gateway', 'kong');
    expect(gateway.status?.listeners?.find((l) => l.name === 'https')?.attachedRoutes, 'attachedRoutes of listener https').to.equal(1);

    // Exactly the guide's command: to an IP, so curl sends no SNI; routed by Host.
    await curlMustReachEcho(ctx, ['--cacert', certificate.file, '-k', '-H', 'Host:demo.example.com', `https://${address}/echo`]);
    // With SNI and the chain verified against the scenario's certificate.
    await curlMustReachEcho(ctx, ['--cacert', certificate.file, '--resolve', `demo.example.com:443:${address}`, 'https://demo.example.com/echo']);
    const handshake = await tlsProbe({ address, port: 443, servername: 'demo.example.com', ca: certificate.certPem, alpn: ['h2', 'http/1.1'] });
    expect(handshake.authorized, handshake.authorizationError ?? handshake.error).to.equal(true);
    expect(handshake.chain[0]?.serial, 'served certificate serial').to.equal(certificate.serial);
    expect(handshake.chain[0]?.dnsNames).to.deep.equal(['demo.example.com']);
    expect(handshake.alpnProtocol, 'ALPN').to.be.oneOf(['h2', 'http/1.1']);
    const noSni = await tlsProbe({ address, port: 443, ca: certificate.certPem });
    expect(noSni.chain[0]?.serial, 'certificate served without SNI').to.equal(certificate.serial);
  },
};
