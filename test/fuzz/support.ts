// Shared machinery of the fuzz campaigns: the seed (printed, reproducible), random
// choices, JSON mutations, and a watchdog that runs a campaign in a worker thread so
// a hang (an endless loop, a catastrophic regex) is caught and reported instead of
// freezing mocha, whose own timeout cannot fire while synchronous code runs.
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../proxy/clienthello-builder.js';

export type Random = () => number;
export { seededRandom };

/** FUZZ_SEED=<n> reproduces a run; FUZZ_SEED=random explores. */
export function chooseSeed(defaultSeed: number): number {
  const configured = process.env.FUZZ_SEED;
  if (configured === undefined || configured === '') return defaultSeed;
  if (configured === 'random') return (Math.random() * 2 ** 32) >>> 0;
  return Number(configured) >>> 0;
}

/** FUZZ_ITERATIONS=<n> runs a longer campaign (test:chaos sets it). */
export function chooseIterations(defaultIterations: number): number {
  const configured = Number(process.env.FUZZ_ITERATIONS);
  return Number.isFinite(configured) && configured > 0 ? configured : defaultIterations;
}

export const randomInt = (random: Random, below: number): number => Math.floor(random() * below);
export const pick = <T>(random: Random, items: readonly T[]): T => items[randomInt(random, items.length)]!;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const weirdStrings = ['', ' ', '*', '.', '-', '/', '//', '..', '%00', '\u0000', 'ä.example.com', 'a'.repeat(300), '-----BEGIN PRIVATE KEY-----', '(', '[a-', '(a+)+$', '\\', 'x'.repeat(5000)];
const weirdNumbers = [0, -1, 1, 0.5, 65535, 65536, 2 ** 31, 2 ** 53, -0, 1e308, Number.MAX_SAFE_INTEGER];

/** Any JSON value, small. */
export function randomJson(random: Random, depth = 0): Json {
  switch (randomInt(random, depth > 2 ? 4 : 6)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick(random, weirdNumbers);
    case 3: return pick(random, weirdStrings);
    case 4: return Array.from({ length: randomInt(random, 3) }, () => randomJson(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: randomInt(random, 3) }, (_, i) => [`k${i}`, randomJson(random, depth + 1)]));
  }
}

export interface Slot {
  parent: Json[] | { [key: string]: Json };
  key: string | number;
  value: Json;
  /** Object keys from the root, e.g. ['listeners', 'serverBlocks', 'tls'] (array indexes left out). */
  fieldPath: string[];
}

/** Every value inside `root` (not the root itself), with where it sits. */
export function slotsOf(root: Json): Slot[] {
  const slots: Slot[] = [];
  const walk = (value: Json, fieldPath: string[]) => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        slots.push({ parent: value, key: index, value: item, fieldPath });
        walk(item, fieldPath);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const path = [...fieldPath, key];
        slots.push({ parent: value, key, value: item, fieldPath: path });
        walk(item, path);
      }
    }
  };
  walk(root, []);
  return slots;
}

export function setSlot(slot: Slot, value: Json | undefined): void {
  if (Array.isArray(slot.parent)) {
    if (value === undefined) slot.parent.splice(slot.key as number, 1);
    else slot.parent[slot.key as number] = value;
  } else if (value === undefined) {
    delete slot.parent[slot.key as string];
  } else {
    slot.parent[slot.key as string] = value;
  }
}

export const clone = <T>(value: T): T => structuredClone(value);

/** A value of the same JSON type as `value`, drawn from hostile pools. */
export function sameTypeValue(random: Random, value: Json, samples: readonly Json[]): Json {
  const sameType = samples.filter((s) => typeof s === typeof value && Array.isArray(s) === Array.isArray(value) && (s === null) === (value === null));
  if (sameType.length > 0 && random() < 0.6) return clone(pick(random, sameType));
  if (typeof value === 'string') return pick(random, weirdStrings);
  if (typeof value === 'number') return pick(random, weirdNumbers);
  if (typeof value === 'boolean') return !value;
  return randomJson(random);
}

export interface CampaignProgress {
  type: 'progress';
  index: number;
}
export interface CampaignDone<S> {
  type: 'done';
  summary: S;
}
export type CampaignMessage<S> = CampaignProgress | CampaignDone<S>;

/**
 * Runs `workerFile` (a compiled worker module) with `workerData`; resolves with its
 * summary. Rejects if it throws, exits early, or sends no progress for `stallMs` (a
 * hang: the message names the input index, which the seed reproduces).
 */
export function runCampaign<S>(workerFile: URL, workerData: unknown, stallMs: number): Promise<S> {
  return new Promise<S>((resolve, reject) => {
    const worker = new Worker(workerFile, { workerData });
    let lastIndex = -1;
    let settled = false;
    const finish = (error: Error | undefined, summary?: S) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (error) reject(error);
      else resolve(summary!);
    };
    let timer = setTimeout(() => undefined, 0);
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new Error(`the campaign made no progress for ${stallMs} ms after input ${lastIndex}: input ${lastIndex + 1} hangs (rerun with the same seed to reproduce)`)), stallMs);
    };
    arm();
    worker.on('message', (message: CampaignMessage<S>) => {
      if (message.type === 'progress') {
        lastIndex = message.index;
        arm();
      } else {
        finish(undefined, message.summary);
      }
    });
    worker.on('error', (error) => finish(error));
    worker.on('exit', (code) => finish(new Error(`the campaign worker exited with code ${code} after input ${lastIndex}`)));
  });
}
