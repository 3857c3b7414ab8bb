// Backend and endpoint choice: weights respected exactly over a cycle, zero weights never chosen.
import { expect } from 'chai';
import { pickWeightedRandom, RoundRobin, SmoothWeightedRoundRobin } from '../../src/proxy/load-balancing.js';

describe('load-balancing', () => {
  it('smooth weighted round-robin: exact proportions over sum(weights) picks, interleaved', () => {
    const wrr = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 5 },
      { value: 'b', weight: 1 },
      { value: 'c', weight: 1 },
    ]);
    const picks = Array.from({ length: 7 }, () => wrr.next());
    expect(picks).to.deep.equal(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('smooth weighted round-robin: weight 0 is never chosen; nothing when all are 0', () => {
    const wrr = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 0 },
      { value: 'b', weight: 3 },
    ]);
    expect(new Set(Array.from({ length: 10 }, () => wrr.next()))).to.deep.equal(new Set(['b']));
    expect(new SmoothWeightedRoundRobin([{ value: 'a', weight: 0 }]).next()).to.equal(undefined);
  });

  it('gateway-size weights (up to 1,000,000) keep proportions', () => {
    const wrr = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 900_000 },
      { value: 'b', weight: 100_000 },
    ]);
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 1000; i++) counts[wrr.next() as 'a' | 'b']++;
    expect(counts).to.deep.equal({ a: 900, b: 100 });
  });

  it('weighted random follows the weights and skips zero weights', () => {
    const items = [
      { value: 'a', weight: 0 },
      { value: 'b', weight: 1 },
      { value: 'c', weight: 3 },
    ];
    expect(pickWeightedRandom(items, () => 0)).to.equal('b');
    expect(pickWeightedRandom(items, () => 0.24)).to.equal('b');
    expect(pickWeightedRandom(items, () => 0.26)).to.equal('c');
    expect(pickWeightedRandom(items, () => 0.999999)).to.equal('c');
    expect(pickWeightedRandom([{ value: 'a', weight: 0 }], () => 0.5)).to.equal(undefined);
  });

  it('round-robin attempts: distinct endpoints, rotating start', () => {
    const rr = new RoundRobin(['e1', 'e2', 'e3']);
    expect(rr.attempts(2)).to.deep.equal(['e1', 'e2']);
    expect(rr.attempts(5)).to.deep.equal(['e2', 'e3', 'e1']);
    expect(rr.attempts(1)).to.deep.equal(['e3']);
    expect(new RoundRobin([]).attempts(3)).to.deep.equal([]);
  });
});
