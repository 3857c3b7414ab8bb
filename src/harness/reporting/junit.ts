// JUnit XML for CI systems: one <testsuite> per suite folder, one <testcase> per
// test. A failure carries its one-line message as an attribute and the evidence
// (request/response or handshake dump, conditions seen) in CDATA; a skipped test is
// <skipped message=reason/>, never a bare (passed) testcase.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assertReportableRun, runTotals, testsBySuite, type RunResult, type TestResult } from './results.js';

/**
 * Makes text representable in XML 1.0, whose Char production excludes most C0
 * controls, U+FFFE, U+FFFF and lone surrogates even as character references
 * (XML 1.0 §2.2). Each such control is written as visible `\xNN` / `\uNNNN` text
 * (a terminal's ESC stays legible as `\x1B`), a lone surrogate as U+FFFD.
 */
export function xmlSafeText(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** An attribute value for double quotes; tab, CR and LF as references so parsers keep them (§3.3.3). */
export function escapeXmlAttribute(value: string): string {
  return xmlSafeText(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** A CDATA section holding `text` exactly; a `]]>` inside is split across two sections. */
export function cdataSection(text: string): string {
  return `<![CDATA[${xmlSafeText(text).replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function attributes(pairs: Record<string, string | number>): string {
  return Object.entries(pairs)
    .map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`)
    .join('');
}

function testcaseName(test: TestResult): string {
  return test.title ? `${test.shortName}: ${test.title}` : test.shortName;
}

function renderTestcase(test: TestResult): string[] {
  const open = `    <testcase${attributes({ name: testcaseName(test), classname: test.suite, time: seconds(test.durationMs) })}`;
  switch (test.state) {
    case 'passed':
      return [`${open}/>`];
    case 'skipped':
      return [open + '>', `      <skipped${attributes({ message: test.skipReason ?? 'skipped' })}/>`, '    </testcase>'];
    case 'failed': {
      const failure = test.failure ?? { message: 'failed', details: '' };
      return [open + '>', `      <failure${attributes({ message: failure.message })}>${cdataSection(failure.details)}</failure>`, '    </testcase>'];
    }
  }
}

function runProperties(run: RunResult): string[] {
  const properties: Record<string, string> = {
    implementation: `${run.implementation.organization}/${run.implementation.project}`,
    implementationVersion: run.implementation.version,
    gatewayAPIVersion: run.gatewayAPIVersion,
    gatewayAPIChannel: run.gatewayAPIChannel,
    provider: run.provider,
    mode: run.mode,
  };
  return [
    '    <properties>',
    ...Object.entries(properties).map(([name, value]) => `      <property${attributes({ name, value })}/>`),
    '    </properties>',
  ];
}

/** The whole JUnit document for a run. Throws PortcullisError for an inconsistent run. */
export function renderJUnit(run: RunResult, name = 'Portcullis conformance'): string {
  assertReportableRun(run);
  const all = runTotals(run.tests);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attributes({ name, tests: all.total, failures: all.failed, errors: 0, skipped: all.skipped, time: seconds(all.durationMs), timestamp: run.startedAt })}>`,
  ];
  for (const [suite, tests] of testsBySuite(run.tests)) {
    const totals = runTotals(tests);
    lines.push(`  <testsuite${attributes({ name: suite, tests: totals.total, failures: totals.failed, errors: 0, skipped: totals.skipped, time: seconds(totals.durationMs), timestamp: run.startedAt })}>`);
    lines.push(...runProperties(run));
    for (const test of tests) lines.push(...renderTestcase(test));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

/** Writes the JUnit document to `file`, creating its directory. */
export async function writeJUnit(run: RunResult, file: string): Promise<void> {
  const xml = renderJUnit(run);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, xml, 'utf8');
}
