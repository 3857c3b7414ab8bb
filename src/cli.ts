// The `portcullis` command line. Every failure ends in one line naming the fix and a non-zero exit.
import { PortcullisError, errorMessage } from './lib/errors.js';
import { parseFlags } from './lib/flags.js';
import { interruption } from './lib/interrupt.js';
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
  conformance     [--provider auto|local|kind|k3s|existing] [--k8s-version V] [--gateway-class C] [--ingress-class C]
                  [--run-test NAME] [--grep RE] [--skip-tests A,B] [--supported-features A,B] [--exempt-features A,B]
                  [--fail-fast] [--keep-cluster] [--no-cleanup-base-resources] [--junit-output FILE] [--report-output FILE]
                  [--timeout-config-overrides K=V,…] [--gateway-api-version V] [--channel C] [--kubeconfig FILE]
  conformance-upstream  the official Gateway API conformance suite, on a local cluster unless --kubeconfig is given
                  [--gateway-class C] [--conformance-profiles A,B] [--run-test NAME] [--skip-tests A,B]
                  [--supported-features A,B] [--exempt-features A,B] [--output-dir DIR] [--keep-cluster]
                  [--timeout 60m] [--kubeconfig FILE] [-- flags passed to the suite unchanged]
`;

const progress = (line: string) => process.stderr.write(`${line}\n`);

function clusterFlags(args: string[]) {
  const { values } = parseFlags(args, {
    options: {
      name: { type: 'string', default: 'default' },
      provider: { type: 'string', default: 'local' },
      'api-port': { type: 'string' },
      'gateway-api-version': { type: 'string' },
      channel: { type: 'string' },
    },
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

const list = (value: string | undefined) => value?.split(',').map((v) => v.trim()).filter(Boolean);

async function conformanceCommand(args: string[]): Promise<void> {
  const { values } = parseFlags(args, {
    options: {
      provider: { type: 'string', default: 'auto' },
      'gateway-class': { type: 'string', default: 'portcullis' },
      'ingress-class': { type: 'string', default: 'portcullis' },
      'supported-features': { type: 'string' },
      'exempt-features': { type: 'string' },
      'run-test': { type: 'string' },
      grep: { type: 'string' },
      'skip-tests': { type: 'string' },
      'cleanup-base-resources': { type: 'boolean', default: true },
      'fail-fast': { type: 'boolean', default: false },
      'keep-cluster': { type: 'boolean', default: false },
      'report-output': { type: 'string', default: 'reports/conformance-report.yaml' },
      'junit-output': { type: 'string', default: 'reports/junit.xml' },
      'timeout-config-overrides': { type: 'string' },
      'gateway-api-version': { type: 'string' },
      channel: { type: 'string' },
      'k8s-version': { type: 'string' },
      kubeconfig: { type: 'string' },
    },
  });
  const provider = values.provider!;
  if (!['auto', 'local', 'kind', 'k3s', 'existing'].includes(provider)) {
    throw new PortcullisError('UNKNOWN_PROVIDER', `--provider ${provider} is not known: use auto, local, kind, k3s or existing`);
  }
  const { runConformance } = await import('./harness/runner.js');
  const started = Date.now();
  const outcomes = await runConformance({
    provider: provider as 'auto' | 'local' | 'kind' | 'k3s' | 'existing',
    gatewayClass: values['gateway-class']!,
    ingressClass: values['ingress-class']!,
    supportedFeatures: list(values['supported-features']),
    exemptFeatures: list(values['exempt-features']),
    runTest: values['run-test'],
    grep: values.grep,
    skipTests: list(values['skip-tests']),
    failFast: values['fail-fast']!,
    keepCluster: values['keep-cluster']!,
    cleanupBaseResources: values['cleanup-base-resources']!,
    reportOutput: values['report-output']!,
    junitOutput: values['junit-output']!,
    timeoutOverrides: values['timeout-config-overrides'],
    gatewayApiVersion: values['gateway-api-version'],
    channel: values.channel as 'standard' | 'experimental' | undefined,
    k8sVersion: values['k8s-version'],
    kubeconfig: values.kubeconfig,
    progress,
  });
  const count = (state: string) => outcomes.filter((o) => o.state === state).length;
  progress(`conformance: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped in ${Math.round((Date.now() - started) / 1000)}s; reports in ${values['junit-output']} and ${values['report-output']}`);
  if (count('failed') > 0) process.exitCode = 1;
}

async function upstreamCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseFlags(args, {
    options: {
      'gateway-class': { type: 'string', default: 'portcullis' },
      'conformance-profiles': { type: 'string' },
      'run-test': { type: 'string' },
      'skip-tests': { type: 'string' },
      'supported-features': { type: 'string' },
      'exempt-features': { type: 'string' },
      'output-dir': { type: 'string', default: 'reports/upstream' },
      'keep-cluster': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '60m' },
      kubeconfig: { type: 'string' },
    },
    allowPositionals: true,
  });
  const { runUpstreamConformance, defaultUpstreamProfiles } = await import('./harness/upstream/run.js');
  const outcome = await runUpstreamConformance({
    kubeconfig: values.kubeconfig,
    gatewayClass: values['gateway-class']!,
    profiles: list(values['conformance-profiles']) ?? defaultUpstreamProfiles,
    runTest: values['run-test'],
    skipTests: list(values['skip-tests']),
    supportedFeatures: list(values['supported-features']),
    exemptFeatures: list(values['exempt-features']),
    outputDir: values['output-dir']!,
    keepCluster: values['keep-cluster']!,
    timeout: values.timeout!,
    suiteArgs: positionals,
    progress,
  });
  const count = (state: string) => outcome.tests.filter((t) => t.state === state).length;
  progress(`conformance-upstream: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped in ${Math.round(outcome.seconds)}s; report ${outcome.reportPath}, log ${outcome.logPath}`);
  if (outcome.exitCode !== 0) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'cluster':
      return clusterCommand(sub, rest);
    case 'conformance':
      return conformanceCommand([sub, ...rest].filter((a): a is string => a !== undefined));
    case 'conformance-upstream':
      return upstreamCommand([sub, ...rest].filter((a): a is string => a !== undefined));
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
  // An error caused by Ctrl-C's own cleanup (the cluster deleted under a start) is not news.
  await interruption();
  const message = err instanceof PortcullisError ? errorMessage(err) : `unexpected error: ${errorMessage(err)}`;
  process.stderr.write(`portcullis: ${message}\n`);
  if (!(err instanceof PortcullisError) && process.env.PORTCULLIS_DEBUG) console.error(err);
  process.exit(1);
}
