// Fuzzes the translator (src/controller/translate) with random Gateway API and Ingress
// objects: the golden cases' objects mixed across cases and edited field by field (see
// translate-fuzz-cases.ts). translate must never throw, never hang, never change its
// input, give the same answer twice, and every IR it produces must pass the proxy's
// validator. The seed is printed; rerun with FUZZ_SEED=<seed>, explore with
// FUZZ_SEED=random FUZZ_ITERATIONS=<n>. A failing input is kept as a golden case
// (test/golden/fuzz-*), which then runs on every npm test.
import { expect } from 'chai';
import type { TranslateFuzzSummary } from './translate-fuzz-worker.js';
import { chooseIterations, chooseSeed, runCampaign } from './support.js';

describe('fuzz: the translator never throws or hangs, and its IR always passes the validator', function () {
  this.timeout(10 * 60 * 1000);

  it('keeps its promises over seeded random mixes and edits of the golden inputs', async function () {
    const seed = chooseSeed(0x7a5e);
    const iterations = chooseIterations(300);
    console.log(`      translator fuzz: seed ${seed} (FUZZ_SEED=${seed} reproduces), ${iterations} snapshots`);
    const summary = await runCampaign<TranslateFuzzSummary>(new URL('./translate-fuzz-worker.js', import.meta.url), { seed, iterations }, 60_000);
    console.log(`      translator fuzz: ${summary.tried} snapshots from ${summary.cases} golden cases, ${summary.listeners} listeners and ${summary.routes} routes produced`);
    const shown = summary.failures.map((f) => `input ${f.index} (from ${f.base}): ${f.failure.slice(0, 1500)}\n  ${f.snapshot.replace(/"(tls\.(crt|key))":"[^"]{40,}"/g, '"$1":"…"').slice(0, 4000)}`).join('\n');
    expect(summary.failures.length, `seed ${seed}:\n${shown}`).to.equal(0);
    expect(summary.tried).to.equal(iterations);
    expect(summary.routes, 'the mutations leave routes to translate').to.be.greaterThan(iterations / 4);
  });
});
