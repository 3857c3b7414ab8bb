// Command-line flags as the upstream Gateway API suite (Go's `flag` package) accepts them: a
// boolean flag may be written `--x`, `--no-x`, `--x=true` or `--x=false`, so a command line
// copied from the upstream suite's documentation (`--cleanup-base-resources=false`) works here.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PortcullisError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--name=true|false` of a boolean option becomes `--name` / `--no-name`; anything else stays. */
export function normalizeBooleanFlags(args: string[], options: Options): string[] {
  const out: string[] = [];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return [...out, ...args.slice(i)];
    const match = /^--([^=]+)=(.*)$/.exec(arg);
    const option = match ? options[match[1]!] : undefined;
    if (!match || option?.type !== 'boolean') {
      out.push(arg);
      continue;
    }
    const value = match[2]!.toLowerCase();
    if (value === 'true' || value === '1') out.push(`--${match[1]}`);
    else if (value === 'false' || value === '0') out.push(`--no-${match[1]}`);
    else throw new PortcullisError('BAD_FLAG', `--${match[1]}=${match[2]}: a switch takes true or false (or write --${match[1]} / --no-${match[1]})`);
  }
  return out;
}

/** parseArgs with negatable booleans; a wrong flag is one line naming `portcullis help`. */
export function parseFlags<T extends { options: Options; allowPositionals?: boolean }>(args: string[], config: T) {
  try {
    return parseArgs({ ...config, args: normalizeBooleanFlags(args, config.options), strict: true, allowNegative: true });
  } catch (err) {
    if (err instanceof PortcullisError) throw err;
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new PortcullisError('BAD_FLAG', `${message.replace(/\.$/, '')}: see \`portcullis help\` for the flags`, { cause: err });
  }
}

/**
 * `HOST:PORT`, an IPv6 host in brackets (`[::1]:9000`), the port 0–65535 in digits (0: the
 * system picks one); undefined for anything else. The controller's `--metrics-address` and
 * the proxy's `--admin` read their addresses with it; each names its own flag in the error.
 */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = value.slice(colon + 1);
  const port = Number(portText);
  if (colon < 1 || !host || !/^\d{1,5}$/.test(portText) || port > 65535) return undefined;
  return { host, port };
}
