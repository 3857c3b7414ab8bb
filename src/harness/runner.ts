// `portcullis conformance`: bring a cluster up (or use the current one), find what the
// implementation supports, run the suites with mocha, and write the reports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { PortcullisError } from '../lib/errors.js';
import { waitFor } from '../lib/kube.js';
import { startLocalCluster } from '../cluster/local/provider.js';
import { controllerName as ourControllerName, type GatewayClass } from '../controller/gatewayapi-types.js';
import { referenceTests } from '../../suites/reference/index.js';
import { terminationTests } from '../../suites/termination/index.js';
import { passthroughTests } from '../../suites/passthrough/index.js';
import { ingressTests } from '../../suites/ingress/index.js';
import { statusTests } from '../../suites/status/index.js';
import type { ConformanceTest } from './conformance-test.js';
import { addConformanceTests, missingFeatures } from './mocha-tests.js';
import { parseTimeoutOverrides, type TimeoutConfig } from './timeouts.js';
import { writeConformanceReport } from './reporting/conformance-report.js';
import { writeJUnit } from './reporting/junit.js';
import type { ImplementationInfo, RunResult } from './reporting/results.js';
import { appendStepSummary, renderMarkdownSummary } from './reporting/summary.js';
import { defaultGatewayApiVersion } from '../cluster/gateway-api.js';
import { packageRoot } from '../lib/paths.js';

const packageVersion = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

const portcullisImplementation: ImplementationInfo = {
  organization: 'portcullis',
  project: 'portcullis',
  url: 'https://portcullis.dev',
  version: `v${packageVersion}`,
  contact: ['@portcullis/maintainers'],
};

function gatewayApiVersionOf(provider: string): string {
  return provider === 'existing' ? 'unknown' : defaultGatewayApiVersion();
}

export interface ConformanceOptions {
  provider: 'auto' | 'local' | 'kind' | 'existing';
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

async function gatewayClassFeatures(kc: KubeConfig, name: string, timeouts: TimeoutConfig): Promise<{ features: Set<string>; controllerName: string }> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const gatewayClass = await waitFor({ what: `GatewayClass ${name} to be Accepted`, timeoutMs: timeouts.gatewayMustHaveAddressMs }, async () => {
    const found = (await custom.getClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gatewayclasses', name })) as GatewayClass;
    return found.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True') ? found : undefined;
  });
  const features = new Set((gatewayClass.status?.supportedFeatures ?? []).map((f) => (typeof f === 'string' ? f : f.name)));
  return { features, controllerName: gatewayClass.spec.controllerName };
}

export async function runConformance(options: ConformanceOptions): Promise<TestOutcome[]> {
  const timeouts = parseTimeoutOverrides(options.timeoutOverrides);
  const tests = selectTests(allTests, options);
  const provider = options.provider === 'auto' ? 'local' : options.provider;
  if (provider === 'kind') throw new PortcullisError('PROVIDER_UNAVAILABLE', '--provider kind is not implemented yet: use --provider local, or --provider existing with a cluster of your own');
  options.progress(`▶ cluster: provider ${provider}`);
  let kc: KubeConfig;
  let teardown: () => Promise<void> = async () => {};
  if (provider === 'existing') {
    kc = new KubeConfig();
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } else {
    const cluster = await startLocalCluster({ name: 'conformance', apiPort: 0, gatewayApiVersion: options.gatewayApiVersion, channel: options.channel, progress: (line) => options.progress(`  ${line}`) });
    kc = cluster.kubeConfig();
    if (!options.keepCluster) teardown = () => cluster.down();
    else options.progress(`  keeping the cluster: KUBECONFIG=${cluster.kubeconfigPath}`);
  }
  try {
    options.progress(`▶ implementation: GatewayClass ${options.gatewayClass}`);
    const found = await gatewayClassFeatures(kc, options.gatewayClass, timeouts);
    let supported = options.supportedFeatures ? new Set(options.supportedFeatures) : found.features;
    for (const exempt of options.exemptFeatures ?? []) supported.delete(exempt);
    supported = new Set(supported);
    options.progress(`  controller ${found.controllerName}; supported features: ${[...supported].sort().join(', ') || '(none declared)'}`);
    const report = {
      implementation: found.controllerName === ourControllerName ? portcullisImplementation : { organization: 'unknown', project: found.controllerName, url: '', version: '', contact: [] },
      gatewayAPIVersion: options.gatewayApiVersion ?? gatewayApiVersionOf(provider),
      gatewayAPIChannel: options.channel ?? 'experimental',
      provider,
      mode: 'default',
      startedAt: new Date().toISOString(),
    };
    return await runSuites(tests, { report, kc, supported, controllerName: found.controllerName, timeouts, options });
  } finally {
    options.progress('▶ cleanup');
    await teardown();
  }
}

interface SuiteRun {
  report: Omit<RunResult, 'tests' | 'finishedAt'>;
  kc: KubeConfig;
  supported: Set<string>;
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
  for (const [name, suiteTests] of bySuite) {
    const suite = Mocha.Suite.create(mocha.suite, name);
    addConformanceTests(suite, suiteTests, () => ({
      kc: () => run.kc,
      implementation: { gatewayClass: options.gatewayClass, ingressClass: options.ingressClass, controllerName: run.controllerName ?? ourControllerName },
      timeouts: run.timeouts,
      supportedFeatures: run.supported,
      keepNamespaces: !options.cleanupBaseResources && options.keepCluster,
    }));
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
      outcomes.push({ test, state: 'skipped', durationMs: 0, skipReason: missingFeatures(test, run.supported).length ? `unsupported features: ${missingFeatures(test, run.supported).join(', ')}` : 'skipped' });
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
