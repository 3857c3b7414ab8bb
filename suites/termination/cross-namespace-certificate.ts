// A certificateRef to a Secret in another namespace needs a ReferenceGrant there
// (GEP-709): without it the listener is RefNotPermitted and the certificate is not
// served; with it, it is; revoking the grant withdraws it again.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { terminationManifests } from './shared.js';

export const crossNamespaceCertificate: ConformanceTest = {
  shortName: 'TerminationCrossNamespaceCertificate',
  description: 'a certificate Secret in another namespace is served only while a ReferenceGrant there allows it; otherwise RefNotPermitted',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute', 'ReferenceGrant'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const certs = await ctx.extraNamespace('certs');
    const ca = await createCertificateAuthority('cross-namespace-ca');
    const shared = await issueCertificate(ca, { commonName: 'cross.example.com', dnsNames: ['cross.example.com'] });
    await ctx.tlsSecret('shared', shared.certPem, shared.keyPem, certs);
    await ctx.applyFile('cross-namespace.yaml');
    const refused = { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted' } as const;
    const probe = { address: '', port: 443, servername: 'cross.example.com', ca: ca.certPem };

    await ctx.listenerMustHave('cross', 'https', refused);
    await ctx.listenerMustHave('cross', 'https', { type: 'Programmed', status: 'False' });

    await ctx.applyFile('reference-grant.yaml');
    await ctx.listenerMustHave('cross', 'https', { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs' });
    probe.address = await ctx.gatewayAddress('cross');
    await ctx.certificateMustBeServed(probe, shared.serial, 'the granted cross-namespace certificate');

    await ctx.deleteCustom('ReferenceGrant', 'gateways-may-use-shared', certs);
    await ctx.listenerMustHave('cross', 'https', refused);
    await ctx.certificateMustNotBeServed(probe, shared.serial, 'the certificate whose grant was revoked');
  },
};
