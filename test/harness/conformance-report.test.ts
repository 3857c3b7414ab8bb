import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  buildConformanceReport,
  profileSummary,
  renderConformanceReport,
  rfc3339,
  writeConformanceReport,
  type ConformanceStatus,
} from '../../src/harness/reporting/conformance-report.js';
import type { TestResult } from '../../src/harness/reporting/results.js';
import { failedTest, passedTest, runOf, skippedTest } from './run-fixture.js';

const tlsCore: TestResult = { ...passedTest, shortName: 'TLSRouteSimpleSameNamespace', suite: 'passthrough', features: ['Gateway', 'TLSRoute'], profile: 'GATEWAY-TLS' };
const tlsExtended: TestResult = { ...tlsCore, shortName: 'TLSRouteTerminateSimple', features: ['Gateway', 'TLSRoute', 'TLSRouteModeTerminate'], extended: true };
const tlsCoreExcluded: TestResult = {
  ...tlsCore,
  shortName: 'TLSRouteInvalidReferenceGrant',
  state: 'skipped',
  skipReason: 'excluded by --skip-tests',
  skipCause: 'excluded',
  durationMs: 0,
};

const status = (result: ConformanceStatus['result'], Passed: number, Skipped: number, Failed: number): ConformanceStatus => ({
  result,
  statistics: { Passed, Skipped, Failed },
});

describe('harness reporting: Gateway API ConformanceReport', () => {
  const run = runOf([passedTest, failedTest, skippedTest, tlsCore, tlsExtended, tlsCoreExcluded], {
    profileFeatures: { 'GATEWAY-TLS': { supported: ['TLSRouteModeTerminate'], unsupported: ['TLSRouteModeMixed'] } },
  });

  it('writes the upstream YAML: sorted keys, Statistics in capitals, results per profile and level', () => {
    expect(renderConformanceReport(buildConformanceReport(run))).to.equal(
      [
        'apiVersion: gateway.networking.k8s.io/v1',
        'date: "2026-03-01T10:02:05Z"',
        'gatewayAPIChannel: experimental',
        'gatewayAPIVersion: v1.6.3',
        'implementation:',
        '  contact:',
        '  - "@portcullis/maintainers"',
        '  organization: portcullis',
        '  project: portcullis',
        '  url: https://github.com/portcullis/portcullis',
        '  version: v0.1.0',
        'kind: ConformanceReport',
        'mode: default',
        'profiles:',
        '- core:',
        '    failedTests:',
        '    - GatewaySecretRotation',
        '    result: failure',
        '    statistics:',
        '      Failed: 1',
        '      Passed: 1',
        '      Skipped: 0',
        '  name: GATEWAY-HTTP',
        '  summary: Core tests failed with 1 test failures.',
        '- core:',
        '    result: partial',
        '    skippedTests:',
        '    - TLSRouteInvalidReferenceGrant',
        '    statistics:',
        '      Failed: 0',
        '      Passed: 1',
        '      Skipped: 1',
        '  extended:',
        '    result: success',
        '    statistics:',
        '      Failed: 0',
        '      Passed: 1',
        '      Skipped: 0',
        '    supportedFeatures:',
        '    - TLSRouteModeTerminate',
        '    unsupportedFeatures:',
        '    - TLSRouteModeMixed',
        '  name: GATEWAY-TLS',
        '  summary: Core tests partially succeeded with 1 test skips. Extended tests succeeded.',
        '',
      ].join('\n'),
    );
  });

  it('reads back as the same report', () => {
    const report = buildConformanceReport(run);
    expect(parse(renderConformanceReport(report))).to.deep.equal(report);
  });

  it('leaves an extended test of an unclaimed feature out of the counts, as upstream does with NOT_SUPPORTED', () => {
    const report = buildConformanceReport(runOf([tlsCore, skippedTest]));
    expect(report.profiles).to.deep.equal([
      { name: 'GATEWAY-TLS', summary: 'Core tests succeeded.', core: status('success', 1, 0, 0) },
    ]);
  });

  it('counts a core test skipped for an unclaimed feature, so a gap never reads as success', () => {
    const coreUnsupported: TestResult = { ...tlsCoreExcluded, skipCause: 'unsupported-features', skipReason: 'TLSRoute not claimed' };
    const [profile] = buildConformanceReport(runOf([tlsCore, coreUnsupported])).profiles;
    expect(profile!.core).to.deep.equal({ ...status('partial', 1, 1, 0), skippedTests: ['TLSRouteInvalidReferenceGrant'] });
  });

  it('counts an excluded extended test as skipped and lists failures sorted', () => {
    const excludedExtended: TestResult = { ...tlsExtended, shortName: 'TLSRouteB', state: 'skipped', skipReason: 'excluded', skipCause: 'excluded', durationMs: 0 };
    const failA: TestResult = { ...tlsExtended, shortName: 'TLSRouteZ', state: 'failed', failure: { message: 'm', details: '' } };
    const failB: TestResult = { ...failA, shortName: 'TLSRouteA' };
    const [profile] = buildConformanceReport(runOf([tlsCore, excludedExtended, failA, failB])).profiles;
    expect(profile!.extended).to.deep.equal({ ...status('failure', 0, 1, 2), skippedTests: ['TLSRouteB'], failedTests: ['TLSRouteA', 'TLSRouteZ'] });
    expect(profile!.summary).to.equal('Core tests succeeded. Extended tests failed with 2 test failures.');
  });

  it('phrases summaries exactly as upstream reports.go does', () => {
    expect(profileSummary(status('failure', 5, 0, 3))).to.equal('Core tests failed with 3 test failures.');
    expect(profileSummary(status('success', 8, 0, 0), status('failure', 2, 0, 1))).to.equal('Core tests succeeded. Extended tests failed with 1 test failures.');
    expect(profileSummary(status('partial', 6, 2, 0), status('success', 3, 0, 0))).to.equal('Core tests partially succeeded with 2 test skips. Extended tests succeeded.');
  });

  it('dates the report in RFC 3339 UTC without fractions, like Go time.RFC3339', () => {
    expect(rfc3339('2026-03-01T11:02:05.999+01:00')).to.equal('2026-03-01T10:02:05Z');
  });

  it('writes the file, creating its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-report-'));
    try {
      const file = join(dir, 'reports', 'conformance-report.yaml');
      await writeConformanceReport(run, file);
      expect(await readFile(file, 'utf8')).to.equal(renderConformanceReport(buildConformanceReport(run)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves tests outside the Gateway API profiles (Ingress) out of the report', () => {
    const ingress: TestResult = { ...passedTest, shortName: 'IngressTermination', profile: 'INGRESS' };
    const report = buildConformanceReport(runOf([passedTest, ingress]));
    expect(report.profiles.map((p) => p.name)).to.deep.equal(['GATEWAY-HTTP']);
    expect(report.profiles[0]!.core.statistics).to.deep.equal({ Passed: 1, Skipped: 0, Failed: 0 });
  });
});
