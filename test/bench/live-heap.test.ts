// bench/lib/live-heap.ts: the live heap of another Node process, through its inspector.
// A child holds a known amount of JavaScript data beside garbage it has just made; the
// measurement must see the held data, not the garbage, and leave the child running with
// its inspector closed.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { liveHeapBytes } from '../../bench/lib/live-heap.js';

const MiB = 2 ** 20;

// 40 MiB held as 40 arrays of 1 MiB of doubles; on 'drop' it lets go of them. Each
// message also leaves 60 MiB of fresh garbage behind, which a measurement that did not
// collect first would count.
const CHILD = `
let held = Array.from({ length: 40 }, () => Array.from({ length: MiB / 8 }, (_, i) => i + 0.5));
let garbage = [];
const churn = () => { garbage = Array.from({ length: 60 }, () => Array.from({ length: MiB / 8 }, (_, i) => i + 0.25)); garbage = []; };
process.on('message', (m) => { if (m === 'drop') held = []; churn(); process.send('done'); });
churn();
process.send('ready');
`.replace(/MiB/g, String(MiB));

describe('bench: live JS heap of another process (inspector)', function () {
  this.timeout(60_000);
  let child: ChildProcess;

  before(async () => {
    child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await once(child, 'message');
  });

  after(() => {
    child?.kill();
  });

  it('counts what the process holds, not its garbage, and leaves it running with no inspector open', async () => {
    const holding = await liveHeapBytes(child.pid!);
    child.send('drop');
    await once(child, 'message');
    const dropped = await liveHeapBytes(child.pid!);
    // What it let go of, within 10%; garbage counted would add up to 60 MiB to either figure.
    expect((holding - dropped) / MiB).to.be.within(36, 44);
    expect(dropped / MiB).to.be.below(20);
    expect(child.exitCode).to.equal(null);
    const probe = await fetch('http://127.0.0.1:9229/json/list').then(
      () => 'open',
      () => 'closed',
    );
    expect(probe, 'the inspector port after the measurement').to.equal('closed');
  });

  it('names the process and the port when its inspector cannot open', async () => {
    // Something else holds 127.0.0.1:9229 (and answers there with no targets): the child's
    // inspector cannot listen, and the child goes on running.
    const squatter = http.createServer((_req, res) => res.end('[]'));
    await new Promise<void>((resolve) => squatter.listen(9229, '127.0.0.1', () => resolve()));
    try {
      let failure: Error | undefined;
      await liveHeapBytes(child.pid!, 1_500).catch((error: Error) => (failure = error));
      expect(failure?.message).to.equal(`process ${child.pid} opened no inspector on http://127.0.0.1:9229 after SIGUSR1 (saw: no target); is another process using port 9229?`);
      expect(child.exitCode).to.equal(null);
    } finally {
      squatter.close();
    }
  });

  it('refuses to measure another Node process that holds the inspector port, and leaves its debugger open', async () => {
    const other = spawn(process.execPath, ['--inspect=127.0.0.1:9229', '-e', 'setInterval(() => {}, 1000); process.send("ready")'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    try {
      await once(other, 'message');
      let failure: Error | undefined;
      await liveHeapBytes(child.pid!, 5_000).catch((error: Error) => (failure = error));
      expect(failure?.message).to.equal(`http://127.0.0.1:9229 is the inspector of process ${other.pid}, not of ${child.pid}; is another process using port 9229?`);
      const targets = (await (await fetch('http://127.0.0.1:9229/json/list')).json()) as unknown[];
      expect(targets, "the other process's debugger").to.have.length(1);
    } finally {
      other.kill();
      await once(other, 'exit');
    }
  });
});
