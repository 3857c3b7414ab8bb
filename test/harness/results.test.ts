import { expect } from 'chai';
import { PortcullisError } from '../../src/lib/errors.js';
import { assertReportableRun, runResultProblems, runTotals, testsBySuite, type TestResult } from '../../src/harness/reporting/results.js';
import { failedTest, passedTest, runOf, skippedTest } from './run-fixture.js';

describe('harness reporting: run results', () => {
  it('counts each state and sums durations', () => {
    expect(runTotals([passedTest, failedTest, skippedTest])).to.deep.equal({ total: 3, passed: 1, failed: 1, skipped: 1, durationMs: 31250 });
    expect(runTotals([])).to.deep.equal({ total: 0, passed: 0, failed: 0, skipped: 0, durationMs: 0 });
  });

  it('groups tests by suite in the order suites first appear', () => {
    const third = { ...passedTest, shortName: 'Another' };
    const groups = testsBySuite([skippedTest, passedTest, third, failedTest]);
    expect([...groups.keys()]).to.deep.equal(['passthrough', 'termination']);
    expect(groups.get('termination')!.map((t) => t.shortName)).to.deep.equal(['HTTPRouteTerminatesWithoutSNI', 'Another', 'GatewaySecretRotation']);
  });

  it('finds nothing wrong with a consistent run', () => {
    expect(runResultProblems(runOf([passedTest, failedTest, skippedTest]))).to.deep.equal([]);
  });

  const broken: Array<[string, TestResult, string]> = [
    ['a failed test needs a failure message', { ...failedTest, failure: undefined }, 'test GatewaySecretRotation failed without a failure message'],
    ['a passed test cannot carry a failure', { ...passedTest, failure: { message: 'x', details: '' } }, 'test HTTPRouteTerminatesWithoutSNI is passed but carries a failure'],
    ['a skipped test needs a reason', { ...skippedTest, skipReason: undefined }, 'test TLSRouteMixedMode was skipped without a reason'],
    ['only a skipped test has a skip cause', { ...passedTest, skipCause: 'excluded' }, 'test HTTPRouteTerminatesWithoutSNI is passed but carries a skip cause'],
    ['a duration is a non-negative number', { ...passedTest, durationMs: -1 }, 'test HTTPRouteTerminatesWithoutSNI has duration -1'],
    ['the state is one of three', { ...passedTest, state: 'pending' as TestResult['state'] }, 'test HTTPRouteTerminatesWithoutSNI has unknown state "pending"'],
  ];
  for (const [rule, test, problem] of broken) {
    it(`rejects a run where ${rule}`, () => {
      expect(runResultProblems(runOf([test]))).to.deep.equal([problem]);
    });
  }

  it('rejects duplicate shortNames and an empty implementation', () => {
    const run = runOf([passedTest, passedTest]);
    run.implementation = { ...run.implementation, contact: [], url: '' };
    run.finishedAt = 'later';
    expect(runResultProblems(run)).to.deep.equal([
      'implementation.url is empty',
      'implementation.contact is empty',
      'finishedAt "later" is not an ISO 8601 time',
      'test HTTPRouteTerminatesWithoutSNI appears more than once',
    ]);
  });

  it('throws one PortcullisError naming every problem', () => {
    try {
      assertReportableRun(runOf([{ ...failedTest, failure: undefined }, { ...skippedTest, skipReason: '' }]));
      expect.fail('expected a PortcullisError');
    } catch (err) {
      expect(err).to.be.instanceOf(PortcullisError);
      expect((err as PortcullisError).code).to.equal('BAD_RUN_RESULT');
      expect((err as Error).message).to.equal(
        'the run result cannot be reported: test GatewaySecretRotation failed without a failure message; test TLSRouteMixedMode was skipped without a reason (fix the runner that built it)',
      );
    }
  });
});
