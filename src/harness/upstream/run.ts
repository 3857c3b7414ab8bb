// `portcullis conformance-upstream` (npm run conformance:upstream): runs the official
// Gateway API conformance suite against an implementation. By default it brings up a
// local cluster with Portcullis installed and the CRDs of the suite's own version, runs
// the GATEWAY-HTTP, GATEWAY-TLS and GATEWAY-GRPC profiles with the features our
// GatewayClass declares (the suite reads them from status.supportedFeatures), and leaves
// the suite's ConformanceReport and its full log in reports/upstream/.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PortcullisError } from '../../lib/errors.js';
import { loadKubeConfig, rawGet, waitFor } from '../../lib/kube.js';
import { deleteLocalCluster, startLocalCluster } from '../../cluster/local/provider.js';
import { onInterrupt } from '../../lib/interrupt.js';
import { ensureUpstreamSuiteBinary, upstreamSuiteVersion } from './suite-build.js';

export const defaultUpstreamProfiles = ['GATEWAY-HTTP', 'GATEWAY-TLS', 'GATEWAY-GRPC'];

export interface UpstreamOptions {
  /** Run against this cluster instead of starting a local one (any implementation: pair with gatewayClass). */
  kubeconfig?: string;
  gatewayClass: string;
  profiles: string[];
  runTest?: string;
  skipTests?: string[];
  /** Features to test; when absent the suite reads the GatewayClass's status.supportedFeatures. */
  supportedFeatures?: string[];
  exemptFeatures?: string[];
  outputDir: string;
  keepCluster: boolean;
  /** The whole run's limit, passed to Go's test runner. */
  timeout: string;
  /** Extra flags for the suite, passed unchanged (after `--`). */
  suiteArgs: string[];
  progress: (line: string) => void;
}

export interface UpstreamTestResult {
  name: string;
  state: 'passed' | 'failed' | 'skipped';
  seconds: number;
}

export interface UpstreamProfileResult {
  name: string;
  core?: { result: string; passed: number; failed: number; skipped: number; failedTests: string[]; skippedTests: string[] };
  extended?: { result: string; passed: number; failed: number; skipped: number; failedTests: string[]; skippedTests: string[]; supportedFeatures: string[]; unsupportedFeatures: string[] };
}

export interface UpstreamOutcome {
  exitCode: number;
  tests: UpstreamTestResult[];
  profiles: UpstreamProfileResult[];
  reportPath: string;
  logPath: string;
  seconds: number;
}

/** The suite's own flags, built from our options; `suiteArgs` come last so a user's flag wins. */
export function suiteArguments(options: Omit<UpstreamOptions, 'progress' | 'kubeconfig' | 'keepCluster'>, reportPath: string): string[] {
  const args = ['-test.v', '-test.run', '^TestPortcullisConformance$', '-test.timeout', options.timeout, '--gateway-class', options.gatewayClass, '--conformance-profiles', options.profiles.join(','), '--report-output', reportPath];
  if (options.runTest) args.push('--run-test', options.runTest);
  if (options.skipTests?.length) args.push('--skip-tests', options.skipTests.join(','));
  if (options.supportedFeatures?.length) args.push('--supported-features', options.supportedFeatures.join(','));
  if (options.exemptFeatures?.length) args.push('--exempt-features', options.exemptFeatures.join(','));
  return [...args, ...options.suiteArgs];
}

const resultLine = /^ {4}--- (PASS|FAIL|SKIP): TestPortcullisConformance\/(\S+) \(([\d.]+)s\)/;
const states = { PASS: 'passed', FAIL: 'failed', SKIP: 'skipped' } as const;

/** A top-level test's result from one line of `go test -v` output, or undefined. */
export function parseResultLine(line: string): UpstreamTestResult | undefined {
  const match = resultLine.exec(line);
  if (!match) return undefined;
  return { name: match[2]!, state: states[match[1] as keyof typeof states], seconds: Number(match[3]) };
}

/** The per-profile results of the suite's ConformanceReport YAML. */
export function readUpstreamReport(text: string): UpstreamProfileResult[] {
  const report = parseYaml(text) as { profiles?: Array<Record<string, any>> | null };
  const summarise = (section: Record<string, any> | undefined) =>
    section && {
      result: String(section.result ?? 'unknown'),
      passed: Number(section.statistics?.Passed ?? 0),
      failed: Number(section.statistics?.Failed ?? 0),
      skipped: Number(section.statistics?.Skipped ?? 0),
      failedTests: (section.failedTests ?? []) as string[],
      skippedTests: (section.skippedTests ?? []) as string[],
    };
  return (report.profiles ?? []).map((profile) => {
    const extended = summarise(profile.extended);
    return {
      name: String(profile.name),
      core: summarise(profile.core),
      extended: extended && {
        ...extended,
        supportedFeatures: (profile.extended.supportedFeatures ?? []) as string[],
        unsupportedFeatures: (profile.extended.unsupportedFeatures ?? []) as string[],
      },
    };
  });
}

