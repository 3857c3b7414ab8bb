// Deleting what enables traffic stops it and updates status; restoring it restores both:
// the Secret (InvalidCertificateRef, then served again), the route (404, then 200) and
// the Gateway (nothing listens, then served again).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { conditionStatus, describeConditions } from '../../src/harness/context.js';
import { httpsRequest, tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { waitFor } from '../../src/lib/kube.js';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';
import { multiGateway, terminationManifests } from './shared.js';

export const deleteAndRestore: ConformanceTest = {
  shortName: 'TerminationDeleteAndRestore',
  description: 'deleting the Secret, the HTTPRoute or the Gateway stops the traffic it enabled and updates status; restoring each restores both',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const { address, ca, certificates } = await multiGateway(ctx);
    const request = () => httpsRequest({ address, port: 443, path: '/', servername: 'foo.example.com', ca: ca.certPem, timeoutMs: 3000 });
    await awaitConvergence('served before any deletion', ctx.timeouts, async () => {
      expect((await request()).status).to.equal(200);
    });

    // The Secret: the listener reports InvalidCertificateRef and its certificate is no longer served.
    await ctx.core.deleteNamespacedSecret({ name: 'exact', namespace: ctx.namespace });
    const listener = await waitFor({ what: 'listener exact to report ResolvedRefs=False', timeoutMs: ctx.timeouts.maxTimeToConsistencyMs }, async () => {
      const gateway = await ctx.getCustom<Gateway>('Gateway', 'multi');
      const status = gateway.status?.listeners?.find((l) => l.name === 'exact');
      return conditionStatus(status?.conditions, 'ResolvedRefs') === 'False' ? status : undefined;
    });
    expect(listener.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, describeConditions(listener.conditions)).to.equal('InvalidCertificateRef');
    await awaitConvergence('the deleted certificate is no longer served', ctx.timeouts, async () => {
      const probe = await tlsProbe({ address, port: 443, servername: 'foo.example.com', ca: ca.certPem });
      expect(probe.chain[0]?.serial).to.not.equal(certificates.exact.serial);
    });
    await ctx.tlsSecret('exact', certificates.exact.certPem, certificates.exact.keyPem);
    await awaitConvergence('the restored certificate is served again', ctx.timeouts, async () => {
      const probe = await tlsProbe({ address, port: 443, servername: 'foo.example.com', ca: ca.certPem });
      expect(probe.chain[0]?.serial).to.equal(certificates.exact.serial);
    });

    // The route: 404 while it is gone.
    await ctx.custom.deleteNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ctx.namespace, plural: 'httproutes', name: 'everywhere' });
    await awaitConvergence('404 without the route', ctx.timeouts, async () => {
      expect((await request()).status).to.equal(404);
    });
    await ctx.applyFile('manifests.yaml');
    await awaitConvergence('200 with the route restored', ctx.timeouts, async () => {
      expect((await request()).status).to.equal(200);
    });

    // The Gateway: nothing serves its address while it is gone.
    await ctx.custom.deleteNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ctx.namespace, plural: 'gateways', name: 'multi' });
    await awaitConvergence('no TLS service without the Gateway', ctx.timeouts, async () => {
      const probe = await tlsProbe({ address, port: 443, servername: 'foo.example.com', ca: ca.certPem, timeoutMs: 2000 });
      expect(probe.connected, `handshake with a deleted Gateway: ${JSON.stringify(probe.chain[0])}`).to.equal(false);
    });
    await ctx.applyFile('manifests.yaml');
    const restored = await ctx.gatewayAddress('multi');
    await awaitConvergence('served again with the Gateway restored', ctx.timeouts, async () => {
      const response = await httpsRequest({ address: restored, port: 443, path: '/', servername: 'foo.example.com', ca: ca.certPem, timeoutMs: 3000 });
      expect(response.status).to.equal(200);
    });
  },
};
