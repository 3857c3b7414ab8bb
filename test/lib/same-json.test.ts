import { expect } from 'chai';
import { configure } from 'safe-stable-stringify';
import { sameJson, sameParsedJson } from '../../src/lib/same-json.js';

describe('sameJson: equal as the JSON the API server would store, whatever the key order', () => {
  const condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 3, lastTransitionTime: '2026-11-29T03:00:00Z' };

  it('ignores key order, as the API server returns custom objects\' fields alphabetically', () => {
    const sorted = Object.fromEntries(Object.entries(condition).sort(([a], [b]) => a.localeCompare(b)));
    expect(sameJson({ parents: [{ conditions: [condition] }] }, { parents: [{ conditions: [sorted] }] })).to.equal(true);
  });

  it('treats a field whose value is undefined as absent, and an undefined array element as null', () => {
    expect(sameJson({ ...condition, observedGeneration: undefined }, { ...condition, observedGeneration: undefined })).to.equal(true);
    const { observedGeneration: _dropped, ...without } = condition;
    expect(sameJson({ ...condition, observedGeneration: undefined }, without)).to.equal(true);
    expect(sameJson(without, { ...condition, observedGeneration: undefined })).to.equal(true);
    expect(sameJson([undefined, 1], [null, 1])).to.equal(true);
    expect(sameJson({ a: null }, {})).to.equal(false);
  });

  it('compares a Date as its ISO time to the second when it has no milliseconds', () => {
    expect(sameJson({ t: new Date('2026-11-29T03:00:00Z') }, { t: '2026-11-29T03:00:00Z' })).to.equal(true);
    expect(sameJson({ t: new Date('2026-11-29T03:00:00.250Z') }, { t: '2026-11-29T03:00:00.250Z' })).to.equal(true);
    expect(sameJson({ t: new Date('2026-11-29T03:00:01Z') }, { t: '2026-11-29T03:00:00Z' })).to.equal(false);
  });

  it('sees every difference: a value, a field more or less, an element more, a type', () => {
    const base = { parents: [{ controllerName: 'c', conditions: [condition] }] };
    const variants: unknown[] = [
      { parents: [{ controllerName: 'c', conditions: [{ ...condition, status: 'False' }] }] },
      { parents: [{ controllerName: 'c', conditions: [{ ...condition, extra: 1 }] }] },
      { parents: [{ controllerName: 'c', conditions: [condition, condition] }] },
      { parents: [{ controllerName: 'c' }] },
      { parents: [{ controllerName: 'c', conditions: { 0: condition } }] },
      { parents: [{ controllerName: 'c', conditions: [{ ...condition, observedGeneration: '3' }] }] },
      { parents: [] },
      {},
      null,
    ];
    for (const variant of variants) {
      expect(sameJson(base, variant), JSON.stringify(variant)).to.equal(false);
      expect(sameJson(variant, base), JSON.stringify(variant)).to.equal(false);
    }
  });

  it('agrees with comparing sorted serializations on generated statuses', () => {
    // The comparison this replaces: both sides serialized with sorted keys.
    const stable = configure({ deterministic: true });
    const canonical = (value: unknown) => stable(value, function (this: Record<string, unknown>, key: string, v: unknown) {
      return this[key] instanceof Date ? (v as string).replace('.000Z', 'Z') : v;
    });
    let equal = 0;
    for (const [a, b] of generatedPairs(5000)) {
      const expected = canonical(a) === canonical(b);
      if (expected) equal++;
      expect(sameJson(a, b), `${canonical(a)} vs ${canonical(b)}`).to.equal(expected);
    }
    expect(equal, 'the generator makes both equal and different pairs').to.be.within(500, 4500);
  });
});

describe('sameParsedJson: sameJson for values straight from JSON.parse', () => {
  it('agrees with sameJson on generated values once they went through JSON', () => {
    const parsed = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
    let equal = 0;
    for (const [a, b] of generatedPairs(5000)) {
      const [left, right] = [parsed(a), parsed(b)];
      const expected = sameJson(left, right);
      if (expected) equal++;
      expect(sameParsedJson(left, right), `${JSON.stringify(left)} vs ${JSON.stringify(right)}`).to.equal(expected);
    }
    expect(equal, 'the generator makes both equal and different pairs').to.be.within(500, 4500);
  });

  it('sees a field more on either side, an array against an object with the same keys, and null against an object', () => {
    expect(sameParsedJson({ a: 1 }, { a: 1, b: 2 })).to.equal(false);
    expect(sameParsedJson({ a: 1, b: 2 }, { a: 1 })).to.equal(false);
    expect(sameParsedJson(['x'], { 0: 'x' })).to.equal(false);
    expect(sameParsedJson({ 0: 'x' }, ['x'])).to.equal(false);
    expect(sameParsedJson(null, {})).to.equal(false);
    expect(sameParsedJson({ a: null }, { a: {} })).to.equal(false);
  });
});

/** Random status-like values, each paired with itself as the API server might return it (keys reordered, times as strings) or with another. */
function* generatedPairs(count: number): Generator<[unknown, unknown]> {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)]!;
  const value = (depth: number): unknown => {
    const kind = depth > 2 ? pick(['s', 'n', 'u', 'b']) : pick(['s', 'n', 'u', 'b', 'o', 'a', 'd']);
    if (kind === 's') return pick(['True', 'False', 'Accepted', '']);
    if (kind === 'n') return pick([0, 1, 3]);
    if (kind === 'u') return pick([undefined, null]);
    if (kind === 'b') return pick([true, false]);
    if (kind === 'd') return pick([new Date('2026-11-29T03:00:00Z'), '2026-11-29T03:00:00Z']);
    if (kind === 'a') return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
    const object: Record<string, unknown> = {};
    for (const key of ['type', 'status', 'reason'].filter(() => random() < 0.6)) object[key] = value(depth + 1);
    return object;
  };
  const reordered = (v: unknown): unknown => {
    if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
    if (Array.isArray(v)) return v.map(reordered);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reordered(x)]));
    return v;
  };
  const top = () => { let v: unknown; do v = value(0); while (typeof v !== 'object' || v === null || v instanceof Date); return v; };
  for (let i = 0; i < count; i++) {
    const a = top();
    yield [a, random() < 0.5 ? reordered(a) : top()];
  }
}
