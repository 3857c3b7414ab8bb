// Secret rotation: a Secret created after its Gateway, then updated in place (a new
// certificate and key type), then deleted and recreated with another certificate, is
// served each time within MaxTimeToConsistency, RequiredConsecutiveSuccesses in a row.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { terminationManifests } from './shared.js';

export const secretRotation: ConformanceTest = {
  shortName: 'TerminationSecretRotation',
  description: 'a certificate Secret created after the Gateway, updated in place, or deleted and recreated is served within the consistency limit',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const ca = await createCertificateAuthority('rotation-ca');
    const issue = (algorithm: 'rsa-2048' | 'ecdsa-p256') => issueCertificate(ca, { commonName: 'rot.example.com', dnsNames: ['rot.example.com'], algorithm });
    const other = await issueCertificate(ca, { commonName: 'other.example.com', dnsNames: ['other.example.com'] });
    await ctx.tlsSecret('other', other.certPem, other.keyPem);
    await ctx.applyFile('rotation.yaml');
    const address = await ctx.gatewayAddress('rotation');
    await ctx.listenerMustHave('rotation', 'https', { type: 'ResolvedRefs', status: 'False', reason: 'InvalidCertificateRef' });
    const probe = { address, port: 443, servername: 'rot.example.com', ca: ca.certPem };

    const created = await issue('ecdsa-p256');
    await ctx.tlsSecret('rotating', created.certPem, created.keyPem);
    await ctx.listenerMustHave('rotation', 'https', { type: 'ResolvedRefs', status: 'True' });
    await ctx.certificateMustBeServed(probe, created.serial, 'the Secret created after the Gateway');

    const updated = await issue('rsa-2048');
    await ctx.tlsSecret('rotating', updated.certPem, updated.keyPem);
    await ctx.certificateMustBeServed(probe, updated.serial, 'the certificate the Secret was updated to');

    const recreated = await issue('ecdsa-p256');
    await ctx.core.deleteNamespacedSecret({ name: 'rotating', namespace: ctx.namespace });
    await ctx.tlsSecret('rotating', recreated.certPem, recreated.keyPem);
    await ctx.certificateMustBeServed(probe, recreated.serial, 'the certificate of the recreated Secret');
    // The other listener was never disturbed.
    await ctx.certificateMustBeServed({ ...probe, servername: 'other.example.com' }, other.serial, 'the other listener\'s certificate');
  },
};
