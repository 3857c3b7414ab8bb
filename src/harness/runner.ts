// `portcullis conformance`: bring a cluster up (or use the current one), find what the
// implementation supports, run the suites with mocha, and write the reports.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Mocha from 'mocha';
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { PortcullisError } from '../lib/errors.js';
import { loadKubeConfig, waitFor } from '../lib/kube.js';
import { deleteLocalCluster, startLocalCluster } from '../cluster/local/provider.js';
import { controllerName as ourControllerName, type GatewayClass } from '../controller/gatewayapi-types.js';
import { supportedFeatures as ourSupportedFeatures } from '../controller/features.js';
import { referenceTests } from '../../suites/reference/index.js';
import { terminationTests } from '../../suites/termination/index.js';
import { passthroughTests } from '../../suites/passthrough/index.js';
import { ingressTests } from '../../suites/ingress/index.js';
import { statusTests } from '../../suites/status/index.js';
import type { ConformanceTest } from './conformance-test.js';
import { addConformanceTests } from './mocha-tests.js';
import { servedGatewayApiKinds } from './context.js';
import { parseTimeoutOverrides, type TimeoutConfig } from './timeouts.js';
import { writeConformanceReport } from './reporting/conformance-report.js';
import { writeJUnit } from './reporting/junit.js';
import type { ImplementationInfo, RunResult } from './reporting/results.js';
import { appendStepSummary, renderMarkdownSummary } from './reporting/summary.js';
import { defaultGatewayApiVersion, validateChannel, validateGatewayApiVersion } from '../cluster/gateway-api.js';
import { kubernetesVersion as builtKubernetesVersion } from '../cluster/local/controlplane-build.js';
import { scenarioImageOverrides } from '../cluster/kind/commands.js';
import { probeKindEnvironment, type KindProbe } from '../cluster/kind/detect.js';
import { nodeImageFor } from '../cluster/kind/node-images.js';
import { k3sImageFor } from '../cluster/k3s/options.js';
import { onInterrupt } from '../lib/interrupt.js';
import { packageRoot } from '../lib/paths.js';

const packageVersion = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

const portcullisImplementation: ImplementationInfo = {
  organization: 'portcullis',
  project: 'portcullis',
  url: 'https://portcullis.dev',
  version: `v${packageVersion}`,
  contact: ['@portcullis/maintainers'],
};

export type ProviderName = 'auto' | 'local' | 'kind' | 'k3s' | 'existing';

export interface ConformanceOptions {
  provider: ProviderName;
  gatewayClass: string;
  ingressClass: string;
  supportedFeatures?: string[];
  exemptFeatures?: string[];
  runTest?: string;
  grep?: string;
  skipTests?: string[];
  failFast: boolean;
  keepCluster: boolean;
  cleanupBaseResources: boolean;
  reportOutput: string;
  junitOutput: string;
  timeoutOverrides?: string;
  gatewayApiVersion?: string;
  channel?: 'standard' | 'experimental';
  /** Kubernetes version of the cluster to bring up (kind node image, K3s image; local: must be the built one). */
  k8sVersion?: string;
  kubeconfig?: string;
  progress: (line: string) => void;
}

export interface TestOutcome {
  test: ConformanceTest;
  state: 'passed' | 'failed' | 'skipped';
  skipReason?: string;
  durationMs: number;
  failure?: string;
}

export const allTests: ConformanceTest[] = [...referenceTests, ...terminationTests, ...passthroughTests, ...ingressTests, ...statusTests];

export function selectTests(tests: ConformanceTest[], options: Pick<ConformanceOptions, 'runTest' | 'skipTests'>): ConformanceTest[] {
  if (options.runTest) {
    const selected = tests.filter((t) => t.shortName === options.runTest);
    if (selected.length === 0) throw new PortcullisError('UNKNOWN_TEST', `--run-test ${options.runTest}: no such test; known: ${tests.map((t) => t.shortName).join(', ')}`);
    return selected;
  }
  return tests.filter((t) => !options.skipTests?.includes(t.shortName));
}

/** `--provider auto`: kind where a container engine and the kind binary are there, else local. */
export async function chooseProvider(requested: ProviderName, probe: () => Promise<KindProbe> = () => probeKindEnvironment()): Promise<{ provider: Exclude<ProviderName, 'auto'>; reason?: string }> {
  if (requested !== 'auto') return { provider: requested };
  const kind = await probe();
  if (kind.available) return { provider: 'kind', reason: `auto: kind ${kind.environment.kindVersion} and ${kind.environment.engine} are available` };
  return { provider: 'local', reason: `auto: local, since kind is not usable here (${kind.error.message.split(':')[0]})` };
}

