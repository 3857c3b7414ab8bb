// Reference scenario 2: an Ingress terminates TLS through spec.tls (secretName + hosts).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { tlsProbe } from '../../src/harness/probes.js';
import { curlMustReachEcho, echoBackend, guideCertificate, scenarioManifests } from './shared.js';

export const scenario2: ConformanceTest = {
  shortName: 'ReferenceScenario2IngressTermination',
  description: 'an Ingress with spec.tls terminates TLS for its host and publishes its address',
  suite: 'reference',
  features: [],
  profile: 'INGRESS',
  manifestDir: scenarioManifests,
  async test(ctx) {
    const certificate = await guideCertificate(ctx);
    await echoBackend(ctx);
    await ctx.applyFile('scenario-2-ingress-termination.yaml');
    const address = await ctx.ingressAddress('demo-example-com');
    await curlMustReachEcho(ctx, ['--cacert', certificate.file, '-k', '-H', 'Host:demo.example.com', `https://${address}/echo`]);
    await curlMustReachEcho(ctx, ['--cacert', certificate.file, '--resolve', `demo.example.com:443:${address}`, 'https://demo.example.com/']);
    const handshake = await tlsProbe({ address, port: 443, servername: 'demo.example.com', ca: certificate.certPem });
    expect(handshake.chain[0]?.serial, 'served certificate serial').to.equal(certificate.serial);
  },
};
