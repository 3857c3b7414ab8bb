// The Portcullis proxy process:
//
//   node dist/src/proxy/main.js --admin 127.0.0.1:19000 [--workers N] [flags]
//
// It starts with no listeners; the controller PUTs the IR to the admin API (loopback
// only) and the proxy binds what the IR lists. `--workers 1` serves from this process;
// N > 1 forks N node:cluster workers that share the listening sockets, the primary
// keeping only the admin API.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { parseHostPort } from '../lib/flags.js';
import { createLogger, type Logger } from '../lib/log.js';
import { createAdminServer } from './admin-api.js';
import { ConfigController, LocalDataPlaneGroup, type DataPlaneGroup } from './config-controller.js';
import { DataPlane } from './data-plane.js';
import { HttpForwarder } from './http-forwarder.js';
import { ControlMetrics, ProxyMetrics } from './metrics.js';
import { DEFAULT_PROXY_OPTIONS, type ProxyOptions } from './proxy-options.js';
import { runWorker, WorkerPool } from './workers.js';

const USAGE = `Usage: node dist/src/proxy/main.js [flags]

  --admin HOST:PORT                 admin API address, loopback only (default 127.0.0.1:19000; port 0 picks one)
  --workers N                       worker processes sharing the listeners (default: number of cores; 1 = no workers)
  --scheduling rr|none              how node:cluster spreads connections over workers (default rr)
  --access-log                      one JSON line per HTTP request on stderr
  --http1-server lean|node          who parses HTTP/1.1: lean serves requests without a body itself and
                                    hands the rest to node:http; node: node:http for all (default lean)
  --http1-client lean|undici        who sends bodiless HTTP/1.1 requests to plain backends: lean (http1-client.ts)
                                    or undici for all (default lean; undici always for bodies and TLS backends)
  --client-hello-timeout-ms MS      (default ${DEFAULT_PROXY_OPTIONS.clientHelloTimeoutMs})
  --handshake-timeout-ms MS         (default ${DEFAULT_PROXY_OPTIONS.handshakeTimeoutMs})
  --first-bytes-timeout-ms MS       plain HTTP ports (default ${DEFAULT_PROXY_OPTIONS.firstBytesTimeoutMs})
  --headers-timeout-ms MS           HTTP/1.1 request headers (default ${DEFAULT_PROXY_OPTIONS.headersTimeoutMs})
  --keep-alive-timeout-ms MS        (default ${DEFAULT_PROXY_OPTIONS.keepAliveTimeoutMs})
  --max-header-size BYTES           (default ${DEFAULT_PROXY_OPTIONS.maxHeaderSize})
  --upstream-connect-timeout-ms MS  (default ${DEFAULT_PROXY_OPTIONS.upstreamConnectTimeoutMs})
  --stream-idle-timeout-ms MS       TCP/passthrough streams, 0 = none (default ${DEFAULT_PROXY_OPTIONS.streamIdleTimeoutMs})
  --drain-timeout-ms MS             on SIGTERM/SIGINT: stop accepting, let requests in flight finish
                                    for up to MS, then close what is left and exit (default ${DEFAULT_PROXY_OPTIONS.drainTimeoutMs})
  --help
`;

const NUMBER_FLAGS = {
  'client-hello-timeout-ms': 'clientHelloTimeoutMs',
  'handshake-timeout-ms': 'handshakeTimeoutMs',
  'first-bytes-timeout-ms': 'firstBytesTimeoutMs',
  'headers-timeout-ms': 'headersTimeoutMs',
  'keep-alive-timeout-ms': 'keepAliveTimeoutMs',
  'max-header-size': 'maxHeaderSize',
  'upstream-connect-timeout-ms': 'upstreamConnectTimeoutMs',
  'stream-idle-timeout-ms': 'streamIdleTimeoutMs',
  'drain-timeout-ms': 'drainTimeoutMs',
} as const satisfies Record<string, keyof ProxyOptions>;

interface CommandLine {
  adminHost: string;
  adminPort: number;
  workers: number;
  scheduling: 'rr' | 'none';
  options: ProxyOptions;
}

class UsageError extends Error {}