/** Rejects a --k8s-version the provider cannot honour, before anything is started. */
export function checkKubernetesVersion(provider: Exclude<ProviderName, 'auto'>, requested: string | undefined, localVersion = builtKubernetesVersion): void {
  if (!requested) return;
  switch (provider) {
    case 'kind':
      nodeImageFor(requested);
      return;
    case 'k3s':
      k3sImageFor(requested);
      return;
    case 'existing':
      throw new PortcullisError('K8S_VERSION_NOT_APPLICABLE', `--k8s-version chooses the version of a cluster the harness creates, and --provider existing uses yours: drop --k8s-version`);
    case 'local': {
      const wanted = requested.trim().replace(/^v?/, 'v');
      if (wanted === localVersion || localVersion.startsWith(`${wanted}.`)) return;
      throw new PortcullisError('K8S_VERSION_NOT_BUILT', `--k8s-version ${requested}: the local provider runs Kubernetes ${localVersion}, built from tools/controlplane: ask for ${localVersion} (or drop --k8s-version), or use --provider kind for another version`);
    }
  }
}

/** A cluster to test on, whichever provider brought it: what the runner needs of it. */
interface ProvidedCluster {
  kc: KubeConfig;
  gatewayApiVersion: string;
  channel: string;
  /** Image overrides for the scenario manifests (the built echo image on container providers). */
  images?: Record<string, string>;
  exportLogs?(dir: string): Promise<void>;
  teardown(): Promise<void>;
}

async function provideCluster(provider: Exclude<ProviderName, 'auto'>, options: ConformanceOptions): Promise<ProvidedCluster> {
  const progress = (line: string) => options.progress(`  ${line}`);
  const gatewayApiVersion = validateGatewayApiVersion(options.gatewayApiVersion ?? defaultGatewayApiVersion());
  const channel = validateChannel(options.channel ?? 'experimental');
  const keep = (hint: string, down: () => Promise<void>) => {
    if (!options.keepCluster) return down;
    return async () => options.progress(`  keeping the cluster: ${hint}`);
  };
  switch (provider) {
    case 'existing': {
      const kc = loadKubeConfig(options.kubeconfig);
      const installed = await installedGatewayApi(kc);
      return { kc, ...installed, teardown: async () => {} };
    }
    case 'local': {
      // Interrupted while it starts: nothing has the cluster yet to tear it down, so delete it by name.
      const forgetStarting = options.keepCluster ? () => {} : onInterrupt(() => deleteLocalCluster('conformance'), () => options.progress('▶ interrupted while the cluster was starting: deleting it'));
      const cluster = await startLocalCluster({ name: 'conformance', apiPort: 0, gatewayApiVersion, channel, progress }).finally(forgetStarting);
      return { kc: cluster.kubeConfig(), gatewayApiVersion, channel, teardown: keep(`KUBECONFIG=${cluster.kubeconfigPath}; delete it with \`portcullis cluster down --name ${cluster.name}\``, () => cluster.down()) };
    }
    case 'kind': {
      const { startKindCluster } = await import('../cluster/kind/provider.js');
      const cluster = await startKindCluster({ kubernetesVersion: options.k8sVersion, gatewayApiVersion, channel, keepCluster: options.keepCluster, progress });
      return {
        kc: cluster.kubeConfig(), gatewayApiVersion, channel, images: scenarioImageOverrides,
        exportLogs: (dir) => cluster.exportLogs(dir),
        teardown: keep(`KUBECONFIG=${cluster.kubeconfigPath}; delete it with \`kind delete cluster --name ${cluster.name}\``, () => cluster.down()),
      };
    }
    case 'k3s': {
      const { startK3sCluster } = await import('../cluster/k3s/provider.js');
      const cluster = await startK3sCluster({ kubernetesVersion: options.k8sVersion, gatewayApiVersion, channel, keepCluster: options.keepCluster, progress });
      return { kc: cluster.kubeConfig(), gatewayApiVersion, channel, images: scenarioImageOverrides, teardown: keep(`KUBECONFIG=${cluster.kubeconfigPath}; remove it with \`${cluster.removeHint}\``, () => cluster.down()) };
    }
  }
}

