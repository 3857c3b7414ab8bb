// Listener conditions with the exact reasons (ListenerConditionReason, gateway_types.go):
// two listeners with one port and hostname are both Conflicted (HostnameConflict), HTTP
// and HTTPS on one port are Conflicted (ProtocolConflict), allowing only route kinds the
// protocol cannot carry is ResolvedRefs=False (InvalidRouteKinds); a valid listener
// beside them is Accepted and Programmed.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import type { ExpectedCondition } from '../../src/harness/context.js';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';
import { listenerCertificate, statusManifests } from './shared.js';

const rows: [listener: string, expected: ExpectedCondition[]][] = [
  ['same-a', [{ type: 'Conflicted', status: 'True', reason: 'HostnameConflict' }, { type: 'Accepted', status: 'False' }, { type: 'Programmed', status: 'False' }]],
  ['same-b', [{ type: 'Conflicted', status: 'True', reason: 'HostnameConflict' }, { type: 'Accepted', status: 'False' }]],
  ['plain', [{ type: 'Conflicted', status: 'True', reason: 'ProtocolConflict' }]],
  ['tls-on-plain', [{ type: 'Conflicted', status: 'True', reason: 'ProtocolConflict' }]],
  ['bad-kinds', [{ type: 'ResolvedRefs', status: 'False', reason: 'InvalidRouteKinds' }]],
  ['fine', [{ type: 'Accepted', status: 'True', reason: 'Accepted' }, { type: 'Programmed', status: 'True', reason: 'Programmed' }, { type: 'Conflicted', status: 'False', reason: 'NoConflicts' }, { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' }]],
];

export const listenerConditions: ConformanceTest = {
  shortName: 'StatusListenerConditions',
  description: 'conflicting hostnames or protocols on a port and unsupported route kinds get their exact listener reasons; a valid listener beside them is programmed',
  suite: 'status',
  features: ['Gateway'],
  profile: 'GATEWAY-HTTP',
  manifestDir: statusManifests,
  async test(ctx) {
    await listenerCertificate(ctx);
    await ctx.applyFile('listeners.yaml');
    await ctx.gatewayAddress('listeners');
    for (const [listener, conditions] of rows) {
      for (const expected of conditions) await ctx.listenerMustHave('listeners', listener, expected);
    }
    const gateway = await ctx.getCustom<Gateway>('Gateway', 'listeners');
    const kinds = (name: string) => gateway.status?.listeners?.find((l) => l.name === name)?.supportedKinds.map((k) => k.kind);
    expect(kinds('bad-kinds'), 'supportedKinds of a listener allowing only TLSRoute on HTTPS').to.deep.equal([]);
    expect(kinds('fine'), 'supportedKinds of an HTTPS listener').to.include('HTTPRoute').and.not.include('TLSRoute');
  },
};