export async function runUpstreamConformance(options: UpstreamOptions): Promise<UpstreamOutcome> {
  const started = Date.now();
  const { progress } = options;
  const outputDir = resolve(options.outputDir);
  mkdirSync(outputDir, { recursive: true });
  const reportPath = join(outputDir, 'conformance-report.yaml');
  const logPath = join(outputDir, 'conformance.log');

  progress(`phase: build the Gateway API conformance suite ${upstreamSuiteVersion()}`);
  const binary = await ensureUpstreamSuiteBinary((line) => progress(`  ${line}`));

  let kubeconfig = options.kubeconfig;
  let teardown: (() => Promise<void>) | undefined;
  let forgetCluster: (() => void) | undefined;
  if (!kubeconfig) {
    progress(`phase: local cluster with Portcullis and the Gateway API ${upstreamSuiteVersion()} CRDs`);
    const forgetStarting = options.keepCluster ? () => {} : onInterrupt(() => deleteLocalCluster('upstream'), () => progress('interrupted while the cluster was starting: deleting it'));
    const cluster = await startLocalCluster({ name: 'upstream', apiPort: 0, gatewayApiVersion: upstreamSuiteVersion(), channel: 'experimental', progress: (line) => progress(`  ${line}`) }).finally(forgetStarting);
    kubeconfig = cluster.kubeconfigPath;
    if (!options.keepCluster) {
      teardown = () => cluster.down();
      forgetCluster = onInterrupt(teardown, () => progress('interrupted: deleting the local cluster'));
    }
    else progress(`  the cluster stays up (--keep-cluster): eval "$(npx portcullis cluster env --name upstream)"`);
  } else if (!existsSync(kubeconfig)) {
    throw new PortcullisError('NO_KUBECONFIG', `--kubeconfig ${kubeconfig} does not exist: pass the kubeconfig of the cluster whose implementation you want to test`);
  }

  try {
    await gatewayClassMustBeAccepted(kubeconfig, options.gatewayClass, !options.supportedFeatures?.length);
    progress(`phase: run profiles ${options.profiles.join(', ')} against GatewayClass ${options.gatewayClass} (log: ${logPath})`);
    const tests: UpstreamTestResult[] = [];
    const exitCode = await runSuite(binary, suiteArguments(options, reportPath), kubeconfig, logPath, (result) => {
      tests.push(result);
      if (result.state !== 'skipped') progress(`  ${result.state === 'passed' ? 'pass' : 'FAIL'} ${result.name} (${result.seconds.toFixed(1)}s)`);
    });
    if (tests.length === 0) {
      const said = readFileSync(logPath, 'utf8').split('\n').filter((line) => /Error:|Messages:|panic:/.test(line)).map((line) => line.trim()).slice(0, 6);
      throw new PortcullisError('SUITE_DID_NOT_RUN', `the conformance suite stopped before running any test (exit ${exitCode}): ${said.join(' ') || 'see the log'} (log: ${logPath})`);
    }
    const profiles = existsSync(reportPath) ? readUpstreamReport(readFileSync(reportPath, 'utf8')) : [];
    for (const profile of profiles) {
      for (const [kind, section] of [['core', profile.core], ['extended', profile.extended]] as const) {
        if (!section) continue;
        progress(`${profile.name} ${kind}: ${section.result} (${section.passed} passed, ${section.failed} failed, ${section.skipped} skipped)${section.failedTests.length ? `; failed: ${section.failedTests.join(', ')}` : ''}`);
      }
    }
    return { exitCode, tests, profiles, reportPath, logPath, seconds: (Date.now() - started) / 1000 };
  } finally {
    forgetCluster?.();
    await teardown?.();
  }
}

/**
 * The suite reads the features to test from the GatewayClass's status (unless given),
 * and refuses to start without any: wait for the class to be Accepted by its
 * controller and, when features are read from it, to list them.
 */
async function gatewayClassMustBeAccepted(kubeconfig: string, name: string, needsFeatures: boolean): Promise<void> {
  const kc = loadKubeConfig(kubeconfig);
  let seen = 'nothing yet';
  await waitFor(
    { timeoutMs: 60_000, intervalMs: 500, what: `GatewayClass ${name} to be Accepted${needsFeatures ? ' and to list its supportedFeatures' : ''}` },
    async () => {
      const response = await rawGet(kc, `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${name}`);
      if (response.status === 404) {
        seen = 'no such GatewayClass';
        return undefined;
      }
      if (response.status !== 200) throw new Error(`GET GatewayClass ${name}: HTTP ${response.status}`);
      const status = (JSON.parse(response.body) as { status?: { conditions?: { type: string; status: string }[]; supportedFeatures?: unknown[] } }).status;
      const accepted = status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True') ?? false;
      const features = status?.supportedFeatures?.length ?? 0;
      seen = `Accepted ${accepted}, ${features} supportedFeatures`;
      return accepted && (!needsFeatures || features > 0) ? true : undefined;
    },
    () => seen,
  ).catch((err: Error) => {
    throw new PortcullisError('GATEWAYCLASS_NOT_READY', `${err.message.split('\n')[0]} (seen: ${seen}): install the implementation, pass its class with --gateway-class, or list the features with --supported-features`);
  });
}

function runSuite(binary: string, args: string[], kubeconfig: string, logPath: string, onResult: (result: UpstreamTestResult) => void): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(logPath);
    const child = spawn(binary, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const onChunk = (chunk: string) => {
      log.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const result = parseResultLine(line);
        if (result) onResult(result);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onChunk);
    child.stderr.setEncoding('utf8').on('data', onChunk);
    child.on('error', reject);
    child.on('close', (code) => log.end(() => resolvePromise(code ?? 1)));
  });
}
