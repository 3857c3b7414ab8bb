// Structured logs: one JSON object per line on stderr, each with a `component`.
// Never pass key material or Secret data to a logger.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const levelOrder: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function configuredLevel(): LogLevel {
  const wanted = process.env.PORTCULLIS_LOG_LEVEL;
  return wanted === 'debug' || wanted === 'info' || wanted === 'warn' || wanted === 'error' ? wanted : 'info';
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Set once stderr fails (EPIPE: whoever read the logs is gone). Logging then stops: each
 * failed write would otherwise raise an error that the uncaught-exception handler logs,
 * whose write fails in turn — a loop that kept a proxy busy and deaf to SIGTERM.
 */
let sinkBroken = false;
let sinkWatched = false;

function sinkUsable(): boolean {
  if (!sinkWatched) {
    sinkWatched = true;
    process.stderr.on('error', () => (sinkBroken = true));
  }
  return !sinkBroken;
}

export function createLogger(component: string, base: Record<string, unknown> = {}): Logger {
  const threshold = levelOrder[configuredLevel()];
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (levelOrder[level] < threshold || !sinkUsable()) return;
    const line = { time: new Date().toISOString(), level, component, msg, ...base, ...fields };
    process.stderr.write(serialize(line) + '\n');
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => createLogger(component, { ...base, ...fields }),
  };
}

/**
 * The line as JSON, even when a field cannot be (a cycle, a BigInt, a throwing toJSON):
 * that field says why instead. A logger that throws would take the uncaught-exception
 * handler down with it, and the process with that.
 */
function serialize(line: Record<string, unknown>): string {
  try {
    return JSON.stringify(line, errorReplacer);
  } catch {
    const safe: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(line)) {
      try {
        JSON.stringify(value, errorReplacer);
        safe[key] = value;
      } catch (error) {
        safe[key] = `[not serializable: ${(error as Error).message}]`;
      }
    }
    return JSON.stringify(safe, errorReplacer);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
