import { expect } from 'chai';
import { configure } from 'safe-stable-stringify';
import { sameJson } from '../../src/lib/same-json.js';

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
    // The same value as the API server might return it: keys in another order, times as strings.
    const reordered = (v: unknown): unknown => {
      if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
      if (Array.isArray(v)) return v.map(reordered);
      if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reordered(x)]));
      return v;
    };
    const top = () => { let v: unknown; do v = value(0); while (typeof v !== 'object' || v === null || v instanceof Date); return v; };
    let equal = 0;
    for (let i = 0; i < 5000; i++) {
      const a = top();
      const b = random() < 0.5 ? reordered(a) : top();
      const expected = canonical(a) === canonical(b);
      if (expected) equal++;
      expect(sameJson(a, b), `${canonical(a)} vs ${canonical(b)}`).to.equal(expected);
    }
    expect(equal, 'the generator makes both equal and different pairs').to.be.within(500, 4500);
  });
});
