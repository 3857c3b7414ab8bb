// Checking a Secret as a serving certificate (src/controller/translate/certificates.ts):
// real keys and certificates, and the per-object memo that keeps a pass over 1,000
// Secrets from parsing every key again.
import { expect } from 'chai';
import type { V1Secret } from '@kubernetes/client-node';
import { checkTlsSecret } from '../../src/controller/translate/certificates.js';
import { createSelfSignedCertificate, type KeyMaterial } from '../../src/lib/certs.js';

function secretOf(material: Pick<KeyMaterial, 'certPem' | 'keyPem'>, resourceVersion = '1'): V1Secret {
  return {
    metadata: { name: 'site', namespace: 'apps', resourceVersion },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(material.certPem).toString('base64'), 'tls.key': Buffer.from(material.keyPem).toString('base64') },
  };
}

describe('checkTlsSecret', () => {
  let ecdsa: KeyMaterial;
  let rsa: KeyMaterial;
  before(async () => {
    ecdsa = await createSelfSignedCertificate({ commonName: 'a.example.com', dnsNames: ['A.example.com'], algorithm: 'ecdsa-p256' });
    rsa = await createSelfSignedCertificate({ commonName: 'b.example.com', dnsNames: ['b.example.com'] });
  });

  it('accepts a matching key and certificate, with the key type and lower-case DNS names', () => {
    const check = checkTlsSecret(secretOf(ecdsa));
    expect(check.ok && check.certificate.keyType).to.equal('ec');
    expect(check.ok && check.certificate.dnsNames).to.deep.equal(['a.example.com']);
    const rsaCheck = checkTlsSecret(secretOf(rsa));
    expect(rsaCheck.ok && rsaCheck.certificate.keyType).to.equal('rsa');
  });

  it('names the Secret and the fix when the key does not match, or does not parse', () => {
    expect(checkTlsSecret(secretOf({ certPem: ecdsa.certPem, keyPem: rsa.keyPem }))).to.deep.equal({ ok: false, message: 'Secret apps/site tls.key does not match the certificate in tls.crt' });
    expect(checkTlsSecret(secretOf({ certPem: ecdsa.certPem, keyPem: 'garbage' }))).to.deep.equal({ ok: false, message: 'Secret apps/site tls.key is not a valid PEM private key' });
  });

  it('parses each Secret object once, and checks a changed Secret (a new object) afresh', () => {
    const secret = secretOf(ecdsa);
    const first = checkTlsSecret(secret);
    expect(checkTlsSecret(secret), 'the same object: the same answer, not parsed again').to.equal(first);
    // The informer replaces the object when the Secret changes: a key rotated to a wrong one is caught.
    const rotated = secretOf({ certPem: ecdsa.certPem, keyPem: rsa.keyPem }, '2');
    expect(checkTlsSecret(rotated).ok).to.equal(false);
    const again = checkTlsSecret(secretOf(ecdsa, '3'));
    expect(again, 'a new object is parsed again').to.not.equal(first);
    expect(again).to.deep.equal(first);
  });
});
