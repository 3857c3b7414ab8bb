import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortcullisError } from '../../src/lib/errors.js';
import { cdataSection, escapeXmlAttribute, renderJUnit, writeJUnit, xmlSafeText } from '../../src/harness/reporting/junit.js';
import { failedTest, passedTest, runOf, skippedTest } from './run-fixture.js';

/** The text a CDATA-aware parser would read back from consecutive sections. */
function readCdata(xml: string): string {
  return [...xml.matchAll(/<!\[CDATA\[([\s\S]*?)\]\]>/g)].map((m) => m[1]).join('');
}

describe('harness reporting: JUnit XML', () => {
  it('writes one testsuite per suite, with failure evidence in CDATA and skips as skipped', () => {
    const xml = renderJUnit(runOf([passedTest, failedTest, skippedTest]));
    const properties = [
      '    <properties>',
      '      <property name="implementation" value="portcullis/portcullis"/>',
      '      <property name="implementationVersion" value="v0.1.0"/>',
      '      <property name="gatewayAPIVersion" value="v1.6.3"/>',
      '      <property name="gatewayAPIChannel" value="experimental"/>',
      '      <property name="provider" value="local"/>',
      '      <property name="mode" value="default"/>',
      '    </properties>',
    ];
    expect(xml).to.equal(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<testsuites name="Portcullis conformance" tests="3" failures="1" errors="0" skipped="1" time="31.250" timestamp="2026-03-01T10:00:00.000Z">',
        '  <testsuite name="termination" tests="2" failures="1" errors="0" skipped="0" time="31.250" timestamp="2026-03-01T10:00:00.000Z">',
        ...properties,
        '    <testcase name="HTTPRouteTerminatesWithoutSNI: scenario 1 with no SNI, routed by Host" classname="termination" time="1.250"/>',
        '    <testcase name="GatewaySecretRotation: rotated Secret served within MaxTimeToConsistency" classname="termination" time="30.000">',
        '      <failure message="expected serial 02, saw 01 &lt;after 30s&gt;"><![CDATA[served: CN=demo.example.com serial=01\nconditions: Programmed=True]]></failure>',
        '    </testcase>',
        '  </testsuite>',
        '  <testsuite name="passthrough" tests="1" failures="0" errors="0" skipped="1" time="0.000" timestamp="2026-03-01T10:00:00.000Z">',
        ...properties,
        '    <testcase name="TLSRouteMixedMode: terminate and passthrough on one port" classname="passthrough" time="0.000">',
        '      <skipped message="feature TLSRouteModeMixed is not supported by GatewayClass portcullis"/>',
        '    </testcase>',
        '  </testsuite>',
        '</testsuites>',
        '',
      ].join('\n'),
    );
  });

  it('never writes a skipped test as a bare (passed) testcase', () => {
    const xml = renderJUnit(runOf([{ ...skippedTest, skipCause: 'excluded', skipReason: 'excluded by --skip-tests' }]));
    expect(xml).to.contain('<skipped message="excluded by --skip-tests"/>');
    expect(xml).not.to.match(/<testcase [^>]*\/>/);
  });

  it('escapes the XML special characters, and keeps tab and line breaks in attributes', () => {
    expect(escapeXmlAttribute(`a&b<c>d"e'f\tg\nh\ri`)).to.equal('a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i');
  });

  it('writes control characters XML 1.0 cannot carry as visible escapes, lone surrogates as U+FFFD', () => {
    expect(xmlSafeText('\u001b[31mred\u0000\u0008\u000b\u000c\u001f')).to.equal('\\x1B[31mred\\x00\\x08\\x0B\\x0C\\x1F');
    expect(xmlSafeText('keep\ttab\nlf\rcr')).to.equal('keep\ttab\nlf\rcr');
    expect(xmlSafeText('\uFFFE\uFFFF')).to.equal('\\uFFFE\\uFFFF');
    expect(xmlSafeText('lone \uD800 and \uDC00, pair \uD83D\uDD12')).to.equal('lone \uFFFD and \uFFFD, pair \uD83D\uDD12');
  });

  it('splits "]]>" inside CDATA so the details read back exactly', () => {
    const details = 'body: {"a":[[1]]}\n]]> and ]]]>';
    const section = cdataSection(details);
    expect(section).to.equal('<![CDATA[body: {"a":[[1]]}\n]]]]><![CDATA[> and ]]]]]><![CDATA[>]]>');
    expect(readCdata(section)).to.equal(details);
  });

  it('escapes the failure message attribute and sanitises the CDATA of a hostile failure', () => {
    const xml = renderJUnit(runOf([{ ...failedTest, failure: { message: 'saw "x" & <y>\nthen z', details: 'ESC\u001b ]]> end' } }]));
    expect(xml).to.contain('<failure message="saw &quot;x&quot; &amp; &lt;y&gt;&#10;then z"><![CDATA[ESC\\x1B ]]]]><![CDATA[> end]]></failure>');
  });

  it('refuses an inconsistent run instead of reporting it', () => {
    expect(() => renderJUnit(runOf([{ ...skippedTest, skipReason: undefined }]))).to.throw(PortcullisError, 'skipped without a reason');
  });

  it('writes the file, creating its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-junit-'));
    try {
      const file = join(dir, 'reports', 'junit.xml');
      await writeJUnit(runOf([passedTest]), file);
      expect(await readFile(file, 'utf8')).to.equal(renderJUnit(runOf([passedTest])));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
