// What the proxy answers when nothing may serve a request: 404 for a host no route
// serves, 421 when the Host names a listener other than the one the SNI chose
// (RFC 9110 §15.5.20; Gateway API listener isolation).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { httpsRequest } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { multiGateway, terminationManifests } from './shared.js';

export const misdirectedAndUnknown: ConformanceTest = {
  shortName: 'TerminationMisdirectedRequest',
  description: 'a Host that belongs to another listener than the SNI-selected one is answered 421; a matching pair is answered by the backend',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const { address, ca } = await multiGateway(ctx);
    await awaitConvergence('SNI and Host agree: the backend answers', ctx.timeouts, async () => {
      const response = await httpsRequest({ address, port: 443, path: '/', servername: 'foo.example.com', ca: ca.certPem });
      expect(response.status, response.body).to.equal(200);
      expect(response.body).to.match(/Running on Pod echo-/);
    });
    const misdirected = await httpsRequest({ address, port: 443, path: '/', servername: 'foo.example.com', host: 'x.bar.example.com', ca: ca.certPem });
    expect(misdirected.status, `SNI foo.example.com with Host x.bar.example.com: ${misdirected.body}`).to.equal(421);
    expect(misdirected.body).to.not.match(/Running on Pod/);
  },
};
