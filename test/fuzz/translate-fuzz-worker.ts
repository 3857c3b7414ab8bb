// Worker of translate-fuzz.test.ts: loads the golden inputs, translates `iterations`
// mutated snapshots, and checks each (see translate-fuzz.test.ts). Posts progress per
// input for the watchdog, then a summary.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { packageRoot } from '../../src/lib/paths.js';
import { translate, type TranslateOptions } from '../../src/controller/translate/index.js';
import type { Snapshot } from '../../src/controller/gatewayapi-types.js';
import { validateConfig } from '../../src/ir/validate.js';
import { loadGoldenInput } from '../controller/golden-support.js';
import { SnapshotMutator } from './translate-fuzz-cases.js';
import { seededRandom } from './support.js';

export interface TranslateFuzzSummary {
  cases: number;
  tried: number;
  listeners: number;
  routes: number;
  failures: { index: number; base: string; failure: string; snapshot: string }[];
}

const { seed, iterations } = workerData as { seed: number; iterations: number };
const goldenRoot = join(packageRoot, 'test', 'golden');
const names = readdirSync(goldenRoot).filter((entry) => existsSync(join(goldenRoot, entry, 'in.yaml'))).sort();
const inputs = await Promise.all(names.map((name) => loadGoldenInput(readFileSync(join(goldenRoot, name, 'in.yaml'), 'utf8'))));
const corpus = inputs.map((input) => input.snapshot);
const mutator = new SnapshotMutator(corpus);
const random = seededRandom(seed);
const summary: TranslateFuzzSummary = { cases: names.length, tried: 0, listeners: 0, routes: 0, failures: [] };

/** Gateways of merged cases get one of two addresses, so sockets are shared and contested. */
function optionsFor(base: TranslateOptions): TranslateOptions {
  return { ...base, gateway: { ...base.gateway, gatewayAddress: (gateway) => (gateway.metadata.annotations?.['portcullis.test/no-address'] ? { reason: 'AddressNotAssigned', message: 'no address left' } : { address: gateway.metadata.name.length % 2 === 0 ? '127.16.0.10' : '127.16.0.11' }) } };
}

function check(snapshot: Snapshot, options: TranslateOptions, index: number): string | undefined {
  const before = JSON.stringify(snapshot);
  const translation = translate(snapshot, options);
  const validation = validateConfig(JSON.parse(JSON.stringify({ version: 'fuzz', listeners: translation.listeners })));
  if (!validation.ok) return `the IR fails the proxy's validator: ${validation.problems.slice(0, 5).map((p) => `${p.path}: ${p.message}`).join('; ')}`;
  JSON.stringify(translation.statuses);
  if (JSON.stringify(snapshot) !== before) return 'translate changed its input';
  // Pure: the same snapshot gives the same translation (checked on every tenth input).
  if (index % 10 === 0 && !isDeepStrictEqual(JSON.parse(JSON.stringify(translate(snapshot, options))), JSON.parse(JSON.stringify(translation)))) return 'two translations of one snapshot differ';
  summary.listeners += translation.listeners.length;
  summary.routes += translation.listeners.reduce((n, l) => n + l.httpRoutes.length + l.grpcRoutes.length + l.tcpRoutes.length + l.tlsPassthrough.length, 0);
  return undefined;
}

for (let index = 0; index < iterations; index++) {
  parentPort!.postMessage({ type: 'progress', index: index - 1 });
  const { base, snapshot } = mutator.mutate(random);
  let failure: string | undefined;
  try {
    failure = check(snapshot, optionsFor(inputs[base]!.options), index);
  } catch (error) {
    failure = `translate threw: ${(error as Error).stack ?? String(error)}`;
  }
  summary.tried++;
  if (failure && summary.failures.length < 5) summary.failures.push({ index, base: names[base]!, failure, snapshot: JSON.stringify(snapshot) });
}
parentPort!.postMessage({ type: 'done', summary });
