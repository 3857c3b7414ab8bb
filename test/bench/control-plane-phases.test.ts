// bench/control-plane.ts: splitting the control-plane probes' time into the controller's
// and the proxy's phases. The proxy counts an apply before it answers the PUT, the
// controller counts the program when the answer arrives, so a reading taken just as the
// last probe is served can find the proxy one ahead; the split must wait for the
// controller instead of giving up.
import { expect } from 'chai';
import { phasesSince, type PhaseTotals } from '../../bench/control-plane.js';
import { programPhases } from '../../src/controller/metrics.js';
import { applyPhases } from '../../src/proxy/metrics.js';

/** Totals as both sides' metrics would read: `programs` counted by the controller, `applies` by the proxy, `secondsEach` in every phase. */
function totals(programs: number, applies: number, secondsEach: number): PhaseTotals {
  const seconds = {} as PhaseTotals['seconds'];
  for (const phase of programPhases) seconds[phase] = secondsEach;
  for (const phase of applyPhases) seconds[`proxy ${phase}`] = secondsEach;
  return { programs, applies, seconds };
}

describe('bench: control-plane phases', function () {
  it('reads again until the controller has counted the program the proxy already applied', async () => {
    const before = totals(10, 10, 1);
    const readings = [totals(49, 50, 2), totals(49, 50, 2), totals(50, 50, 3)];
    let reads = 0;
    const lines: string[] = [];
    const means = await phasesSince(before, async () => readings[Math.min(reads++, readings.length - 1)]!, (line) => lines.push(line));
    expect(reads).to.equal(3);
    expect(means?.programs).to.equal(40);
    // 2 s more in each phase over 40 programs: 50 ms each.
    for (const phase of programPhases) expect(means?.ms[phase]).to.be.closeTo(50, 1e-9);
    expect(lines).to.deep.equal([]);
  });

  it('gives up after its settle time, and says how many each side counted', async () => {
    const lines: string[] = [];
    const means = await phasesSince(totals(0, 0, 0), async () => totals(40, 42, 1), (line) => lines.push(line), 300);
    expect(means).to.equal(undefined);
    expect(lines).to.deep.equal(['the controller counted 40 programs and the proxy 42 applies: the phases cannot be split']);
  });
});
