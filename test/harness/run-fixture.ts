// A small run for the reporting tests: one test per state, in two suites.
import type { RunResult, TestResult } from '../../src/harness/reporting/results.js';

export const passedTest: TestResult = {
  shortName: 'HTTPRouteTerminatesWithoutSNI',
  suite: 'termination',
  title: 'scenario 1 with no SNI, routed by Host',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  extended: false,
  state: 'passed',
  durationMs: 1250,
};

export const failedTest: TestResult = {
  shortName: 'GatewaySecretRotation',
  suite: 'termination',
  title: 'rotated Secret served within MaxTimeToConsistency',
  features: ['Gateway', 'HTTPRoute'],
  profile: 'GATEWAY-HTTP',
  extended: false,
  state: 'failed',
  durationMs: 30000,
  failure: {
    message: 'expected serial 02, saw 01 <after 30s>',
    details: 'served: CN=demo.example.com serial=01\nconditions: Programmed=True',
  },
};

export const skippedTest: TestResult = {
  shortName: 'TLSRouteMixedMode',
  suite: 'passthrough',
  title: 'terminate and passthrough on one port',
  features: ['Gateway', 'TLSRoute', 'TLSRouteModeMixed'],
  profile: 'GATEWAY-TLS',
  extended: true,
  state: 'skipped',
  skipReason: 'feature TLSRouteModeMixed is not supported by GatewayClass portcullis',
  skipCause: 'unsupported-features',
  durationMs: 0,
};

export function runOf(tests: TestResult[], overrides: Partial<RunResult> = {}): RunResult {
  return {
    implementation: {
      organization: 'portcullis',
      project: 'portcullis',
      url: 'https://github.com/portcullis/portcullis',
      version: 'v0.1.0',
      contact: ['@portcullis/maintainers'],
    },
    gatewayAPIVersion: 'v1.6.3',
    gatewayAPIChannel: 'experimental',
    provider: 'local',
    mode: 'default',
    startedAt: '2026-03-01T10:00:00.000Z',
    finishedAt: '2026-03-01T10:02:05.500Z',
    tests,
    ...overrides,
  };
}
