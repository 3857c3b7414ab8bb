// Fuzzes the IR validator (src/ir/validate.ts) with random mutations of a valid
// configuration: it must never throw, never hang, and always answer ok or a list of
// well-formed problems that quote no private key. The seed is printed; rerun with
// FUZZ_SEED=<seed>, explore with FUZZ_SEED=random FUZZ_ITERATIONS=<n>. A failing input
// found once is kept in test/fuzz/regressions/validate-*.json (PEMs as placeholders)
// and replayed on every run.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';
import { validateConfig } from '../../src/ir/validate.js';
import { keyMaterialLines, testPki, type TestPki } from '../ir/pki.js';
import { validConfig } from '../ir/fixtures.js';
import { checkValidation, type ValidateFuzzSummary } from './validate-fuzz-cases.js';
import { chooseIterations, chooseSeed, runCampaign } from './support.js';

const regressionDir = join(packageRoot, 'test', 'fuzz', 'regressions');

/**
 * A kept input: the valid fixture with some values set, given by JSON Pointer; a value
 * "<rsa.key>" (or rsa.cert, ecdsa.key, ecdsa.cert) in a string stands for that PEM of this run's PKI.
 */
interface KeptInput {
  found: string;
  set: { path: string; value: unknown }[];
}

function keptInput(kept: KeptInput, pki: TestPki): unknown {
  const pems: Record<string, string> = { '<rsa.cert>': pki.rsa.certPem, '<rsa.key>': pki.rsa.keyPem, '<ecdsa.cert>': pki.ecdsa.certPem, '<ecdsa.key>': pki.ecdsa.keyPem };
  const config = validConfig(pki) as unknown as Record<string, unknown>;
  for (const { path, value } of kept.set) {
    const keys = path.split('/').slice(1);
    let parent = config as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
    parent[keys.at(-1)!] = typeof value === 'string' ? value.replace(/<(rsa|ecdsa)\.(cert|key)>/g, (placeholder) => pems[placeholder] ?? placeholder) : value;
  }
  return config;
}

/** A failing input as shown: PEMs replaced by placeholders, cut short. */
function scrubbed(input: string, pki: TestPki): string {
  let text = input;
  for (const [pem, name] of [[pki.rsa.keyPem, '<rsa.key>'], [pki.rsa.certPem, '<rsa.cert>'], [pki.ecdsa.keyPem, '<ecdsa.key>'], [pki.ecdsa.certPem, '<ecdsa.cert>']] as const) {
    text = text.split(JSON.stringify(pem).slice(1, -1)).join(name);
  }
  return text.length > 3000 ? `${text.slice(0, 3000)}…` : text;
}

describe('fuzz: the IR validator never throws, never hangs, and reports well-formed problems', function () {
  this.timeout(10 * 60 * 1000);

  it('keeps its promises over seeded random mutations of a valid configuration', async function () {
    const seed = chooseSeed(0x1a11d);
    const iterations = chooseIterations(1000);
    const pki = testPki();
    console.log(`      validator fuzz: seed ${seed} (FUZZ_SEED=${seed} reproduces), ${iterations} inputs`);
    const summary = await runCampaign<ValidateFuzzSummary>(new URL('./validate-fuzz-worker.js', import.meta.url), { seed, iterations, pki, keyLines: keyMaterialLines(pki) }, 30_000);
    console.log(`      validator fuzz: ${summary.tried} tried, ${summary.accepted} accepted, ${summary.rejected} rejected, ${Object.keys(summary.codes).length} distinct problem codes`);
    const shown = summary.failures.map((f) => `input ${f.index}: ${f.failure.slice(0, 300)}\n  ${scrubbed(f.input, pki)}`).join('\n');
    expect(summary.failures.length, `seed ${seed}:\n${shown}`).to.equal(0);
    expect(summary.tried).to.equal(iterations);
    // The mutations must reach both sides, or the campaign tests nothing.
    expect(summary.accepted, 'some mutations keep the configuration valid').to.be.greaterThan(0);
    expect(Object.keys(summary.codes).length, 'the mutations reach many different checks').to.be.greaterThan(15);
  });

  it('replays the kept regression inputs', function () {
    const pki = testPki();
    for (const file of readdirSync(regressionDir).filter((f) => f.startsWith('validate-') && f.endsWith('.json'))) {
      const input = keptInput(JSON.parse(readFileSync(join(regressionDir, file), 'utf8')) as KeptInput, pki);
      const result = validateConfig(input);
      expect(result.ok, `${file} is rejected`).to.equal(false);
      expect(checkValidation(result, keyMaterialLines(pki)), file).to.equal(undefined);
    }
  });
});
