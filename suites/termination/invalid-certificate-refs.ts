// Invalid certificateRefs (GatewayInvalidTLSConfiguration upstream): a Secret that does not
// exist, a reference of the wrong kind, a malformed kubernetes.io/tls Secret and a Secret of
// the wrong type each leave their listener ResolvedRefs=False (InvalidCertificateRef) and
// unprogrammed, while the good listener on the same port keeps serving.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { echoBackend, terminationManifests } from './shared.js';

export const invalidCertificateRefs: ConformanceTest = {
  shortName: 'TerminationInvalidCertificateRefs',
  description: 'a missing, wrong-kind, malformed or wrong-type certificateRef makes its listener InvalidCertificateRef; the other listeners keep serving',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const ca = await createCertificateAuthority('invalid-refs-ca');
    const good = await issueCertificate(ca, { commonName: 'good.example.com', dnsNames: ['good.example.com'] });
    const opaque = await issueCertificate(ca, { commonName: 'wrong-type.example.com', dnsNames: ['wrong-type.example.com'] });
    await ctx.tlsSecret('good', good.certPem, good.keyPem);
    await ctx.applyObjects([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque' }, type: 'Opaque', stringData: { 'tls.crt': opaque.certPem, 'tls.key': opaque.keyPem } } as KubernetesObject]);
    await echoBackend(ctx);
    await ctx.applyFile('invalid-refs.yaml');

    const address = await ctx.gatewayAddress('refs');
    for (const listener of ['missing', 'wrong-kind', 'malformed', 'wrong-type']) {
      await ctx.listenerMustHave('refs', listener, { type: 'ResolvedRefs', status: 'False', reason: 'InvalidCertificateRef' });
      await ctx.listenerMustHave('refs', listener, { type: 'Programmed', status: 'False' });
    }
    await ctx.listenerMustHave('refs', 'good', { type: 'ResolvedRefs', status: 'True' });
    await ctx.listenerMustHave('refs', 'good', { type: 'Programmed', status: 'True' });
    await ctx.routeMustHave('HTTPRoute', 'everywhere', { type: 'Accepted', status: 'True' });

    await ctx.certificateMustBeServed({ address, port: 443, servername: 'good.example.com', ca: ca.certPem }, good.serial, 'the good listener\'s certificate');
    await ctx.httpsMustAnswer({ address, port: 443, path: '/', servername: 'good.example.com', ca: ca.certPem }, 200, /^Running on Pod echo-/);
    // A valid certificate in a Secret of the wrong type is never served.
    await ctx.certificateMustNotBeServed({ address, port: 443, servername: 'wrong-type.example.com' }, opaque.serial, 'the certificate of the Opaque Secret');
  },
};
