// Polling until something holds, with a timeout message that says what was awaited and what was last seen.

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what: string;
}

/**
 * Polls `probe` until it returns a value other than undefined. On timeout the error
 * says what was awaited and what `probe` last saw (its `describe` result).
 */
export async function waitFor<T>(options: WaitOptions, probe: () => Promise<T | undefined>, describe?: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const seen = describe ? await Promise.resolve(describe()).catch((e) => `(could not describe: ${e})`) : '';
      const cause = lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})` : '';
      throw new Error(`timed out after ${options.timeoutMs / 1000}s waiting for ${options.what}${cause}${seen ? `\nseen: ${seen}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}
