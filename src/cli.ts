// The `portcullis` command line. Every failure ends in one line naming the fix and a non-zero exit.
import { parseArgs } from 'node:util';
import { PortcullisError, errorMessage } from './lib/errors.js';
import { deleteLocalCluster, localClusterStatus, startLocalCluster } from './cluster/local/provider.js';
import { clusterPaths, validateClusterName } from './cluster/local/state.js';
import { existsSync } from 'node:fs';
import { builtBinariesDir } from './cluster/local/controlplane-build.js';

const usage = `usage: portcullis <command> [flags]

commands:
  cluster up      [--name N] [--provider local] [--api-port P] [--gateway-api-version V] [--channel experimental|standard]
  cluster down    [--name N]      stop every process of the cluster and delete its state
  cluster status  [--name N]      print the cluster's state as JSON
  cluster env     [--name N]      print the export line for KUBECONFIG (use: eval "$(portcullis cluster env)")
`;

const progress = (line: string) => process.stderr.write(`${line}\n`);

function clusterFlags(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string', default: 'default' },
      provider: { type: 'string', default: 'local' },
      'api-port': { type: 'string' },
      'gateway-api-version': { type: 'string' },
      channel: { type: 'string' },
    },
    strict: true,
  });
  if (values.provider !== 'local') {
    throw new PortcullisError('UNSUPPORTED_PROVIDER', `provider "${values.provider}" is not available for \`cluster up\` yet: use --provider local`);
  }
  const apiPort = values['api-port'] === undefined ? undefined : Number(values['api-port']);
  if (apiPort !== undefined && (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535)) {
    throw new PortcullisError('BAD_PORT', `--api-port "${values['api-port']}" is not a port number: use 0–65535 (0 picks a free port)`);
  }
  return {
    name: validateClusterName(values.name!),
    apiPort,
    gatewayApiVersion: values['gateway-api-version'],
    channel: values.channel as 'standard' | 'experimental' | undefined,
  };
}

async function clusterCommand(sub: string | undefined, args: string[]): Promise<void> {
  const flags = clusterFlags(args);
  switch (sub) {
    case 'up': {
      const started = Date.now();
      const cluster = await startLocalCluster({ ...flags, progress });
      progress(`cluster "${cluster.name}" is ready in ${((Date.now() - started) / 1000).toFixed(1)}s: kubeconfig ${cluster.kubeconfigPath}`);
      progress(`  eval "$(npx portcullis cluster env --name ${cluster.name})" && kubectl get nodes`);
      return;
    }
    case 'down': {
      const deleted = await deleteLocalCluster(flags.name);
      progress(deleted ? `cluster "${flags.name}" deleted` : `cluster "${flags.name}" does not exist; nothing to do`);
      return;
    }
    case 'status':
      process.stdout.write(JSON.stringify(localClusterStatus(flags.name), null, 2) + '\n');
      return;
    case 'env': {
      const paths = clusterPaths(flags.name);
      if (!existsSync(paths.kubeconfig)) {
        throw new PortcullisError('NO_CLUSTER', `cluster "${flags.name}" does not exist: run \`portcullis cluster up --name ${flags.name}\` first`);
      }
      const status = localClusterStatus(flags.name);
      process.stdout.write(`export KUBECONFIG=${paths.kubeconfig}\n`);
      const bin = builtBinariesDir();
      if (bin) process.stdout.write(`export PATH=${bin}:$PATH\n`);
      if (status.phase !== 'running') progress(`note: cluster "${flags.name}" is ${status.phase}; run \`portcullis cluster up --name ${flags.name}\``);
      return;
    }
    default:
      throw new PortcullisError('USAGE', `unknown cluster command "${sub ?? ''}": use cluster up, down, status or env`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'cluster':
      return clusterCommand(sub, rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return;
    default:
      throw new PortcullisError('USAGE', `unknown command "${command}": run \`portcullis help\``);
  }
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  const message = err instanceof PortcullisError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? errorMessage(err) : `unexpected error: ${errorMessage(err)}`;
  process.stderr.write(`portcullis: ${message}\n`);
  if (!(err instanceof PortcullisError) && process.env.PORTCULLIS_DEBUG) console.error(err);
  process.exit(1);
}
