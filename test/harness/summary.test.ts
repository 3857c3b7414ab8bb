import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendStepSummary, markdownCell, markdownCodeBlock, renderMarkdownSummary } from '../../src/harness/reporting/summary.js';
import { failedTest, passedTest, runOf, skippedTest } from './run-fixture.js';

describe('harness reporting: Markdown summary', () => {
  it('writes a totals line, one row per test and each failure with its evidence', () => {
    expect(renderMarkdownSummary(runOf([passedTest, failedTest, skippedTest]))).to.equal(
      [
        '## Portcullis conformance: 1 passed, 1 failed, 1 skipped',
        '',
        'portcullis v0.1.0 · Gateway API v1.6.3 (experimental) · provider local · 125.5 s',
        '',
        '| Suite | Test | Profile | Level | Result | Time |',
        '|---|---|---|---|---|---|',
        '| termination | `HTTPRouteTerminatesWithoutSNI` scenario 1 with no SNI, routed by Host | GATEWAY-HTTP | Core | ✅ passed | 1.3 s |',
        '| termination | `GatewaySecretRotation` rotated Secret served within MaxTimeToConsistency | GATEWAY-HTTP | Core | ❌ failed: expected serial 02, saw 01 &lt;after 30s> | 30.0 s |',
        '| passthrough | `TLSRouteMixedMode` terminate and passthrough on one port | GATEWAY-TLS | Extended | ⏭️ skipped: feature TLSRouteModeMixed is not supported by GatewayClass portcullis | 0.0 s |',
        '',
        '### Failures',
        '',
        '<details><summary><code>GatewaySecretRotation</code>: expected serial 02, saw 01 &lt;after 30s></summary>',
        '',
        '```',
        'served: CN=demo.example.com serial=01',
        'conditions: Programmed=True',
        '```',
        '',
        '</details>',
        '',
      ].join('\n'),
    );
  });

  it('has no failure section when nothing failed', () => {
    expect(renderMarkdownSummary(runOf([passedTest]))).not.to.contain('### Failures');
  });

  it('keeps a cell on one line and inside its column', () => {
    expect(markdownCell('a | b\nc\\d <img>')).to.equal('a \\| b c\\\\d &lt;img>');
  });

  it('fences a block with more backticks than it contains', () => {
    expect(markdownCodeBlock('x ``` y\n')).to.equal('````\nx ``` y\n````');
  });

  it('appends to $GITHUB_STEP_SUMMARY when set, and does nothing when not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-summary-'));
    try {
      const file = join(dir, 'step-summary.md');
      await writeFile(file, 'before\n');
      expect(await appendStepSummary('## table', { GITHUB_STEP_SUMMARY: file })).to.equal(file);
      expect(await readFile(file, 'utf8')).to.equal('before\n## table\n');
      expect(await appendStepSummary('## table', {})).to.equal(undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
