// Entry point of the echo backend (image portcullis/echo):
//   node dist/src/echo/main.js [flags]      (see --help, or config.ts)
// Exit codes: 0 after SIGTERM/SIGINT, 2 for bad flags or environment, 1 when a listener
// or the certificate cannot be set up. Each failure is one structured log line.
import { PortcullisError, errorMessage } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { parseEchoConfig } from './config.js';
import { startEcho } from './server.js';

/** Hard stop if closing hangs: the agent expects us gone within a couple of seconds. */
const shutdownDeadlineMs = 1500;

async function main(): Promise<void> {
  const log = createLogger('echo');
  let parsed;
  try {
    parsed = parseEchoConfig(process.argv.slice(2), process.env);
  } catch (err) {
    fail(log, err, 2);
    return;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return;
  }
  const config = parsed.config;
  let echo;
  try {
    echo = await startEcho(config, log);
  } catch (err) {
    fail(log, err, 1);
    return;
  }
  log.info('echo backend listening', {
    profile: config.profile,
    pod: config.pod.pod,
    namespace: config.pod.namespace,
    format: config.format,
    tcpProtocol: config.streamProtocol,
    listeners: echo.listeners.map(({ name, transport, address, port }) => ({ name, transport, address, port })),
  });

  const stop = (signal: NodeJS.Signals): void => {
    log.info('shutting down', { signal });
    setTimeout(() => process.exit(0), shutdownDeadlineMs).unref();
    void echo.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function fail(log: ReturnType<typeof createLogger>, err: unknown, exitCode: number): void {
  const code = err instanceof PortcullisError ? err.code : 'ECHO_FAILED';
  log.error(errorMessage(err), { code });
  process.exitCode = exitCode;
}

await main();
