// Entry point of the node agent process: `node main.js <cluster dir>`.
import { join } from 'node:path';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../../../lib/errors.js';
import { loadKubeConfig } from '../../../lib/kube.js';
import { createLogger } from '../../../lib/log.js';
import { pkiFiles } from '../pki.js';
import { clusterPaths, readClusterConfig } from '../state.js';
import { NodeAgent } from './agent.js';

const log = createLogger('node-agent');
const clusterDir = process.argv[2];
if (!clusterDir) {
  console.error('usage: node-agent/main.js <cluster dir>');
  process.exit(2);
}
const paths = clusterPaths(basename(clusterDir), dirname(clusterDir));
const config = readClusterConfig(paths);
if (!config) {
  console.error(`node-agent: ${paths.config} is missing: run \`portcullis cluster up\``);
  process.exit(2);
}
const agent = new NodeAgent({
  kc: loadKubeConfig(pkiFiles(paths.pki).kubeconfig('node-agent')),
  config,
  clusterDir: paths.dir,
  volumesRoot: paths.volumes,
  logsRoot: join(paths.logs, 'pods'),
  pki: pkiFiles(paths.pki),
});
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await agent.stop();
  log.info('node agent stopped');
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
try {
  await agent.start();
} catch (err) {
  log.error('node agent could not start', { err: errorMessage(err) });
  await agent.stop();
  process.exit(1);
}
