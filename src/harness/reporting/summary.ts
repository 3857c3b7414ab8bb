// A Markdown summary of a run: one table row per test, then each failure's evidence.
// On GitHub Actions it is appended to the job summary ($GITHUB_STEP_SUMMARY), so a
// reader sees what failed without downloading the JUnit artifact.
import { appendFile } from 'node:fs/promises';
import { runTotals, type RunResult, type TestResult } from './results.js';

const stateLabel: Record<TestResult['state'], string> = {
  passed: '✅ passed',
  failed: '❌ failed',
  skipped: '⏭️ skipped',
};

/** Text for one table cell: no line breaks, no column separators, no raw HTML. */
export function markdownCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\r?\n|\r/g, ' ')
    .trim();
}

/** A fenced code block whose fence is longer than any backtick run inside it. */
export function markdownCodeBlock(text: string): string {
  const longestRun = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}\n${text.replace(/\n$/, '')}\n${fence}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function resultCell(test: TestResult): string {
  if (test.state === 'skipped') return markdownCell(`${stateLabel.skipped}: ${test.skipReason ?? ''}`);
  if (test.state === 'failed') return markdownCell(`${stateLabel.failed}: ${test.failure?.message ?? ''}`);
  return stateLabel.passed;
}

function row(test: TestResult): string {
  const cells = [
    markdownCell(test.suite),
    `\`${test.shortName.replace(/`/g, '')}\` ${markdownCell(test.title)}`.trim(),
    markdownCell(test.profile),
    test.extended ? 'Extended' : 'Core',
    resultCell(test),
    seconds(test.durationMs),
  ];
  return `| ${cells.join(' | ')} |`;
}

function failureSection(test: TestResult): string[] {
  return [
    `<details><summary><code>${markdownCell(test.shortName)}</code>: ${markdownCell(test.failure?.message ?? 'failed')}</summary>`,
    '',
    markdownCodeBlock(test.failure?.details ?? ''),
    '',
    '</details>',
  ];
}

export function renderMarkdownSummary(run: RunResult): string {
  const totals = runTotals(run.tests);
  const wallMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  const failed = run.tests.filter((test) => test.state === 'failed');
  const lines = [
    `## Portcullis conformance: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
    '',
    markdownCell(
      `${run.implementation.project} ${run.implementation.version} · Gateway API ${run.gatewayAPIVersion} (${run.gatewayAPIChannel}) · provider ${run.provider} · ${seconds(Number.isFinite(wallMs) ? wallMs : totals.durationMs)}`,
    ),
    '',
    '| Suite | Test | Profile | Level | Result | Time |',
    '|---|---|---|---|---|---|',
    ...run.tests.map(row),
  ];
  if (failed.length > 0) lines.push('', '### Failures', '', ...failed.flatMap((test) => [...failureSection(test), '']));
  return lines.join('\n').replace(/\n*$/, '\n');
}

/**
 * Appends `markdown` to the GitHub Actions job summary when `GITHUB_STEP_SUMMARY`
 * names a file; returns that path, or undefined outside Actions.
 */
export async function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return undefined;
  await appendFile(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`, 'utf8');
  return file;
}
