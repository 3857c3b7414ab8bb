// Entry point of the CoreDNS stand-in (image registry.k8s.io/coredns/coredns):
//   node dist/src/dns/main.js -conf /root/Corefile
// Exit codes: 0 after SIGTERM/SIGINT, 2 for bad flags, 1 for a Corefile we cannot serve or a
// port we cannot bind. Each failure is one structured log line on stderr; queries logged by
// the `log` plugin go to stdout, as CoreDNS's do.
import { readFile } from 'node:fs/promises';
import { PortcullisError, errorMessage } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { parseCorefile } from './corefile.js';
import { startDns, type StartedDns } from './server.js';

const usage = 'usage: node dist/src/dns/main.js -conf <Corefile>\n';

/** Go's flag package, which CoreDNS uses, takes `-conf x`, `-conf=x`, `--conf x` and `--conf=x`. */
function parseArgs(args: string[]): { kind: 'help' } | { kind: 'run'; corefile: string } {
  let corefile: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '-h' || arg === '-help' || arg === '--help') return { kind: 'help' };
    const match = /^--?conf(?:=(.*))?$/.exec(arg);
    if (!match) throw new PortcullisError('DNS_BAD_FLAGS', `unknown flag "${arg}"; the only flag is -conf <Corefile>`);
    corefile = match[1] ?? args[++index];
    if (!corefile) throw new PortcullisError('DNS_BAD_FLAGS', '-conf needs a path: -conf /root/Corefile');
  }
  if (!corefile) throw new PortcullisError('DNS_BAD_FLAGS', 'no Corefile given; pass -conf /root/Corefile');
  return { kind: 'run', corefile };
}

async function main(): Promise<void> {
  const log = createLogger('dns');
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    return fail(log, err, 2);
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage);
    return;
  }
  // Signal handlers go in before the sockets open: until a listener exists, SIGTERM kills the
  // process outright, and a supervisor may send it as soon as the start line appears.
  let dns: StartedDns | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    log.info('shutting down', { signal });
    setTimeout(() => process.exit(0), 1500).unref();
    void (dns?.close() ?? Promise.resolve()).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const text = await readFile(parsed.corefile, 'utf8').catch((err: unknown) => {
      throw new PortcullisError('DNS_COREFILE_UNREADABLE', `cannot read Corefile ${parsed.corefile}: ${errorMessage(err)}`);
    });
    dns = await startDns(parseCorefile(text, parsed.corefile), log);
  } catch (err) {
    fail(log, err, 1);
    process.exit();
  }
  log.info('dns server listening', {
    corefile: parsed.corefile,
    servers: dns.servers,
    forward: 'no upstream resolver is reachable from here: forwarded names get SERVFAIL at once',
  });
}

function fail(log: Logger, err: unknown, exitCode: number): void {
  const code = err instanceof PortcullisError ? err.code : 'DNS_FAILED';
  log.error(errorMessage(err), { code });
  process.exitCode = exitCode;
}

await main();
