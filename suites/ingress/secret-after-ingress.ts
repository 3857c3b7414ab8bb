// An Ingress whose TLS Secret is created after it: until then the host is served with
// the controller's default certificate and a Warning Event says why; once the Secret
// exists its certificate is served. A rule without host answers on plain HTTP for any host.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { httpsRequest, runClient, tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { waitFor } from '../../src/lib/kube.js';
import { echoBackend, ingressManifests } from './shared.js';

export const secretAfterIngress: ConformanceTest = {
  shortName: 'IngressSecretCreatedAfterIngress',
  description: 'a TLS Secret created after its Ingress is served once it exists; before, the default certificate and a Warning Event',
  suite: 'ingress',
  features: [],
  profile: 'INGRESS',
  manifestDir: ingressManifests,
  async test(ctx) {
    await echoBackend(ctx);
    await ctx.applyFile('late-secret.yaml');
    const address = await ctx.ingressAddress('late');

    await awaitConvergence('the default certificate is served while the Secret is missing', ctx.timeouts, async () => {
      const probe = await tlsProbe({ address, port: 443, servername: 'late.example.com' });
      expect(probe.chain[0]?.subject, probe.error).to.include('CN=portcullis-default');
    });
    const event = await waitFor({ what: 'a Warning Event on the Ingress about its missing Secret', timeoutMs: ctx.timeouts.maxTimeToConsistencyMs }, async () => {
      const events = await ctx.core.listNamespacedEvent({ namespace: ctx.namespace });
      return events.items.find((e) => e.involvedObject.name === 'late' && e.type === 'Warning');
    });
    expect(event.message).to.include('late-cert').and.include('default certificate');

    const ca = await createCertificateAuthority('ingress-suite-ca');
    const late = await issueCertificate(ca, { commonName: 'late.example.com', dnsNames: ['late.example.com'] });
    await ctx.tlsSecret('late-cert', late.certPem, late.keyPem);
    await awaitConvergence('the Secret created after the Ingress is served', ctx.timeouts, async () => {
      const response = await httpsRequest({ address, port: 443, path: '/', servername: 'late.example.com', ca: ca.certPem });
      expect(response.status, response.body).to.equal(200);
      expect(response.body).to.match(/^Running on Pod echo-/);
      const probe = await tlsProbe({ address, port: 443, servername: 'late.example.com', ca: ca.certPem });
      expect(probe.chain[0]?.serial).to.equal(late.serial);
    });

    await awaitConvergence('the rule without host answers plain HTTP for any host', ctx.timeouts, async () => {
      const result = await runClient('curl', ['-sS', '--max-time', '5', '-H', 'Host: whatever.test', `http://${address}/anyhost`]);
      expect(result.stdout, result.stderr).to.match(/^Running on Pod echo-/);
    });
  },
};
