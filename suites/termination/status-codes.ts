// What the proxy answers when nothing may serve a request: 404 for a host no route
// serves, 421 when the Host names a listener other than the one the SNI chose
// (RFC 9110 §15.5.20; Gateway API listener isolation).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { httpsRequest } from '../../src/harness/probes.js';
import { issueCertificate } from '../../src/lib/certs.js';
import { multiGateway, terminationManifests } from './shared.js';

export const misdirectedAndUnknown: ConformanceTest = {
  shortName: 'TerminationMisdirectedRequest',
  description: 'a Host of another listener than the SNI-selected one is answered 421, a host no route serves 404; a matching pair reaches the backend',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const { address, ca } = await multiGateway(ctx);
    await ctx.httpsMustAnswer({ address, port: 443, path: '/', servername: 'foo.example.com', ca: ca.certPem }, 200, /^Running on Pod echo-/);
    const misdirected = await httpsRequest({ address, port: 443, path: '/', servername: 'foo.example.com', host: 'x.bar.example.com', ca: ca.certPem });
    expect(misdirected.status, `SNI foo.example.com with Host x.bar.example.com: ${misdirected.body}`).to.equal(421);
    expect(misdirected.body).to.not.match(/Running on Pod/);

    const org = await issueCertificate(ca, { commonName: '*.example.org', dnsNames: ['*.example.org'] });
    await ctx.tlsSecret('org', org.certPem, org.keyPem);
    await ctx.applyFile('unknown-host.yaml');
    const narrow = await ctx.gatewayAndRouteMustBeAccepted('narrow', 'HTTPRoute', 'known');
    await ctx.httpsMustAnswer({ address: narrow, port: 443, path: '/', servername: 'known.example.org', ca: ca.certPem }, 200, /^Running on Pod echo-/);
    const unknown = await ctx.httpsMustAnswer({ address: narrow, port: 443, path: '/', servername: 'unknown.example.org', ca: ca.certPem }, 404);
    expect(unknown.body, 'the 404 names no backend').to.not.match(/Running on Pod/);
  },
};
