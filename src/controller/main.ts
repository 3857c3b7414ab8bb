// Entry point of the controller:
//   node dist/src/controller/main.js [--kubeconfig FILE] [--proxy-admin URL] [flags]   (--help lists them, see flags.ts)
// A bad flag is one line naming the fix, and exit code 2.
import type { Server } from 'node:http';
import { errorMessage } from '../lib/errors.js';
import { loadKubeConfig } from '../lib/kube.js';
import { createLogger } from '../lib/log.js';
import { Controller } from './controller.js';
import { createHealthServer, listenHealthServer } from './health-server.js';
import { parseControllerFlags, usage } from './flags.js';

async function main(): Promise<void> {
  const log = createLogger('controller');
  let parsed: ReturnType<typeof parseControllerFlags>;
  try {
    parsed = parseControllerFlags(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`portcullis controller: ${errorMessage(err)} (see --help)\n`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(usage);
    return;
  }
  const kc = loadKubeConfig(parsed.kubeconfig);
  const controller = new Controller({ kc, log, ...parsed.options });
  // Before the caches list (which can take long in a large cluster): a liveness probe must
  // find the process alive meanwhile, and /readyz says what it waits for.
  let health: Server | undefined;
  if (parsed.metricsAddress) {
    const { host, port } = parsed.metricsAddress;
    health = createHealthServer(controller, log);
    try {
      const bound = await listenHealthServer(health, host, port);
      log.info('health and metrics endpoint listening', { address: `${host}:${bound}`, port: bound });
    } catch (err) {
      log.error('controller could not start', { err: errorMessage(err) });
      process.exit(1);
    }
  }
  const shutdown = async () => {
    await controller.stop();
    health?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  try {
    await controller.start();
    const { addressMode, leaderElection, proxyAdminUrl } = parsed.options;
    log.info('controller started', { proxyAdmin: proxyAdminUrl, addressMode, leaderElection: leaderElection ? { lease: `${leaderElection.namespace}/${leaderElection.name}`, identity: leaderElection.identity } : false });
  } catch (err) {
    log.error('controller could not start', { err: errorMessage(err) });
    process.exit(1);
  }
}

await main();
