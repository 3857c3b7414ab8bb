// A Gateway API ConformanceReport in the upstream format, so our results can be read
// (and submitted) like any implementation's. Shape, field names and rules follow
// sigs.k8s.io/gateway-api conformance/apis/v1 (ConformanceReport, ProfileReport,
// Status, Statistics, Result) and conformance/utils/suite/reports.go (how results
// are counted and summarised):
//
// - one ProfileReport per profile that has at least one counted test;
// - core result: failure if any core test failed, else partial if any was skipped,
//   else success; the same rule for extended, which is present only when at least
//   one extended test was counted;
// - Statistics fields have no JSON tags upstream, so they are `Passed`, `Skipped`,
//   `Failed`; upstream writes YAML from JSON, so every mapping's keys are sorted.
//
// Where our model has something upstream does not: a test skipped because the
// implementation does not claim one of its features is not counted when it is an
// Extended test (upstream's NOT_SUPPORTED, reported through unsupportedFeatures),
// but it is counted as skipped when it is a Core test, because a Core feature cannot
// be unsupported and hiding it would turn a gap into "success".
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { assertReportableRun, type ConformanceProfileName, type RunResult, type TestResult } from './results.js';

export type ConformanceResult = 'success' | 'partial' | 'failure';

export interface ConformanceStatistics {
  Passed: number;
  Skipped: number;
  Failed: number;
}

export interface ConformanceStatus {
  result: ConformanceResult;
  statistics: ConformanceStatistics;
  skippedTests?: string[];
  failedTests?: string[];
}

export interface ExtendedConformanceStatus extends ConformanceStatus {
  supportedFeatures?: string[];
  unsupportedFeatures?: string[];
}

export interface ProfileReport {
  name: ConformanceProfileName;
  summary: string;
  core: ConformanceStatus;
  extended?: ExtendedConformanceStatus;
}

export interface ConformanceReport {
  apiVersion: 'gateway.networking.k8s.io/v1';
  kind: 'ConformanceReport';
  implementation: RunResult['implementation'];
  date: string;
  gatewayAPIVersion: string;
  gatewayAPIChannel: string;
  mode: string;
  profiles: ProfileReport[];
}

interface Tally {
  passed: string[];
  skipped: string[];
  failed: string[];
}

const emptyTally = (): Tally => ({ passed: [], skipped: [], failed: [] });

/** Whether the report counts the test at all (upstream leaves NOT_SUPPORTED tests out). */
function isCounted(test: TestResult): boolean {
  return !(test.state === 'skipped' && test.extended && test.skipCause === 'unsupported-features');
}

function statusOf(tally: Tally): ConformanceStatus {
  const result: ConformanceResult = tally.failed.length > 0 ? 'failure' : tally.skipped.length > 0 ? 'partial' : 'success';
  const status: ConformanceStatus = {
    result,
    statistics: { Passed: tally.passed.length, Skipped: tally.skipped.length, Failed: tally.failed.length },
  };
  if (tally.skipped.length > 0) status.skippedTests = [...tally.skipped].sort();
  if (tally.failed.length > 0) status.failedTests = [...tally.failed].sort();
  return status;
}

function describeStatus(status: ConformanceStatus): string {
  switch (status.result) {
    case 'success':
      return 'succeeded';
    case 'partial':
      return `partially succeeded with ${status.statistics.Skipped} test skips`;
    case 'failure':
      return `failed with ${status.statistics.Failed} test failures`;
  }
}

/** Upstream's summary sentence, word for word: "Core tests succeeded. Extended tests failed with 1 test failures." */
export function profileSummary(core: ConformanceStatus, extended?: ConformanceStatus): string {
  const parts = [`Core tests ${describeStatus(core)}`];
  if (extended) parts.push(`Extended tests ${describeStatus(extended)}`);
  return `${parts.join('. ')}.`;
}

/** RFC 3339 in UTC without fractional seconds, as Go's time.RFC3339 writes it. */
export function rfc3339(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The report for a run; pure (the date is the run's finish time). */
export function buildConformanceReport(run: RunResult): ConformanceReport {
  assertReportableRun(run);
  const tallies = new Map<ConformanceProfileName, { core: Tally; extended?: Tally }>();
  // Only Gateway API profiles belong in a ConformanceReport; our Ingress tests stay in JUnit and the summary.
  for (const test of run.tests.filter(isCounted).filter((t) => t.profile.startsWith('GATEWAY-'))) {
    const entry = tallies.get(test.profile) ?? { core: emptyTally() };
    const tally = test.extended ? (entry.extended ??= emptyTally()) : entry.core;
    tally[test.state].push(test.shortName);
    tallies.set(test.profile, entry);
  }
  const profiles = [...tallies.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, tally]): ProfileReport => {
      const core = statusOf(tally.core);
      const profile: ProfileReport = { name, summary: '', core };
      if (tally.extended) {
        const extended: ExtendedConformanceStatus = statusOf(tally.extended);
        const features = run.profileFeatures?.[name];
        if (features?.supported.length) extended.supportedFeatures = [...features.supported].sort();
        if (features?.unsupported.length) extended.unsupportedFeatures = [...features.unsupported].sort();
        profile.extended = extended;
      }
      profile.summary = profileSummary(core, profile.extended);
      return profile;
    });
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'ConformanceReport',
    implementation: { ...run.implementation, contact: [...run.implementation.contact] },
    date: rfc3339(run.finishedAt),
    gatewayAPIVersion: run.gatewayAPIVersion,
    gatewayAPIChannel: run.gatewayAPIChannel,
    mode: run.mode,
    profiles,
  };
}

/**
 * YAML as upstream writes it (JSON through go-yaml): keys of every mapping sorted,
 * sequences not indented under their key, and strings a YAML 1.1 reader would take
 * for something else (the date as a timestamp, `on` as a boolean) quoted.
 */
export function renderConformanceReport(report: ConformanceReport): string {
  return stringify(report, { sortMapEntries: true, lineWidth: 0, indentSeq: false, version: '1.1' });
}

/** Builds, renders and writes the report to `file`, creating its directory. */
export async function writeConformanceReport(run: RunResult, file: string): Promise<void> {
  const yaml = renderConformanceReport(buildConformanceReport(run));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, yaml, 'utf8');
}
