// Lints .github/workflows: the structure GitHub accepts, pinned actions, known
// inputs, declared matrix dimensions, npm commands that exist, and what each
// workflow is for (the conformance matrix, the local job as root, the reports).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';
import { nodeImageFor, pinnedKindVersion } from '../../src/cluster/kind/node-images.js';
import { jobsOf, lintWorkflow, parseWorkflow, stepsOf, type LintContext } from './workflow-lint.js';

const context: LintContext = {
  scripts: (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts,
  hasLockfile: existsSync(join(packageRoot, 'package-lock.json')),
};

const workflow = (name: string) => parseWorkflow(readFileSync(join(packageRoot, '.github', 'workflows', name), 'utf8')) as Record<string, any>;

/** The Gateway API releases tools/gateway-api/go.sum pins, oldest first. */
function pinnedGatewayApiVersions(): string[] {
  const goSum = readFileSync(join(packageRoot, 'tools', 'gateway-api', 'go.sum'), 'utf8');
  const versions = goSum
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([module, version]) => module === 'sigs.k8s.io/gateway-api' && version && !version.endsWith('/go.mod'))
    .map(([, version]) => version!);
  const key = (v: string) => v.slice(1).split('.').map(Number);
  return versions.sort((a, b) => key(a)[0]! - key(b)[0]! || key(a)[1]! - key(b)[1]! || key(a)[2]! - key(b)[2]!);
}

const uses = (step: Record<string, unknown>, action: string) => typeof step.uses === 'string' && step.uses.startsWith(`${action}@`);

function expectReportsUploadedAndPublished(steps: Record<string, any>[]): void {
  const upload = steps.find((step) => uses(step, 'actions/upload-artifact'));
  expect(upload, 'an upload-artifact step').to.not.equal(undefined);
  expect(upload!.if).to.equal('always()');
  expect(String(upload!.with.path).trim().split('\n')).to.deep.equal(['reports/junit.xml', 'reports/conformance-report.yaml']);
  const publish = steps.find((step) => uses(step, 'mikepenz/action-junit-report'));
  expect(publish, 'a JUnit publishing step').to.not.equal(undefined);
  expect(publish!.if).to.equal('always()');
  expect(publish!.with.report_paths).to.equal('reports/junit.xml');
}

function expectToolchains(steps: Record<string, any>[]): void {
  expect(steps.find((step) => uses(step, 'actions/setup-node'))?.with['node-version']).to.equal(20);
  expect(steps.find((step) => uses(step, 'actions/setup-go'))?.with['go-version']).to.equal('1.26.x');
}

