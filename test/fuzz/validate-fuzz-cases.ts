// The mutations and the properties of the IR validator fuzz (shared by the worker and
// the regression replay).
import { IrProblem, IrProblemCode } from '../../src/ir/problems.js';
import type { ValidationResult } from '../../src/ir/validate.js';
import { clone, pick, randomInt, randomJson, sameTypeValue, setSlot, slotsOf, type Json, type Random } from './support.js';

export interface ValidateFuzzSummary {
  tried: number;
  accepted: number;
  rejected: number;
  codes: Record<string, number>;
  failures: { index: number; failure: string; input: string }[];
}

const knownCodes = new Set<string>(Object.values(IrProblemCode));

/** undefined if the result keeps the validator's promises; else what broke. */
export function checkValidation(result: ValidationResult, keyLines: readonly string[]): string | undefined {
  if (result.ok === true) return undefined;
  if ((result.ok as unknown) !== false) return `ok is ${String((result as { ok: unknown }).ok)}`;
  if (!Array.isArray(result.problems) || result.problems.length === 0) return 'rejected with no problems';
  for (const problem of result.problems) {
    if (!(problem instanceof IrProblem)) return `a problem is not an IrProblem: ${String(problem)}`;
    if (!knownCodes.has(problem.code)) return `unknown problem code ${problem.code}`;
    // The validator catches a throw of its own checks and reports UNREADABLE_INPUT; for
    // parsed JSON that means one of its checks crashed.
    if (problem.code === IrProblemCode.UNREADABLE_INPUT) return `a check threw on JSON input: ${problem.message}`;
    if (typeof problem.path !== 'string' || (problem.path !== '' && !problem.path.startsWith('/'))) return `a path is not a JSON Pointer: ${problem.path}`;
    if (typeof problem.message !== 'string' || problem.message.length === 0) return `an empty message at ${problem.path}`;
    if (problem.message.includes('\n')) return `a message of several lines at ${problem.path}: ${problem.message}`;
    for (const line of keyLines) if (problem.message.includes(line)) return `a message at ${problem.path} quotes private key material`;
  }
  return undefined;
}

/** One to four mutations of `base` (never changed): leaves, deletions, insertions, splices, text edits. */
export function mutateConfig(random: Random, base: Json, samples: readonly Json[]): Json {
  let config = clone(base);
  const rounds = 1 + randomInt(random, 4);
  for (let round = 0; round < rounds; round++) {
    const slots = slotsOf(config);
    if (slots.length === 0) return config;
    const slot = pick(random, slots);
    switch (randomInt(random, 8)) {
      case 0:
      case 1: // a value of the same type
        setSlot(slot, sameTypeValue(random, slot.value, samples));
        break;
      case 2: // a value of any type
        setSlot(slot, randomJson(random));
        break;
      case 3: // deleted (a required field, an array element)
        setSlot(slot, undefined);
        break;
      case 4: // an unknown field
        if (slot.value !== null && typeof slot.value === 'object' && !Array.isArray(slot.value)) slot.value[pick(random, ['extra', 'Port', '__proto__', 'constructor'])] = randomJson(random);
        break;
      case 5: // an array element duplicated (duplicate names, ids, ports)
        if (Array.isArray(slot.parent)) slot.parent.push(clone(slot.value));
        break;
      case 6: // a subtree moved elsewhere (a route where a server block belongs)
        setSlot(slot, clone(pick(random, slots).value));
        break;
      default: { // a text edit of the JSON, kept when it still parses
        const text = JSON.stringify(config);
        const at = randomInt(random, text.length);
        const edited = text.slice(0, at) + pick(random, ['', '0', '"', '-1', 'null', '[]', '{}', '9e999']) + text.slice(at + randomInt(random, 3));
        try {
          config = JSON.parse(edited) as Json;
        } catch {
          // not JSON any more: the admin API would answer 400 before validating
        }
      }
    }
  }
  return config;
}
