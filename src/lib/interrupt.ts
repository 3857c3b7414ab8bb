// What an interrupted command must still undo. A local cluster's supervisor, and the
// bench's proxies and peers, run detached in their own process groups (they must outlive
// a `cluster up`, and stop() kills a whole group), so the terminal's Ctrl-C never reaches
// them: without this, `npm run conformance` interrupted left a whole cluster running.
//
// On the first SIGINT or SIGTERM every registered undo runs (a cluster down, a server
// killed, a folder removed), then the process exits 130 or 143. A second signal while
// that runs exits at once.
const undos = new Set<() => unknown>();
const notices = new Set<() => void>();
let listening = false;
let cleanup: Promise<void> | undefined;

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const;

/**
 * Registers `undo` to run if the process is interrupted; returns the function that
 * unregisters it (call it once the work is undone the ordinary way). `say` is told once,
 * on interruption, what is being undone.
 */
export function onInterrupt(undo: () => unknown, say?: () => void): () => void {
  listen();
  const entry = (): unknown => {
    say?.();
    return undo();
  };
  undos.add(entry);
  return () => undos.delete(entry);
}

/** Registers a line to print on interruption, before any undo runs; returns its unregistering function. */
export function onInterruptNotice(say: () => void): () => void {
  listen();
  notices.add(say);
  return () => notices.delete(say);
}

/**
 * After a signal: the cleanup under way, which ends the process. Work the signal broke
 * (a start that failed because its cluster was being deleted) waits for it rather than
 * exiting with its own error.
 */
export function interruption(): Promise<void> | undefined {
  return cleanup;
}

function listen(): void {
  if (listening) return;
  listening = true;
  for (const [signal, code] of SIGNALS) {
    process.on(signal, () => {
      if (cleanup) {
        process.stderr.write(`${signal} again: exiting without finishing the cleanup\n`);
        process.exit(code);
      }
      for (const say of notices) say();
      cleanup = Promise.allSettled([...undos].map(async (undo) => undo())).then(() => process.exit(code));
    });
  }
}