/** The Gateway API release and channel installed on a cluster we did not set up, from its CRD's annotations. */
async function installedGatewayApi(kc: KubeConfig): Promise<{ gatewayApiVersion: string; channel: string }> {
  try {
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: 'gateways.gateway.networking.k8s.io' });
    const annotations = crd.metadata?.annotations ?? {};
    return { gatewayApiVersion: annotations['gateway.networking.k8s.io/bundle-version'] ?? 'unknown', channel: annotations['gateway.networking.k8s.io/channel'] ?? 'unknown' };
  } catch {
    return { gatewayApiVersion: 'unknown', channel: 'unknown' };
  }
}

/** The kind each feature needs served; a feature whose kind the cluster lacks cannot be tested there. */
const featureKinds: Record<string, string> = { Gateway: 'Gateway', HTTPRoute: 'HTTPRoute', GRPCRoute: 'GRPCRoute', TLSRoute: 'TLSRoute', TCPRoute: 'TCPRoute', ReferenceGrant: 'ReferenceGrant' };

export function unavailableFeatures(served: Map<string, string[]>, gatewayApi: string): Map<string, string> {
  const unavailable = new Map<string, string>();
  for (const [feature, kind] of Object.entries(featureKinds)) {
    if (!served.has(kind)) unavailable.set(feature, `the cluster's Gateway API (${gatewayApi}) serves no ${kind}`);
  }
  return unavailable;
}

async function gatewayClassFeatures(kc: KubeConfig, name: string, timeouts: TimeoutConfig): Promise<{ features?: Set<string>; controllerName: string }> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const gatewayClass = await waitFor({ what: `GatewayClass ${name} to be Accepted`, timeoutMs: timeouts.gatewayMustHaveAddressMs }, async () => {
    const found = (await custom.getClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses', name })) as GatewayClass;
    return found.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True') ? found : undefined;
  });
  // Absent (not empty) where the CRD has no such field, as in the v1.1.0 standard channel.
  const declared = gatewayClass.status?.supportedFeatures;
  return { features: declared && new Set(declared.map((f) => (typeof f === 'string' ? f : f.name))), controllerName: gatewayClass.spec.controllerName };
}

/**
 * The features to test: --supported-features, else the GatewayClass status, else (a CRD
 * without the field) ours when the class is ours, else none — with a line saying so.
 */
export function featuresToTest(declared: Set<string> | undefined, controllerName: string, options: Pick<ConformanceOptions, 'supportedFeatures' | 'exemptFeatures' | 'progress'>): Set<string> {
  let supported: Set<string>;
  if (options.supportedFeatures) supported = new Set(options.supportedFeatures);
  else if (declared) supported = new Set(declared);
  else if (controllerName === ourControllerName) {
    supported = new Set(ourSupportedFeatures);
    options.progress('  the GatewayClass status has no supportedFeatures field (this Gateway API CRD lacks it): using the features Portcullis declares');
  } else {
    supported = new Set();
    options.progress('  the GatewayClass status has no supportedFeatures field (this Gateway API CRD lacks it): pass --supported-features to say what to test');
  }
  for (const exempt of options.exemptFeatures ?? []) supported.delete(exempt);
  return supported;
}

export async function runConformance(options: ConformanceOptions): Promise<TestOutcome[]> {
  const timeouts = parseTimeoutOverrides(options.timeoutOverrides);
  const tests = selectTests(allTests, options);
  if (options.provider !== 'auto') checkKubernetesVersion(options.provider, options.k8sVersion);
  const { provider, reason } = await chooseProvider(options.provider);
  checkKubernetesVersion(provider, options.k8sVersion);
  options.progress(`▶ cluster: provider ${provider}${reason ? ` (${reason})` : ''}`);
  const cluster = await provideCluster(provider, options);
  const forgetCluster = onInterrupt(() => cluster.teardown(), () => options.progress('▶ interrupted: cleanup'));
  let succeeded = false;
  try {
    const kc = cluster.kc;
    options.progress(`▶ implementation: GatewayClass ${options.gatewayClass}`);
    const found = await gatewayClassFeatures(kc, options.gatewayClass, timeouts);
    const supported = featuresToTest(found.features, found.controllerName, options);
    options.progress(`  controller ${found.controllerName}; supported features: ${[...supported].sort().join(', ') || '(none declared)'}`);
    const unavailable = unavailableFeatures(await servedGatewayApiKinds(kc), `${cluster.gatewayApiVersion} ${cluster.channel}`);
    if (unavailable.size > 0) options.progress(`  not served by this cluster, so not testable here: ${[...unavailable.keys()].join(', ')}`);
    const report = {
      implementation: found.controllerName === ourControllerName ? portcullisImplementation : { organization: 'unknown', project: found.controllerName, url: '', version: '', contact: [] },
      gatewayAPIVersion: cluster.gatewayApiVersion,
      gatewayAPIChannel: cluster.channel,
      provider,
      mode: 'default',
      startedAt: new Date().toISOString(),
    };
    const outcomes = await runSuites(tests, { report, kc, supported, unavailable, images: cluster.images, controllerName: found.controllerName, timeouts, options });
    succeeded = outcomes.every((o) => o.state !== 'failed');
    return outcomes;
  } finally {
    if (cluster.exportLogs && !succeeded) {
      const dir = join(dirname(options.junitOutput), 'kind-logs');
      options.progress(`▶ exporting the cluster's logs to ${dir}`);
      await cluster.exportLogs(dir).catch((err) => options.progress(`  could not export the logs: ${err instanceof Error ? err.message : String(err)}`));
    }
    forgetCluster();
    options.progress('▶ cleanup');
    await cluster.teardown();
  }
}

