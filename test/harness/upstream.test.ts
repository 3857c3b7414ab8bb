import { expect } from 'chai';
import { parseResultLine, readUpstreamReport, suiteArguments } from '../../src/harness/upstream/run.js';
import { upstreamSuiteVersion } from '../../src/harness/upstream/suite-build.js';

describe('the official conformance suite runner (pure parts)', () => {
  it('reads the suite version from tools/conformance/go.mod, and refuses a go.mod without the suite', () => {
    expect(upstreamSuiteVersion()).to.match(/^v1\.\d+\.\d+$/);
    expect(upstreamSuiteVersion('module x\nrequire sigs.k8s.io/gateway-api/conformance v1.5.1\n')).to.equal('v1.5.1');
    expect(upstreamSuiteVersion('module x\nrequire (\n\tsigs.k8s.io/gateway-api/conformance v1.6.3\n)\n')).to.equal('v1.6.3');
    expect(() => upstreamSuiteVersion('module x\n')).to.throw(/does not require sigs\.k8s\.io\/gateway-api\/conformance/);
  });

  it("passes our options as the suite's own flags, with the user's extra flags last", () => {
    const args = suiteArguments(
      { gatewayClass: 'other', profiles: ['GATEWAY-TLS'], runTest: 'TLSRouteSimpleSameNamespace', skipTests: ['A', 'B'], exemptFeatures: ['GatewayPort8080'], outputDir: 'x', timeout: '20m', suiteArgs: ['--debug'] },
      '/r/report.yaml',
    );
    expect(args).to.deep.equal([
      '-test.v', '-test.run', '^TestPortcullisConformance$', '-test.timeout', '20m',
      '--gateway-class', 'other', '--conformance-profiles', 'GATEWAY-TLS', '--report-output', '/r/report.yaml',
      '--run-test', 'TLSRouteSimpleSameNamespace', '--skip-tests', 'A,B', '--exempt-features', 'GatewayPort8080', '--debug',
    ]);
    expect(args, 'features are read from the GatewayClass unless given').not.to.include('--supported-features');
  });

  it('picks top-level test results out of `go test -v` output, and nothing else', () => {
    expect(parseResultLine('    --- PASS: TestPortcullisConformance/GatewayModifyListeners (1.36s)')).to.deep.equal({ name: 'GatewayModifyListeners', state: 'passed', seconds: 1.36 });
    expect(parseResultLine('    --- FAIL: TestPortcullisConformance/TLSRouteHostnameIntersection (120.39s)')).to.deep.equal({ name: 'TLSRouteHostnameIntersection', state: 'failed', seconds: 120.39 });
    expect(parseResultLine('    --- SKIP: TestPortcullisConformance/MeshBasic (0.00s)')?.state).to.equal('skipped');
    expect(parseResultLine('        --- PASS: TestPortcullisConformance/GatewayModifyListeners/should_add (0.90s)'), 'a subtest').to.equal(undefined);
    expect(parseResultLine('--- FAIL: TestPortcullisConformance (303.38s)'), 'the whole run').to.equal(undefined);
  });

  it("reads each profile's core and extended results from the suite's ConformanceReport", () => {
    const profiles = readUpstreamReport(`apiVersion: gateway.networking.k8s.io/v1
kind: ConformanceReport
profiles:
- core:
    failedTests:
    - TLSRouteHostnameIntersection
    result: failure
    statistics:
      Failed: 1
      Passed: 17
      Skipped: 0
  extended:
    result: success
    statistics:
      Failed: 0
      Passed: 2
      Skipped: 0
    supportedFeatures:
    - TLSRouteModeTerminate
    unsupportedFeatures:
    - TLSRouteModeMixed
  name: GATEWAY-TLS
`);
    expect(profiles).to.deep.equal([
      {
        name: 'GATEWAY-TLS',
        core: { result: 'failure', passed: 17, failed: 1, skipped: 0, failedTests: ['TLSRouteHostnameIntersection'], skippedTests: [] },
        extended: { result: 'success', passed: 2, failed: 0, skipped: 0, failedTests: [], skippedTests: [], supportedFeatures: ['TLSRouteModeTerminate'], unsupportedFeatures: ['TLSRouteModeMixed'] },
      },
    ]);
    expect(readUpstreamReport('kind: ConformanceReport\nprofiles: null\n'), 'a run that stopped in setup').to.deep.equal([]);
  });
});
