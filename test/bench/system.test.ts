// bench/lib/system.ts: what the data-plane bench reads of the machine — the load cores'
// idle share (from /proc/stat) and the taskset CPU lists it is computed over.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { commandExists } from '../../src/lib/process.js';
import { cpuList, cpuTicks } from '../../bench/lib/system.js';

describe('bench: machine readings', function () {
  this.timeout(20_000);

  it('reads taskset CPU lists: one CPU, ranges and commas', () => {
    expect(cpuList('1')).to.deep.equal([1]);
    expect(cpuList('1-3')).to.deep.equal([1, 2, 3]);
    expect(cpuList('0,2-3,5')).to.deep.equal([0, 2, 3, 5]);
  });

  it('counts a CPU kept busy by a pinned loop as barely idle', async function () {
    if (!(await commandExists('taskset'))) this.skip();
    const before = cpuTicks([0]);
    const busy = spawn('taskset', ['-c', '0', process.execPath, '-e', 'const end = Date.now() + 1500; while (Date.now() < end);'], { stdio: 'ignore' });
    await once(busy, 'exit');
    const after = cpuTicks([0]);
    const total = after.total - before.total;
    // USER_HZ is 100: 1.5 s is about 150 ticks of CPU 0.
    expect(total).to.be.greaterThan(100);
    expect((after.idle - before.idle) / total).to.be.lessThan(0.3);
  });

  it('sums the CPUs it is given, and reads nothing for a CPU that does not exist', () => {
    const one = cpuTicks([0]);
    const both = cpuTicks([0, 0, 99_999]);
    expect(one.total).to.be.greaterThan(0);
    expect(one.idle).to.be.at.most(one.total);
    // A CPU named twice counts once; an absent one adds nothing (ticks only grow in between).
    expect(both.total).to.be.within(one.total, one.total + 100);
    expect(cpuTicks([99_999])).to.deep.equal({ idle: 0, total: 0 });
  });
});