function parseCommandLine(argv: string[]): CommandLine | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      admin: { type: 'string', default: '127.0.0.1:19000' },
      workers: { type: 'string' },
      scheduling: { type: 'string', default: 'rr' },
      'access-log': { type: 'boolean', default: false },
      'http1-server': { type: 'string', default: 'lean' },
      'http1-client': { type: 'string', default: 'lean' },
      help: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(NUMBER_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
    },
    strict: true,
  });
  if (values.help) return 'help';
  const admin = String(values.admin);
  const adminAddress = parseHostPort(admin);
  if (!adminAddress) throw new UsageError(`--admin must be HOST:PORT (port 0 picks one), got "${admin}"`);
  const { host: adminHost, port: adminPort } = adminAddress;
  if (!isLoopback(adminHost)) throw new UsageError(`--admin must be a loopback address (127.0.0.0/8 or ::1): the admin API accepts whole configurations with private keys; got ${adminHost}`);
  const workers = values.workers === undefined ? Math.max(1, os.availableParallelism()) : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError(`--workers must be an integer from 1 to 256, got ${String(values.workers)}`);
  const scheduling = values.scheduling;
  if (scheduling !== 'rr' && scheduling !== 'none') throw new UsageError(`--scheduling must be rr or none, got ${String(scheduling)}`);
  const http1Server = values['http1-server'];
  if (http1Server !== 'lean' && http1Server !== 'node') throw new UsageError(`--http1-server must be lean or node, got ${String(http1Server)}`);
  const http1Client = values['http1-client'];
  if (http1Client !== 'lean' && http1Client !== 'undici') throw new UsageError(`--http1-client must be lean or undici, got ${String(http1Client)}`);
  const options: ProxyOptions = { ...DEFAULT_PROXY_OPTIONS, accessLog: values['access-log'] === true, http1Server, http1Client };
  for (const [flag, key] of Object.entries(NUMBER_FLAGS)) {
    const raw = (values as Record<string, unknown>)[flag];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new UsageError(`--${flag} must be a non-negative integer, got ${String(raw)}`);
    options[key] = value;
  }
  return { adminHost, adminPort, workers, scheduling, options };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function createProcessDataPlane(options: ProxyOptions, log: Logger): DataPlane {
  const metrics = new ProxyMetrics();
  const forwarder = new HttpForwarder({ options, metrics, accessLog: options.accessLog ? createLogger('access') : undefined });
  return new DataPlane({ options, metrics, log, forwarder });
}

async function startPrimary(commandLine: CommandLine, log: Logger): Promise<void> {
  const ticketKeys = randomBytes(48);
  const { drainTimeoutMs } = commandLine.options;
  let group: DataPlaneGroup;
  let drainGroup: () => Promise<void>;
  if (commandLine.workers === 1) {
    const dataPlane = createProcessDataPlane({ ...commandLine.options, ticketKeys }, log);
    group = new LocalDataPlaneGroup(dataPlane);
    drainGroup = async () => {
      const { cut } = await dataPlane.drain(drainTimeoutMs);
      log.info('proxy drained', { cutConnections: cut, pid: process.pid });
    };
  } else {
    cluster.schedulingPolicy = commandLine.scheduling === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
    const pool = new WorkerPool({ count: commandLine.workers, ticketKeys, log });
    await pool.start();
    group = pool;
    drainGroup = () => pool.stop(drainTimeoutMs);
  }
  const controlMetrics = new ControlMetrics();
  const controller = new ConfigController(group, controlMetrics, log);
  const admin = createAdminServer({ controller, group, controlMetrics, log });
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen({ host: commandLine.adminHost, port: commandLine.adminPort }, () => resolve());
  });
  const address = admin.address();
  const port = typeof address === 'object' && address ? address.port : commandLine.adminPort;
  log.info('proxy admin API listening', { admin: `${commandLine.adminHost}:${port}`, adminPort: port, workers: commandLine.workers, pid: process.pid });

  const shutdown = (signal: string): void => {
    log.info('proxy stopping', { signal, drainTimeoutMs });
    admin.close();
    drainGroup()
      .catch((error: unknown) => log.error('drain failed', { error }))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

function main(): void {
  const log = createLogger('proxy', cluster.isWorker ? { worker: cluster.worker?.id } : {});
  // Last line of defence: a bug in one connection's handling must not take down every other connection.
  // What is thrown need not be an Error (`throw null`): reading .stack from it here would end the process.
  process.on('uncaughtException', (error: unknown) => log.error('uncaught exception (connection dropped, process continues)', { error, stack: error instanceof Error ? error.stack : String(error) }));
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection', { error: reason }));

  let commandLine: CommandLine | 'help';
  try {
    commandLine = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (commandLine === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (cluster.isWorker) {
    const options = commandLine.options;
    runWorker((ticketKeys) => createProcessDataPlane({ ...options, ticketKeys }, log), log, options.drainTimeoutMs);
    return;
  }
  startPrimary(commandLine, log).catch((error: unknown) => {
    log.error('proxy failed to start', { error });
    process.exit(1);
  });
}

main();
