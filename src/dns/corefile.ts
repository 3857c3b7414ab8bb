// Reads the part of CoreDNS's Corefile syntax the conformance manifests use:
//
//   zone[:port] [zone[:port]...] {      # server block; port 53 when left out
//       plugin [args...] [{ options }]   # one plugin per line
//   }
//
// Words are separated by white space, `#` starts a comment, `{` and `}` are words of their
// own (as in Caddy's lexer, which CoreDNS uses). Only the plugins in `supportedPlugins` are
// known; any other one is an error naming it, so a manifest that needs more fails loudly.
import { PortcullisError } from '../lib/errors.js';

export const supportedPlugins = ['whoami', 'forward', 'log', 'errors'] as const;

/** What one server block does for the names in its zone. */
export interface ZoneConfig {
  /** Lower case, fully qualified: `foo.bar.com.`, or `.` for every name. */
  zone: string;
  port: number;
  whoami: boolean;
  log: boolean;
  /** The `forward FROM ...` zone: names under it would go upstream. */
  forwardFrom?: string;
}

interface Word {
  text: string;
  line: number;
}

const defaultPort = 53;

export function parseCorefile(text: string, file: string): ZoneConfig[] {
  const lines = splitWords(text);
  const zones: ZoneConfig[] = [];
  let index = 0;
  while (index < lines.length) {
    const keys = lines[index]!;
    const open = keys.at(-1)!;
    if (open.text !== '{' || keys.length < 2) {
      throw corefileError(file, open.line, `expected "zone[:port] {" to open a server block, found "${keys.map((w) => w.text).join(' ')}"`);
    }
    const block = keys.slice(0, -1).flatMap((key) => key.text.split(',').filter((part) => part !== '').map((part) => parseServerKey(part, file, key.line)));
    index = parseBlockBody(lines, index + 1, block, file);
    for (const zone of block) {
      const clash = zones.find((known) => known.zone === zone.zone && known.port === zone.port);
      if (clash) throw corefileError(file, keys[0]!.line, `zone ${zone.zone} on port ${zone.port} is defined twice; keep one server block for it`);
      zones.push(zone);
    }
  }
  if (zones.length === 0) throw corefileError(file, 1, 'no server block; add one such as ".:53 {", then a plugin per line, then "}"');
  return zones;
}

/** Lines of words, comments dropped, empty lines skipped; a `{`/`}` alone is a word. */
function splitWords(text: string): Word[][] {
  const lines: Word[][] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const words = raw.replace(/(^|\s)#.*$/, '').split(/\s+/).filter((word) => word !== '');
    if (words.length > 0) lines.push(words.map((word) => ({ text: word, line: index + 1 })));
  });
  return lines;
}

/** `dns://foo.bar.com:53`, `foo.bar.com`, `.:1053` → zone and port. */
function parseServerKey(key: string, file: string, line: number): ZoneConfig {
  const scheme = /^([a-z0-9+]+):\/\//i.exec(key);
  if (scheme && scheme[1]!.toLowerCase() !== 'dns') {
    throw corefileError(file, line, `"${key}": only plain DNS (dns://) is supported, not ${scheme[1]}://`);
  }
  const hostPort = scheme ? key.slice(scheme[0].length) : key;
  const colon = hostPort.lastIndexOf(':');
  const zone = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
  const portText = colon >= 0 ? hostPort.slice(colon + 1) : String(defaultPort);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw corefileError(file, line, `"${key}": port "${portText}" is not a number from 1 to 65535`);
  }
  return { zone: fullyQualified(zone === '' ? '.' : zone), port, whoami: false, log: false };
}

/** Applies the block's plugin lines to every zone of the block; returns the index after its `}`. */
function parseBlockBody(lines: Word[][], start: number, block: ZoneConfig[], file: string): number {
  for (let index = start; index < lines.length; index++) {
    const [plugin, ...args] = lines[index]!;
    if (plugin!.text === '}') return index + 1;
    const hasOptions = args.at(-1)?.text === '{';
    if (hasOptions) args.pop();
    applyPlugin(plugin!, args.map((w) => w.text), block, file);
    // Options (such as forward's `{ max_fails 3 }`) change nothing here: skip to their `}`.
    if (hasOptions) index = skipOptions(lines, index + 1, plugin!, file);
  }
  throw corefileError(file, lines.at(-1)!.at(-1)!.line, 'server block is not closed; add "}"');
}

function applyPlugin(plugin: Word, args: string[], block: ZoneConfig[], file: string): void {
  switch (plugin.text) {
    case 'whoami':
      if (args.length > 0) throw corefileError(file, plugin.line, 'whoami takes no arguments');
      for (const zone of block) zone.whoami = true;
      return;
    case 'forward': {
      if (args.length < 2) throw corefileError(file, plugin.line, 'forward needs a zone and at least one upstream: "forward . 8.8.8.8"');
      const from = fullyQualified(args[0]!);
      for (const zone of block) zone.forwardFrom = from;
      return;
    }
    case 'log':
      // Arguments (name filters, formats) are accepted; every query is logged in the default format.
      for (const zone of block) zone.log = true;
      return;
    case 'errors':
      return; // Nothing here reports plugin errors, so there is nothing for it to do.
    default:
      throw corefileError(file, plugin.line, `plugin "${plugin.text}" is not supported by Portcullis's CoreDNS stand-in (supported: ${supportedPlugins.join(', ')}); remove it from the Corefile`);
  }
}

function skipOptions(lines: Word[][], start: number, plugin: Word, file: string): number {
  for (let index = start; index < lines.length; index++) {
    if (lines[index]![0]!.text === '}') return index;
  }
  throw corefileError(file, plugin.line, `the options block of ${plugin.text} is not closed; add "}"`);
}

/** DNS names compare case-insensitively (RFC 4343); zones are kept lower case with the final dot. */
export function fullyQualified(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

function corefileError(file: string, line: number, message: string): PortcullisError {
  return new PortcullisError('DNS_COREFILE_INVALID', `${file}:${line}: ${message}`);
}
