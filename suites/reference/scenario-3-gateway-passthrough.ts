// Reference scenario 3: a TLS listener in Passthrough mode routes by SNI to a TLSRoute
// backend that terminates TLS itself: the client sees the backend's certificate.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { runClient, tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { echoBackend, guideCertificate, scenarioManifests } from './shared.js';

export const scenario3: ConformanceTest = {
  shortName: 'ReferenceScenario3GatewayPassthrough',
  description: 'a Passthrough listener hands the TLS stream, undecrypted, to the TLSRoute backend chosen by SNI',
  suite: 'reference',
  features: ['Gateway', 'TLSRoute'],
  profile: 'GATEWAY-TLS',
  manifestDir: scenarioManifests,
  async test(ctx) {
    const certificate = await guideCertificate(ctx);
    await echoBackend(ctx);
    await ctx.applyFile('scenario-3-gateway-passthrough.yaml');
    await ctx.podsReady('app=tlsecho', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('example-gateway-passthrough', 'TLSRoute', 'demo-example-passthrough');

    // The guide's check: openssl s_client with SNI; the backend answers over its own TLS session.
    let output = '';
    await awaitConvergence('openssl s_client through the passthrough listener', ctx.timeouts, async () => {
      const result = await runClient('openssl', ['s_client', '-connect', `${address}:8899`, '-servername', 'demo.example.com', '-CAfile', certificate.file, '-showcerts'], 15_000, 1500);
      if (!result.stdout.includes('Through TLS connection.')) throw new Error(`expected the tlsecho greeting from ${address}:8899, saw:\n${result.stdout.slice(0, 1500)}${result.stderr.slice(-500)}`);
      output = result.stdout;
    });
    expect(output).to.match(/Running on Pod tlsecho-[a-z0-9-]+\./);
    expect(output).to.include('Verify return code: 0 (ok)');
    const served = output.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? '';
    expect(served.replace(/\s/g, ''), 'the chain presented is the backend\'s certificate').to.equal(certificate.certPem.trim().replace(/\s/g, ''));

    // No SNI, or an SNI no route serves: the connection is closed and no backend is reached.
    for (const servername of [undefined, 'unknown.example.com']) {
      const refused = await tlsProbe({ address, port: 8899, ...(servername ? { servername } : {}), readUntil: 'Through TLS' });
      expect(refused.received, `SNI ${servername ?? '(none)'} must not reach the backend`).to.not.include('Running on Pod');
      expect(refused.connected, `SNI ${servername ?? '(none)'}: handshake must not complete`).to.equal(false);
    }
  },
};
