// Certificate selection by SNI across listeners on one port: exact beats wildcard,
// the most specific wildcard beats a shorter one, a listener without hostname catches
// the rest and clients without SNI (Listener.hostname docs).
import { expect } from 'chai';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { tlsProbe } from '../../src/harness/probes.js';
import { awaitConvergence } from '../../src/harness/timeouts.js';
import { multiGateway, terminationManifests } from './shared.js';

export const certificateSelection: ConformanceTest = {
  shortName: 'TerminationCertificateBySni',
  description: 'each SNI gets the certificate of the most specific listener: exact, nested wildcard, wildcard, then the listener without hostname (also for no SNI)',
  suite: 'termination',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  manifestDir: terminationManifests,
  async test(ctx) {
    const { address, ca, certificates } = await multiGateway(ctx);
    // The last column: whether X.509 name rules accept the certificate for that name too
    // (a certificate wildcard covers one label; a Gateway API hostname wildcard several).
    const rows: [string | undefined, keyof typeof certificates, boolean][] = [
      ['foo.example.com', 'exact', true],
      ['baz.example.com', 'wildcard', true],
      ['deep.baz.example.com', 'wildcard', false],
      ['x.bar.example.com', 'nested', true],
      ['other.test', 'fallback', false],
      [undefined, 'fallback', false],
    ];
    for (const [servername, expected, nameMatches] of rows) {
      await awaitConvergence(`SNI ${servername ?? '(none)'} gets the ${expected} certificate`, ctx.timeouts, async () => {
        const probe = await tlsProbe({ address, port: 443, ...(servername ? { servername } : {}), ca: ca.certPem, alpn: ['h2', 'http/1.1'] });
        const served = probe.chain[0];
        if (served?.serial !== certificates[expected].serial) {
          throw new Error(`SNI ${servername ?? '(none)'}: expected the ${expected} certificate (serial ${certificates[expected].serial}), saw ${served ? `${served.subject} SANs ${served.dnsNames.join(',')} serial ${served.serial}` : `no certificate (${probe.error})`}`);
        }
        expect(served.issuer, 'issued by the suite CA').to.include('CN=termination-suite-ca');
        if (nameMatches) expect(probe.authorized, probe.authorizationError).to.equal(true);
      });
    }
  },
};
