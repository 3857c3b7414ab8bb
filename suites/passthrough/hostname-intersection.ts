// TLSRoute hostnames are intersected with the listener's hostname (TLSRouteSpec.hostnames,
// GEP-2643): route hostnames outside the listener are ignored, a route wildcard covering
// an exact listener narrows to it, a narrower wildcard stays narrow, and a route with no
// hostname in common with its listener is not accepted.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { passthroughBackends, passthroughManifests, sniMustReachBackend, sniMustReachNothing } from './shared.js';

export const passthroughHostnameIntersection: ConformanceTest = {
  shortName: 'PassthroughHostnameIntersection',
  description: 'TLSRoute hostnames are intersected with the Passthrough listener\'s: only the names in common are routed; none in common is NoMatchingListenerHostname',
  suite: 'passthrough',
  features: ['Gateway', 'TLSRoute'],
  profile: 'GATEWAY-TLS',
  manifestDir: passthroughManifests,
  async test(ctx) {
    const { a, b } = await passthroughBackends(ctx);
    await ctx.applyFile('intersection.yaml');
    const address = await ctx.gatewayAddress('inter');
    for (const route of ['mixed', 'nested', 'covering']) await ctx.routeMustHave('TLSRoute', route, { type: 'Accepted', status: 'True' });
    await ctx.routeMustHave('TLSRoute', 'elsewhere', { type: 'Accepted', status: 'False', reason: 'NoMatchingListenerHostname' });

    await sniMustReachBackend(ctx, address, 'mixed.example.com', 'tls-a', a);
    await sniMustReachBackend(ctx, address, 'x.deep.example.com', 'tls-b', b);
    await sniMustReachBackend(ctx, address, 'exact.example.net', 'tls-b', b);
    // Outside every intersection: the route's own name beyond its listener, and names its
    // wildcard would cover were it not narrowed to the listener's.
    for (const servername of ['mixed.example.org', 'other.example.net', 'other.example.com']) await sniMustReachNothing(ctx, address, servername);
  },
};
