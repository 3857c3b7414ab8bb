// Several hosts in one spec.tls entry share its Secret: each is served with that
// certificate and routed by its own rule. The status address is where the Ingress is
// served, and an Ingress of another class gets neither status nor traffic from us.
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { runClient } from '../../src/harness/probes.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { echoBackend, ingressManifests } from './shared.js';

export const severalHostsOneTlsEntry: ConformanceTest = {
  shortName: 'IngressSeveralHostsOneTlsEntry',
  description: 'every host of one spec.tls entry is served with its Secret and routed by its rule, at the address the Ingress status publishes',
  suite: 'ingress',
  features: [],
  profile: 'INGRESS',
  manifestDir: ingressManifests,
  async test(ctx) {
    const ca = await createCertificateAuthority('ingress-hosts-ca');
    const certificate = await issueCertificate(ca, { commonName: 'one.example.com', dnsNames: ['one.example.com', 'two.example.com'] });
    await ctx.tlsSecret('two-hosts', certificate.certPem, certificate.keyPem);
    await echoBackend(ctx);
    await ctx.applyFile('hosts.yaml');
    const address = await ctx.ingressAddress('two-hosts');
    expect(address, 'status.loadBalancer.ingress[0] is an IP address or a hostname').to.match(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+|[a-z0-9.-]+)$/i);

    for (const host of ['one.example.com', 'two.example.com']) {
      const probe = await ctx.certificateMustBeServed({ address, port: 443, servername: host, ca: ca.certPem }, certificate.serial, `the Secret of the tls entry for ${host}`);
      expect(probe.authorized, probe.authorizationError).to.equal(true);
      await ctx.httpsMustAnswer({ address, port: 443, path: '/', servername: host, ca: ca.certPem }, 200, /^Running on Pod echo-/);
    }
    // The Ingress of another class: no status from us, and its host is not routed.
    const foreign = await ctx.networking.readNamespacedIngress({ name: 'foreign', namespace: ctx.namespace });
    expect(foreign.status?.loadBalancer?.ingress ?? [], 'status of an Ingress of another class').to.deep.equal([]);
    const result = await runClient('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '-H', 'Host: foreign.example.com', `http://${address}/`]);
    expect(result.stdout, result.stderr).to.equal('404');
  },
};