describe('GitHub Actions workflows', () => {
  for (const name of ['conformance.yml', 'ci.yml']) {
    it(`${name} passes the lint`, () => {
      expect(lintWorkflow(workflow(name), context)).to.deep.equal([]);
    });
  }

  describe('conformance.yml', () => {
    const conformance = workflow('conformance.yml');

    it('pins the kind release whose node images src/cluster/kind/node-images.ts lists', () => {
      expect(conformance.env.KIND_VERSION).to.equal(pinnedKindVersion);
    });

    it('runs a matrix of ≥3 Kubernetes versions × Gateway API v1.1.0 and the newest pin × both channels', () => {
      const matrix = conformance.jobs.kind.strategy.matrix;
      expect(matrix.kubernetes.length).to.be.at.least(3);
      for (const version of matrix.kubernetes) expect(() => nodeImageFor(String(version)), `node image for ${version}`).not.to.throw();
      const pinned = pinnedGatewayApiVersions();
      expect(matrix['gateway-api']).to.include.members(['v1.1.0', pinned.at(-1)!]);
      for (const version of matrix['gateway-api']) expect(pinned).to.include(version);
      expect(matrix.channel).to.have.members(['experimental', 'standard']);
      expect(conformance.jobs.kind.strategy['fail-fast']).to.equal(false);
    });

    it('passes each matrix dimension to `npm run conformance` on kind', () => {
      const runs = stepsOf(conformance, 'kind').map((step) => step.run).filter((run): run is string => typeof run === 'string');
      expect(runs).to.include(
        'npm run conformance -- --provider kind --k8s-version ${{ matrix.kubernetes }} --gateway-api-version ${{ matrix.gateway-api }} --channel ${{ matrix.channel }}',
      );
      expectToolchains(stepsOf(conformance, 'kind'));
    });

    it('has a local-provider job that runs as root with Node 20 and Go 1.26', () => {
      const steps = stepsOf(conformance, 'local');
      expect(steps.map((step) => step.run)).to.include('sudo -E env PATH=$PATH npm run conformance -- --provider local');
      expectToolchains(steps);
    });

    it('uploads both reports and publishes the JUnit results from every job, even after a failure', () => {
      expect(Object.keys(jobsOf(conformance))).to.have.members(['kind', 'local']);
      for (const id of Object.keys(jobsOf(conformance))) expectReportsUploadedAndPublished(stepsOf(conformance, id));
      expect(conformance.permissions).to.deep.equal({ contents: 'read', checks: 'write' });
    });
  });

  describe('ci.yml', () => {
    it('runs `npm ci` then `npm test` as root with Node 20 and Go 1.26', () => {
      const ci = workflow('ci.yml');
      const steps = stepsOf(ci, 'test');
      const runs = steps.map((step) => step.run).filter(Boolean);
      expect(runs).to.deep.equal(['sudo -E env PATH=$PATH npm ci', 'sudo -E env PATH=$PATH npm test']);
      expectToolchains(steps);
    });
  });

  describe('the lint itself', () => {
    const valid = () => ({
      name: 'w',
      on: { push: {} },
      permissions: { contents: 'read' },
      jobs: {
        test: {
          'runs-on': 'ubuntu-24.04',
          'timeout-minutes': 10,
          strategy: { matrix: { node: [20] } },
          steps: [{ uses: 'actions/checkout@v7' }, { run: 'npm ci && npm test -- ${{ matrix.node }}' }],
        },
      },
    });
    const lint = (mutate: (w: any) => void) => {
      const w = valid();
      mutate(w);
      return lintWorkflow(w, { scripts: { test: 'mocha', conformance: 'x' }, hasLockfile: true });
    };

    const rows: Array<[string, (w: any) => void, string[]]> = [
      ['a valid workflow has no problems', () => {}, []],
      ['top-level permissions are required', (w) => delete w.permissions, ['top-level "permissions" is missing']],
      ['an unknown event is caught', (w) => (w.on = { pushed: {} }), ['"on" has unknown event "pushed"']],
      ['an empty jobs mapping is caught', (w) => (w.jobs = {}), ['"jobs" must be a non-empty mapping']],
      ['a job without steps is caught', (w) => (w.jobs.test.steps = []), ['job test: steps must be a non-empty list']],
      ['a job without a timeout is caught', (w) => delete w.jobs.test['timeout-minutes'], ['job test: timeout-minutes must be set (a number), so a hung cluster cannot hold a runner for 6 hours']],
      ['an action on a branch is not pinned', (w) => (w.jobs.test.steps[0].uses = 'actions/checkout@main'), ['job test step 1: uses "actions/checkout@main" is not pinned to a release (owner/repo@vN or a commit SHA)']],
      ['an action without a ref is not pinned', (w) => (w.jobs.test.steps[0].uses = 'actions/checkout'), ['job test step 1: uses "actions/checkout" is not pinned to a release (owner/repo@vN or a commit SHA)']],
      ['a misspelt input is caught', (w) => (w.jobs.test.steps[0].with = { 'fetch-deph': 1 }), ['job test step 1: actions/checkout has no input "fetch-deph"']],
      ['a step with both uses and run is caught', (w) => (w.jobs.test.steps[0].run = 'ls'), ['job test step 1: a step has exactly one of uses or run']],
      ['an unknown step key is caught', (w) => (w.jobs.test.steps[1].working_directory = 'x'), ['job test step 2: unknown step key "working_directory"']],
      ['an undeclared matrix dimension is caught', (w) => (w.jobs.test.steps[1].run = 'echo ${{ matrix.nodes }}'), ['job test step 2: ${{ matrix.nodes }} names matrix.nodes, which the job\'s matrix does not declare']],
      ['an empty matrix dimension is caught', (w) => (w.jobs.test.strategy.matrix.node = []), ['job test: matrix dimension "node" must be a non-empty list']],
      ['an unknown context is caught', (w) => (w.jobs.test.steps[1].run = 'echo ${{ gihub.ref }}'), ['job test step 2: ${{ gihub.ref }} uses unknown context "gihub"']],
      ['an unclosed expression is caught', (w) => (w.jobs.test.steps[1].run = 'echo ${{ github.ref'), ['job test step 2: an expression ${{ is not closed']],
      ['an npm script package.json lacks is caught', (w) => (w.jobs.test.steps[1].run = 'npm run conformence -- --provider local'), ['job test step 2: `npm run conformence` names no script of package.json']],
    ];
    for (const [rule, mutate, problems] of rows) {
      it(rule, () => {
        expect(lint(mutate)).to.deep.equal(problems);
      });
    }

    it('needs package-lock.json for npm ci', () => {
      expect(lintWorkflow(valid(), { scripts: { test: 'mocha' }, hasLockfile: false })).to.deep.equal(['job test step 2: `npm ci` needs package-lock.json']);
    });
  });
});
