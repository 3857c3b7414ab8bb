// The plain data of one conformance run: what ran, against what, and how each test
// ended. Every report (JUnit, ConformanceReport, Markdown summary) is a pure function
// of one RunResult, so the runner builds this value once and the writers never
// look at mocha or the cluster.
import { PortcullisError } from '../../lib/errors.js';

/** Who made the implementation under test; the fields of upstream's `Implementation`. */
export interface ImplementationInfo {
  organization: string;
  project: string;
  url: string;
  version: string;
  /** GitHub handles (`@user`, `@org/team`), e-mail addresses or a support URL. */
  contact: string[];
}

/** Our suite folders under `suites/`; open-ended so a new suite needs no change here. */
export type SuiteName = 'termination' | 'passthrough' | 'ingress' | 'status' | (string & {});

/** Upstream's conformance profile names (conformance/utils/suite/profiles.go). */
export type ConformanceProfileName = 'GATEWAY-HTTP' | 'GATEWAY-TLS' | 'GATEWAY-GRPC' | 'GATEWAY-TCP' | (string & {});

export type TestState = 'passed' | 'failed' | 'skipped';

/**
 * Why a test did not run. Upstream counts the two differently in a ConformanceReport:
 * a test whose features the implementation does not claim is not counted at all (its
 * features appear as unsupported), while a test left out on purpose is a skip.
 */
export type SkipCause = 'unsupported-features' | 'excluded';

export interface TestFailure {
  /** One line: what was expected and what was seen. */
  message: string;
  /** The evidence: request/response or handshake dump, the conditions actually present. */
  details: string;
}

export interface TestResult {
  /** Upstream-style identifier, e.g. `TLSRouteSimpleSameNamespace`; unique in a run. */
  shortName: string;
  suite: SuiteName;
  title: string;
  /** Gateway API feature names the test needs, e.g. `Gateway`, `TLSRoute`, `ReferenceGrant`. */
  features: string[];
  profile: ConformanceProfileName;
  /** True when the test covers an Extended feature of its profile, false for Core. */
  extended: boolean;
  state: TestState;
  /** Required when state is `skipped`: said to the reader as is. */
  skipReason?: string;
  /** Defaults to `excluded` (counted as skipped everywhere). */
  skipCause?: SkipCause;
  durationMs: number;
  /** Required when state is `failed`. */
  failure?: TestFailure;
}

export interface ProfileFeatures {
  /** Extended features of the profile the implementation claims (tests attempted). */
  supported: string[];
  /** Extended features of the profile it does not claim (tests not attempted). */
  unsupported: string[];
}

export interface RunResult {
  implementation: ImplementationInfo;
  /** e.g. `v1.6.3`. */
  gatewayAPIVersion: string;
  gatewayAPIChannel: 'standard' | 'experimental' | (string & {});
  /** Cluster provider: `local`, `kind`, `k3s`, `existing`. */
  provider: string;
  /** Upstream's operating mode; `default` unless the implementation has several. */
  mode: string;
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  tests: TestResult[];
  /** Per profile, the extended features claimed and not claimed, for the ConformanceReport. */
  profileFeatures?: Partial<Record<ConformanceProfileName, ProfileFeatures>>;
}

export interface RunTotals {
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
}

export function runTotals(tests: readonly TestResult[]): RunTotals {
  const totals: RunTotals = { total: tests.length, passed: 0, failed: 0, skipped: 0, durationMs: 0 };
  for (const test of tests) {
    totals[test.state] += 1;
    totals.durationMs += test.durationMs;
  }
  return totals;
}

/** The tests grouped by suite, suites in the order they first appear. */
export function testsBySuite(tests: readonly TestResult[]): Map<SuiteName, TestResult[]> {
  const suites = new Map<SuiteName, TestResult[]>();
  for (const test of tests) {
    const list = suites.get(test.suite) ?? [];
    list.push(test);
    suites.set(test.suite, list);
  }
  return suites;
}

/** Every inconsistency in a run, as sentences; empty when the run can be reported. */
export function runResultProblems(run: RunResult): string[] {
  const problems: string[] = [];
  for (const field of ['organization', 'project', 'url', 'version'] as const) {
    if (!run.implementation[field]) problems.push(`implementation.${field} is empty`);
  }
  if (run.implementation.contact.length === 0) problems.push('implementation.contact is empty');
  if (Number.isNaN(Date.parse(run.startedAt))) problems.push(`startedAt "${run.startedAt}" is not an ISO 8601 time`);
  if (Number.isNaN(Date.parse(run.finishedAt))) problems.push(`finishedAt "${run.finishedAt}" is not an ISO 8601 time`);
  const seen = new Set<string>();
  for (const test of run.tests) {
    const name = test.shortName || '(no shortName)';
    if (!test.shortName) problems.push(`a test of suite "${test.suite}" has no shortName`);
    if (seen.has(test.shortName)) problems.push(`test ${name} appears more than once`);
    seen.add(test.shortName);
    if (!['passed', 'failed', 'skipped'].includes(test.state)) problems.push(`test ${name} has unknown state "${test.state}"`);
    if (test.state === 'failed' && !test.failure) problems.push(`test ${name} failed without a failure message`);
    if (test.state !== 'failed' && test.failure) problems.push(`test ${name} is ${test.state} but carries a failure`);
    if (test.state === 'skipped' && !test.skipReason) problems.push(`test ${name} was skipped without a reason`);
    if (test.state !== 'skipped' && test.skipCause) problems.push(`test ${name} is ${test.state} but carries a skip cause`);
    if (!Number.isFinite(test.durationMs) || test.durationMs < 0) problems.push(`test ${name} has duration ${test.durationMs}`);
  }
  return problems;
}

/** Throws one PortcullisError listing every problem, so a bad run is never half reported. */
export function assertReportableRun(run: RunResult): void {
  const problems = runResultProblems(run);
  if (problems.length > 0) {
    throw new PortcullisError('BAD_RUN_RESULT', `the run result cannot be reported: ${problems.join('; ')} (fix the runner that built it)`);
  }
}
