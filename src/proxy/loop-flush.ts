// Writes held until the end of the event-loop iteration, then sent together.
//
// One poll of the event loop hands the proxy many ready connections. Written at once,
// each request to a backend (and each answer to a client) wakes the process reading the
// other end, which on a busy proxy has usually finished the previous one and gone back to
// sleep: a wake-up per write. Corked until the loop's check phase (setImmediate, after
// every I/O callback of this iteration has run), the writes of one poll leave in a burst,
// and the reader woken by the first finds the rest waiting. On the keep-alive benchmark
// the proxy served 1.23–1.68× the requests per CPU-second of the build before (see "Hot
// paths" in src/proxy/README.md); a wake-up costs the writer most on a VM whose idle
// vCPUs halt at once, as on the machines we measure on.
//
// Only the time of the write changes: what is written, its order, and the streams'
// backpressure (write() still answers whether the buffer has room) stay as they were. A
// stream ended or destroyed meanwhile is fine: end() uncorks it, and a destroyed stream
// ignores the uncork.
import type { Writable } from 'node:stream';

let corked: Writable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const streams = corked;
  corked = [];
  for (const stream of streams) {
    try {
      stream.uncork();
    } catch {
      // The stream broke while writing; it errors on its own, and the others must still go out.
    }
  }
}

/** Holds the stream's writes from now until the end of this event-loop iteration. */
export function corkUntilLoopEnd(stream: Writable): void {
  if (stream.writableCorked === 0) {
    stream.cork();
    corked.push(stream);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
