// The Corefile reader: one row per syntax rule, then one per error a person must be able to fix.
import { expect } from 'chai';
import { parseCorefile, type ZoneConfig } from '../../src/dns/corefile.js';

const zone = (fields: Partial<ZoneConfig> & { zone: string }): ZoneConfig => ({ port: 53, whoami: false, log: false, ...fields });

describe('dns: Corefile', function () {
  const accepted: Array<[string, string, ZoneConfig[]]> = [
    [
      'the conformance manifest: zones get a final dot, plugins apply to their block only',
      '.:53 {\n    forward . 8.8.8.8 9.9.9.9\n    log\n    errors\n}\nfoo.bar.com:53 {\n  whoami\n}\n',
      [zone({ zone: '.', log: true, forwardFrom: '.' }), zone({ zone: 'foo.bar.com.', whoami: true })],
    ],
    ['port 53 when none is given; zones lower-cased', 'Example.ORG {\n whoami\n}', [zone({ zone: 'example.org.', whoami: true })]],
    [
      'several keys (spaces or commas) share one block; dns:// is allowed',
      'dns://a.test:1053 b.test:1053,c.test:1053 {\n whoami\n}',
      ['a.test.', 'b.test.', 'c.test.'].map((name) => zone({ zone: name, port: 1053, whoami: true })),
    ],
    [
      'comments are dropped; an options block after a plugin is skipped',
      '# upstream\n. { # all names\n  forward example.org 192.0.2.1 {\n    max_fails 3\n  }\n  log # queries\n}',
      [zone({ zone: '.', log: true, forwardFrom: 'example.org.' })],
    ],
    ['the same zone on two ports is two servers', '.:53 {\n whoami\n}\n.:5353 {\n whoami\n}', [zone({ zone: '.', whoami: true }), zone({ zone: '.', port: 5353, whoami: true })]],
  ];
  for (const [rule, text, expected] of accepted) {
    it(`reads: ${rule}`, () => {
      expect(parseCorefile(text, 'Corefile')).to.deep.equal(expected);
    });
  }

  const rejected: Array<[string, string, RegExp]> = [
    ['an unknown plugin, by name and line', '. {\n  whoami\n  rewrite name a b\n}', /^Corefile:3: plugin "rewrite" is not supported/],
    ['a port out of range', 'foo.test:70000 {\n whoami\n}', /^Corefile:1: "foo\.test:70000": port "70000" is not a number from 1 to 65535$/],
    ['another transport', 'tls://.:853 {\n whoami\n}', /only plain DNS \(dns:\/\/\) is supported, not tls:\/\//],
    ['a block never closed', '. {\n whoami\n', /server block is not closed; add "}"/],
    ['a block never opened', '.\nwhoami\n', /^Corefile:1: expected "zone\[:port\] \{"/],
    ['forward without an upstream', '. {\n forward .\n}', /^Corefile:2: forward needs a zone and at least one upstream/],
    ['whoami with arguments', '. {\n whoami please\n}', /^Corefile:2: whoami takes no arguments$/],
    ['a zone defined twice on one port', '.:53 {\n whoami\n}\n. {\n log\n}', /^Corefile:4: zone \. on port 53 is defined twice/],
    ['an empty file', '# nothing\n', /no server block/],
  ];
  for (const [problem, text, message] of rejected) {
    it(`rejects ${problem}`, () => {
      expect(() => parseCorefile(text, 'Corefile')).to.throw(message);
    });
  }
});
