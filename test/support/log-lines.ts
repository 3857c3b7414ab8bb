// Our programs log one JSON object per line on stderr. Tests that start one wait for the
// line that says it is ready, keeping every parsed line for later assertions.
import type { ChildProcess } from 'node:child_process';

export interface LogLine {
  level: string;
  msg: string;
  code?: string;
  [field: string]: unknown;
}

/**
 * Collects the child's JSON log lines into `logs` and resolves with the first one for
 * which `ready` is true; rejects, with stderr so far, if the child exits first or the time runs out.
 */
export function waitForLogLine(child: ChildProcess, logs: LogLine[], ready: (line: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine> {
  let stderr = '';
  let buffered = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s; stderr:\n${stderr}`)), timeoutMs);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          continue; // not a log line
        }
        logs.push(parsed);
        if (ready(parsed)) {
          clearTimeout(timer);
          resolve(parsed);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
}
