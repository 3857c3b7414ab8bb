// Worker of validate-fuzz.test.ts: mutates the valid IR fixture `iterations` times and
// checks each result of validateConfig (see checkValidation). Posts progress per input
// for the watchdog, then a summary.
import { parentPort, workerData } from 'node:worker_threads';
import { validateConfig } from '../../src/ir/validate.js';
import { validConfig } from '../ir/fixtures.js';
import type { TestPki } from '../ir/pki.js';
import { checkValidation, mutateConfig, type ValidateFuzzSummary } from './validate-fuzz-cases.js';
import { seededRandom, slotsOf, type Json } from './support.js';

const { seed, iterations, pki, keyLines } = workerData as { seed: number; iterations: number; pki: TestPki; keyLines: string[] };
const random = seededRandom(seed);
const base = validConfig(pki) as unknown as Json;
const samples = slotsOf(base).map((slot) => slot.value);
const summary: ValidateFuzzSummary = { tried: 0, accepted: 0, rejected: 0, codes: {}, failures: [] };

for (let index = 0; index < iterations; index++) {
  parentPort!.postMessage({ type: 'progress', index: index - 1 });
  const input = mutateConfig(random, base, samples);
  let failure: string | undefined;
  try {
    const result = validateConfig(input);
    failure = checkValidation(result, keyLines);
    if (result.ok) summary.accepted++;
    else {
      summary.rejected++;
      for (const problem of result.problems) summary.codes[problem.code] = (summary.codes[problem.code] ?? 0) + 1;
    }
  } catch (error) {
    failure = `validateConfig threw: ${(error as Error).stack ?? String(error)}`;
  }
  summary.tried++;
  if (failure && summary.failures.length < 5) summary.failures.push({ index, failure, input: typeof input === 'string' ? input : JSON.stringify(input) });
}
parentPort!.postMessage({ type: 'done', summary });
