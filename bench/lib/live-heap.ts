// The live JavaScript heap of a running Node process, measured from outside it, with no
// code of ours inside: SIGUSR1 opens the process's inspector (Node's built-in debugger)
// on 127.0.0.1:9229; over its WebSocket we ask for a full garbage collection and the heap
// in use after it, then close the inspector again. RSS, and even V8's heap-in-use
// figure, count garbage that a quiet process may not collect for a long time; this
// counts only what the process holds.
import WebSocket from 'ws';

const INSPECTOR = 'http://127.0.0.1:9229';

interface InspectorTarget {
  webSocketDebuggerUrl: string;
}

/** Bytes of V8 heap `pid` holds after a full collection. Processes are measured one at a time (one inspector port). */
export async function liveHeapBytes(pid: number, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  process.kill(pid, 'SIGUSR1');
  const target = await inspectorTarget(pid, deadline);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const call = protocolCaller(socket, deadline);
    // Whoever holds the port answers; its title names the script, not always the pid.
    const evaluated = (await call('Runtime.evaluate', { expression: 'process.pid', returnByValue: true })) as { result: { value: unknown } };
    if (evaluated.result.value !== pid) throw new Error(`${INSPECTOR} is the inspector of process ${String(evaluated.result.value)}, not of ${pid}; is another process using port 9229?`);
    await call('HeapProfiler.collectGarbage');
    const usage = (await call('Runtime.getHeapUsage')) as { usedSize: number };
    // Leave the process as we found it: no debugger port open. close() ends our session too.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    call('Runtime.evaluate', { expression: "require('inspector').close()", includeCommandLineAPI: true }).catch(() => {});
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    return usage.usedSize;
  } finally {
    socket.terminate();
  }
}

/** Waits for an inspector to list a target on the port (the one SIGUSR1 opened, unless the port was taken). */
async function inspectorTarget(pid: number, deadline: number): Promise<InspectorTarget> {
  let seen = 'nothing';
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      const targets = (await (await fetch(`${INSPECTOR}/json/list`, { signal: AbortSignal.timeout(1_000) })).json()) as InspectorTarget[];
      if (targets[0]) return targets[0];
      seen = 'no target';
    } catch (error) {
      seen = (error as Error).message;
    }
  }
  throw new Error(`process ${pid} opened no inspector on ${INSPECTOR} after SIGUSR1 (saw: ${seen}); is another process using port 9229?`);
}

function protocolCaller(socket: WebSocket, deadline: number): (method: string, params?: object) => Promise<unknown> {
  let nextId = 1;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.once('close', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('the inspector closed the connection'));
    pending.clear();
  });
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  return (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer from the inspector in time`)), Math.max(0, deadline - performance.now()));
      pending.set(id, {
        resolve: (result) => (clearTimeout(timer), resolve(result)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      socket.send(JSON.stringify({ id, method, params }));
    });
}