interface SuiteRun {
  report: Omit<RunResult, 'tests' | 'finishedAt'>;
  kc: KubeConfig;
  supported: Set<string>;
  unavailable: Map<string, string>;
  images?: Record<string, string>;
  controllerName: string;
  timeouts: TimeoutConfig;
  options: ConformanceOptions;
}

async function runSuites(tests: ConformanceTest[], run: SuiteRun): Promise<TestOutcome[]> {
  const { options } = run;
  const mocha = new Mocha({ reporter: 'spec', timeout: 0, bail: options.failFast, ...(options.grep ? { grep: options.grep } : {}) });
  const outcomes: TestOutcome[] = [];
  const bySuite = new Map<string, ConformanceTest[]>();
  for (const test of tests) bySuite.set(test.suite, [...(bySuite.get(test.suite) ?? []), test]);
  const byTitle = new Map<string, ConformanceTest>();
  const skipReasons = new Map<string, string>();
  for (const [name, suiteTests] of bySuite) {
    const suite = Mocha.Suite.create(mocha.suite, name);
    const skipped = addConformanceTests(suite, suiteTests, () => ({
      kc: () => run.kc,
      implementation: { gatewayClass: options.gatewayClass, ingressClass: options.ingressClass, controllerName: run.controllerName ?? ourControllerName },
      timeouts: run.timeouts,
      supportedFeatures: run.supported,
      unavailableFeatures: run.unavailable,
      context: { images: run.images },
      keepNamespaces: !options.cleanupBaseResources,
    }));
    for (const [shortName, reason] of skipped) skipReasons.set(shortName, reason);
    for (const test of suiteTests) byTitle.set(test.shortName, test);
  }
  options.progress(`▶ suites: ${[...bySuite.keys()].join(', ')} (${tests.length} tests)`);
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    const find = (title: string) => byTitle.get(title.split(':')[0]!);
    runner.on('pass', (t) => outcomes.push({ test: find(t.title)!, state: 'passed', durationMs: t.duration ?? 0 }));
    runner.on('fail', (t, err) => {
      const test = find(t.title);
      if (test) outcomes.push({ test, state: 'failed', durationMs: t.duration ?? 0, failure: err instanceof Error ? err.message : String(err) });
    });
    runner.on('pending', (t) => {
      const test = find(t.title)!;
      outcomes.push({ test, state: 'skipped', durationMs: 0, skipReason: skipReasons.get(test.shortName) ?? 'skipped' });
    });
  });
  await writeReports(outcomes, run.report, options);
  return outcomes;
}

async function writeReports(outcomes: TestOutcome[], run: Omit<RunResult, 'tests' | 'finishedAt'>, options: ConformanceOptions): Promise<RunResult> {
  const result: RunResult = {
    ...run,
    finishedAt: new Date().toISOString(),
    tests: outcomes.map((o) => ({
      shortName: o.test.shortName,
      suite: o.test.suite,
      title: o.test.description,
      features: o.test.features,
      profile: o.test.profile,
      extended: o.test.extended ?? false,
      state: o.state,
      durationMs: o.durationMs,
      ...(o.state === 'skipped' ? { skipReason: o.skipReason ?? 'skipped', skipCause: o.skipReason?.startsWith('unsupported') ? ('unsupported-features' as const) : ('excluded' as const) } : {}),
      ...(o.failure ? { failure: { message: o.failure.split('\n')[0]!, details: o.failure } } : {}),
    })),
  };
  await writeJUnit(result, options.junitOutput);
  await writeConformanceReport(result, options.reportOutput);
  await appendStepSummary(renderMarkdownSummary(result));
  return result;
}
