// Entry point of the detached supervisor process: `node supervisor-main.js <cluster dir> <binaries dir>`.
import { basename, dirname } from 'node:path';
import { kubernetesVersion } from './controlplane-build.js';
import { componentSpecs } from './components.js';
import { Supervisor } from './supervisor.js';
import { clusterPaths, readClusterConfig } from './state.js';

const [clusterDir, binariesDir] = process.argv.slice(2);
if (!clusterDir || !binariesDir) {
  console.error('usage: supervisor-main.js <cluster dir> <binaries dir>');
  process.exit(2);
}
const paths = clusterPaths(basename(clusterDir), dirname(clusterDir));
const config = readClusterConfig(paths);
if (!config) {
  console.error(`supervisor: ${paths.config} is missing or unreadable: run \`portcullis cluster up\` again`);
  process.exit(2);
}
const binaries = { version: kubernetesVersion, dir: binariesDir, path: (program: string) => `${binariesDir}/${program}` };
await new Supervisor(paths, componentSpecs(config, paths, binaries)).run();
