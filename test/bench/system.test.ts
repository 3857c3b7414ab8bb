// bench/lib/system.ts: what the data-plane bench reads of the machine — the load cores'
// idle share (from /proc/stat), the taskset CPU lists it is computed over, and a
// process's CPU time split into user and kernel time (from /proc/<pid>/stat).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { commandExists } from '../../src/lib/process.js';
import { cpuList, cpuSecondsOf, cpuTicks, cpuTimesOf } from '../../bench/lib/system.js';

/**
 * Runs `code` in a child, then reads the child's CPU times while it waits (a process that
 * has exited has no /proc entry to read).
 */
async function cpuTimesOfChild(code: string): Promise<{ user: number; system: number; total: number }> {
  const child = spawn(process.execPath, ['-e', `${code}; process.stdout.write('done'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await once(child.stdout!, 'data');
    return { ...cpuTimesOf([child.pid!]), total: cpuSecondsOf([child.pid!]) };
  } finally {
    child.kill();
  }
}

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

  it('splits a process\'s CPU time into user space and kernel', async () => {
    // Counting in JavaScript stays in user space; reading /dev/zero a megabyte at a time is the
    // kernel clearing memory. Each child works until it has had a second of CPU by its own
    // account (getrusage), however busy the machine is.
    const counting = await cpuTimesOfChild('let n = 0; do for (let i = 0; i < 1e6; i++) n++; while (process.cpuUsage().user < 1e6)');
    const zeroing = await cpuTimesOfChild(
      "const fs = require('fs'); const fd = fs.openSync('/dev/zero', 'r'); const b = Buffer.alloc(1 << 20); for (let u = process.cpuUsage(); u.user + u.system < 1e6; u = process.cpuUsage()) fs.readSync(fd, b, 0, b.length, null)",
    );
    // USER_HZ is 100: a second is 100 ticks.
    expect(counting.user, JSON.stringify(counting)).to.be.greaterThan(0.9);
    expect(counting.system, JSON.stringify(counting)).to.be.lessThan(counting.user / 2);
    expect(zeroing.system, JSON.stringify(zeroing)).to.be.greaterThan(zeroing.user);
    expect(zeroing.total).to.be.closeTo(zeroing.user + zeroing.system, 1e-9);
    expect(cpuTimesOf([])).to.deep.equal({ user: 0, system: 0 });
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
