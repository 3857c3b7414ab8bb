// Passthrough routing by SNI with several TLSRoutes and backends: each SNI reaches the
// backend of the route whose hostnames cover it, and the client sees that backend's own
// certificate; a route outside the listener's hostname is refused
// (NoMatchingListenerHostname); unknown or absent SNI reaches no backend.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { tlsProbe } from '../../src/harness/probes.js';
import { passthroughBackends, passthroughManifests, sniMustReachBackend } from './shared.js';

export const passthroughBySni: ConformanceTest = {
  shortName: 'PassthroughRoutingBySni',
  description: 'each SNI reaches the backend of the TLSRoute covering it and sees that backend\'s certificate; other SNIs reach nothing',
  suite: 'passthrough',
  features: ['Gateway', 'TLSRoute'],
  profile: 'GATEWAY-TLS',
  manifestDir: passthroughManifests,
  async test(ctx) {
    const { ca, a, b } = await passthroughBackends(ctx);
    await ctx.applyFile('manifests.yaml');
    const address = await ctx.gatewayAndRouteMustBeAccepted('pass', 'TLSRoute', 'route-a');
    await ctx.routeMustHave('TLSRoute', 'outside', { type: 'Accepted', status: 'False', reason: 'NoMatchingListenerHostname' });

    await sniMustReachBackend(ctx, address, 'a.example.com', 'tls-a', a);
    await sniMustReachBackend(ctx, address, 'x.b.example.com', 'tls-b', b);
    const verified = await tlsProbe({ address, port: 443, servername: 'a.example.com', ca: ca.certPem });
    expect(verified.authorized, verified.authorizationError).to.equal(true);
    for (const servername of [undefined, 'c.example.com', 'a.example.org']) {
      const refused = await tlsProbe({ address, port: 443, ...(servername ? { servername } : {}), readUntil: 'Through TLS', timeoutMs: 3000 });
      expect(refused.connected, `SNI ${servername ?? '(none)'} must not complete a handshake with any backend`).to.equal(false);
      expect(refused.received).to.equal('');
    }
  },
};
