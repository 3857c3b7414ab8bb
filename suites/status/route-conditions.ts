// Route conditions with the exact reasons (RouteConditionReason, shared_types.go):
// attachment errors leave the route Accepted=False (NoMatchingListenerHostname,
// NoMatchingParent, NotAllowedByListeners for a kind or a namespace the listener does not
// admit); reference errors leave it Accepted but ResolvedRefs=False (BackendNotFound,
// InvalidKind, RefNotPermitted until a ReferenceGrant allows the Service).
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import type { ExpectedCondition } from '../../src/harness/context.js';
import { listenerCertificate, statusManifests } from './shared.js';

const notAccepted = (reason: string): ExpectedCondition => ({ type: 'Accepted', status: 'False', reason });
const unresolved = (reason: string): ExpectedCondition => ({ type: 'ResolvedRefs', status: 'False', reason });
const accepted: ExpectedCondition = { type: 'Accepted', status: 'True', reason: 'Accepted' };

const rows: [route: string, expected: ExpectedCondition[]][] = [
  ['wrong-hostname', [notAccepted('NoMatchingListenerHostname')]],
  ['no-such-listener', [notAccepted('NoMatchingParent')]],
  ['kind-not-allowed', [notAccepted('NotAllowedByListeners')]],
  ['missing-backend', [accepted, unresolved('BackendNotFound')]],
  ['wrong-backend-kind', [accepted, unresolved('InvalidKind')]],
  ['cross-backend', [accepted, unresolved('RefNotPermitted')]],
];

export const routeConditions: ConformanceTest = {
  shortName: 'StatusRouteConditions',
  description: 'route attachment and backend reference errors get their exact reasons; a ReferenceGrant resolves a cross-namespace backend',
  suite: 'status',
  features: ['Gateway', 'HTTPRoute', 'ReferenceGrant'],
  profile: 'GATEWAY-HTTP',
  manifestDir: statusManifests,
  async test(ctx) {
    const other = await ctx.extraNamespace('other');
    await listenerCertificate(ctx);
    await ctx.applyFile('routes.yaml');
    await ctx.gatewayAddress('routes');
    for (const [route, conditions] of rows) {
      for (const expected of conditions) await ctx.routeMustHave('HTTPRoute', route, expected);
    }
    await ctx.inNamespace(other).routeMustHave('HTTPRoute', 'from-other-namespace', notAccepted('NotAllowedByListeners'));
    // Routes with unresolved backends are still attached; routes not accepted are not counted.
    await ctx.attachedRoutesMustBe('routes', 'https', 3);

    await ctx.applyFile('backend-grant.yaml');
    await ctx.routeMustHave('HTTPRoute', 'cross-backend', { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
  },
};
