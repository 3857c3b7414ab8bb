// Deleting the TLSRoute, the Gateway, and the GatewayClass with its Gateway stops
// passthrough traffic; restoring each restores it. The test uses a GatewayClass of its
// own for the implementation's controller, so no other test loses its class.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { passthroughBackends, passthroughManifests, sniMustReachBackend, sniMustReachNothing } from './shared.js';

export const passthroughDeleteAndRestore: ConformanceTest = {
  shortName: 'PassthroughDeleteAndRestore',
  description: 'deleting the TLSRoute, the Gateway, or the GatewayClass with its Gateway stops passthrough traffic; restoring each restores it',
  suite: 'passthrough',
  features: ['Gateway', 'TLSRoute'],
  profile: 'GATEWAY-TLS',
  manifestDir: passthroughManifests,
  async test(ctx) {
    const { a } = await passthroughBackends(ctx);
    const gatewayClass = ctx.namespace;
    ctx.onCleanup(() => ctx.deleteCustom('GatewayClass', gatewayClass));
    await ctx.applyFile('own-class.yaml');
    await ctx.gatewayClassMustHave(gatewayClass, { type: 'Accepted', status: 'True' });
    let address = await ctx.gatewayAndRouteMustBeAccepted('own', 'TLSRoute', 'route-a');
    await sniMustReachBackend(ctx, address, 'a.example.com', 'tls-a', a);

    await ctx.deleteCustom('TLSRoute', 'route-a');
    await sniMustReachNothing(ctx, address, 'a.example.com');
    await ctx.applyFile('own-class.yaml');
    await ctx.routeMustHave('TLSRoute', 'route-a', { type: 'Accepted', status: 'True' });
    await sniMustReachBackend(ctx, address, 'a.example.com', 'tls-a', a);

    await ctx.deleteCustom('Gateway', 'own');
    await sniMustReachNothing(ctx, address, 'a.example.com');
    await ctx.applyFile('own-class.yaml');
    address = await ctx.gatewayAddress('own');
    await sniMustReachBackend(ctx, address, 'a.example.com', 'tls-a', a);

    // The GatewayClass goes with its Gateway (a class may keep a finalizer while Gateways use it).
    await ctx.deleteCustom('Gateway', 'own');
    await ctx.deleteCustom('GatewayClass', gatewayClass);
    await ctx.customMustBeGone('GatewayClass', gatewayClass);
    await sniMustReachNothing(ctx, address, 'a.example.com');
    await ctx.applyFile('own-class.yaml');
    await ctx.gatewayClassMustHave(gatewayClass, { type: 'Accepted', status: 'True' });
    address = await ctx.gatewayAddress('own');
    await sniMustReachBackend(ctx, address, 'a.example.com', 'tls-a', a);
  },
};
