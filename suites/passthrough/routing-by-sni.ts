// Passthrough routing by SNI with several TLSRoutes and backends: each SNI reaches the
// backend of the route whose hostnames cover it, and the client sees that backend's own
// certificate; a route outside the listener's hostname is refused
// (NoMatchingListenerHostname); unknown or absent SNI reaches no backend.
import { join } from 'node:path';
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { conditionStatus, describeConditions } from '../../src/harness/context.js';
import { tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { packageRoot } from '../../src/lib/paths.js';

export const passthroughBySni: ConformanceTest = {
  shortName: 'PassthroughRoutingBySni',
  description: 'each SNI reaches the backend of the TLSRoute covering it and sees that backend\'s certificate; other SNIs reach nothing',
  suite: 'passthrough',
  features: ['Gateway', 'TLSRoute'],
  profile: 'GATEWAY-TLS',
  manifestDir: join(packageRoot, 'suites', 'passthrough'),
  async test(ctx) {
    const ca = await createCertificateAuthority('passthrough-suite-ca');
    const a = await issueCertificate(ca, { commonName: 'a.example.com', dnsNames: ['a.example.com'] });
    const b = await issueCertificate(ca, { commonName: '*.b.example.com', dnsNames: ['*.b.example.com'], algorithm: 'rsa-2048' });
    await ctx.tlsSecret('tls-a', a.certPem, a.keyPem);
    await ctx.tlsSecret('tls-b', b.certPem, b.keyPem);
    await ctx.applyFile('manifests.yaml');
    await ctx.podsReady('app=tls-a', 1);
    await ctx.podsReady('app=tls-b', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('pass', 'TLSRoute', 'route-a', 'v1alpha2');
    const outside = await ctx.routeParent('TLSRoute', 'outside', 'v1alpha2');
    expect(outside.conditions.find((c) => c.type === 'Accepted')?.reason, describeConditions(outside.conditions)).to.equal('NoMatchingListenerHostname');
    expect(conditionStatus(outside.conditions, 'Accepted')).to.equal('False');

    const rows: [string, typeof a, RegExp][] = [
      ['a.example.com', a, /Running on Pod tls-a-/],
      ['x.b.example.com', b, /Running on Pod tls-b-/],
    ];
    for (const [servername, certificate, greeting] of rows) {
      await awaitConvergence(`SNI ${servername} reaches its backend`, ctx.timeouts, async () => {
        const probe = await tlsProbe({ address, port: 443, servername, ca: ca.certPem, readUntil: 'Through TLS connection.' });
        const served = probe.chain[0];
        if (served?.serial !== certificate.serial || !greeting.test(probe.received)) {
          throw new Error(`SNI ${servername}: expected the backend certificate ${certificate.serial} and ${greeting}, saw ${served ? `${served.subject} ${served.serial}` : `no handshake (${probe.error})`} and ${JSON.stringify(probe.received)}`);
        }
        expect(probe.authorized, probe.authorizationError).to.equal(true);
      });
    }
    for (const servername of [undefined, 'c.example.com', 'a.example.org']) {
      const refused = await tlsProbe({ address, port: 443, ...(servername ? { servername } : {}), readUntil: 'Through TLS', timeoutMs: 3000 });
      expect(refused.connected, `SNI ${servername ?? '(none)'} must not complete a handshake with any backend`).to.equal(false);
      expect(refused.received).to.equal('');
    }
  },
};
