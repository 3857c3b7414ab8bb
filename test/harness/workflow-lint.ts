// A small GitHub Actions workflow linter for our own workflows, in place of
// actionlint (not packaged for Debian 12): the structure GitHub accepts (on, jobs,
// steps), every action pinned to a release, action inputs that exist, expressions
// that name declared matrix dimensions, and npm commands that package.json has.
import { parse } from 'yaml';

export interface LintContext {
  /** package.json `scripts`. */
  scripts: Record<string, string>;
  hasLockfile: boolean;
}

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);

const workflowKeys = new Set(['name', 'run-name', 'on', 'permissions', 'env', 'defaults', 'concurrency', 'jobs']);
const requiredWorkflowKeys = ['name', 'on', 'permissions', 'jobs'];
const events = new Set(['push', 'pull_request', 'pull_request_target', 'workflow_dispatch', 'schedule', 'workflow_call', 'release', 'merge_group']);
const jobKeys = new Set([
  'name', 'needs', 'permissions', 'runs-on', 'environment', 'concurrency', 'outputs', 'env', 'defaults', 'if', 'steps',
  'timeout-minutes', 'strategy', 'continue-on-error', 'container', 'services',
]);
const stepKeys = new Set(['id', 'if', 'name', 'uses', 'run', 'shell', 'with', 'env', 'working-directory', 'continue-on-error', 'timeout-minutes']);
const contexts = new Set(['github', 'env', 'vars', 'job', 'jobs', 'steps', 'runner', 'secrets', 'strategy', 'matrix', 'needs', 'inputs']);
const functions = new Set(['always', 'success', 'failure', 'cancelled', 'hashFiles', 'contains', 'startsWith', 'endsWith', 'format', 'join', 'toJSON', 'fromJSON']);

/** `owner/repo[/path]@vN[.N[.N]]` or a full commit SHA: never a branch. */
const pinnedUses = /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@(?:v\d+(?:\.\d+){0,2}|[0-9a-f]{40})$/;

/** Inputs of the actions we use, from each action's action.yml at the pinned major. */
export const knownActionInputs: Record<string, string[]> = {
  'actions/checkout': ['repository', 'ref', 'token', 'ssh-key', 'persist-credentials', 'path', 'clean', 'fetch-depth', 'fetch-tags', 'submodules', 'lfs', 'sparse-checkout'],
  'actions/setup-node': ['node-version', 'node-version-file', 'architecture', 'check-latest', 'registry-url', 'scope', 'token', 'cache', 'package-manager-cache', 'cache-dependency-path', 'mirror', 'mirror-token'],
  'actions/setup-go': ['go-version', 'go-version-file', 'check-latest', 'token', 'cache', 'cache-dependency-path', 'architecture', 'go-download-base-url'],
  'actions/upload-artifact': ['name', 'path', 'if-no-files-found', 'retention-days', 'compression-level', 'overwrite', 'include-hidden-files', 'archive'],
  'actions/cache': ['path', 'key', 'restore-keys', 'upload-chunk-size', 'enableCrossOsArchive', 'fail-on-cache-miss', 'lookup-only', 'save-always'],
  'mikepenz/action-junit-report': [
    'token', 'report_paths', 'group_reports', 'test_files_prefix', 'exclude_sources', 'annotate_only', 'check_annotations', 'update_check', 'check_name',
    'commit', 'fail_on_failure', 'fail_on_parse_error', 'require_tests', 'require_passed_tests', 'include_passed', 'include_skipped', 'check_title_template',
    'summary', 'job_summary', 'detailed_summary', 'flaky_summary', 'comment', 'annotations_limit', 'truncate_stack_traces',
  ],
};

export function parseWorkflow(text: string): unknown {
  return parse(text);
}

/** `${{ … }}` bodies; an unclosed one is reported by lintExpressions. */
function expressionsIn(text: string): string[] {
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]!.trim());
}

function lintExpressions(where: string, text: string, matrixDimensions: Set<string> | undefined, problems: string[]): void {
  if ((text.match(/\$\{\{/g) ?? []).length !== expressionsIn(text).length) problems.push(`${where}: an expression \${{ is not closed`);
  for (const expression of expressionsIn(text)) {
    const withoutStrings = expression.replace(/'[^']*'/g, "''");
    for (const [, name, rest] of withoutStrings.matchAll(/(?<![\w.-])([A-Za-z_][\w-]*)((?:\.[\w-]+)*)/g)) {
      if (functions.has(name!) || name === 'true' || name === 'false' || name === 'null') continue;
      if (!contexts.has(name!)) {
        problems.push(`${where}: \${{ ${expression} }} uses unknown context "${name}"`);
        continue;
      }
      if (name === 'matrix') {
        const dimension = rest!.split('.')[1];
        if (!matrixDimensions?.has(dimension ?? '')) problems.push(`${where}: \${{ ${expression} }} names matrix.${dimension}, which the job's matrix does not declare`);
      }
    }
  }
}

/** Every `npm …` command in a run script must name something package.json has. */
function lintNpmCommands(where: string, script: string, context: LintContext, problems: string[]): void {
  for (const [, verb, rest] of script.matchAll(/\bnpm\s+(run(?:-script)?|test|ci|install|start)\b\s*([^\s;&|]*)/g)) {
    if (verb === 'run' || verb === 'run-script') {
      if (!rest || !(rest in context.scripts)) problems.push(`${where}: \`npm run ${rest ?? ''}\` names no script of package.json`);
    } else if (verb === 'test' || verb === 'start') {
      if (!(verb in context.scripts)) problems.push(`${where}: \`npm ${verb}\` but package.json has no "${verb}" script`);
    } else if (verb === 'ci' && !context.hasLockfile) {
      problems.push(`${where}: \`npm ci\` needs package-lock.json`);
    }
  }
}

function lintStep(where: string, step: unknown, matrixDimensions: Set<string> | undefined, context: LintContext, problems: string[]): void {
  if (!isMapping(step)) {
    problems.push(`${where}: a step must be a mapping`);
    return;
  }
  for (const key of Object.keys(step)) if (!stepKeys.has(key)) problems.push(`${where}: unknown step key "${key}"`);
  const hasUses = 'uses' in step;
  const hasRun = 'run' in step;
  if (hasUses === hasRun) problems.push(`${where}: a step has exactly one of uses or run`);
  if (hasRun) {
    if (typeof step.run !== 'string' || step.run.trim() === '') problems.push(`${where}: run must be a non-empty script`);
    else lintNpmCommands(where, step.run, context, problems);
    if ('with' in step) problems.push(`${where}: with belongs to a uses step`);
  }
  if (hasUses) {
    const uses = String(step.uses);
    if (!pinnedUses.test(uses)) problems.push(`${where}: uses "${uses}" is not pinned to a release (owner/repo@vN or a commit SHA)`);
    const action = uses.split('@')[0]!;
    const inputs = knownActionInputs[action];
    if ('with' in step && !isMapping(step.with)) problems.push(`${where}: with must be a mapping`);
    if (inputs && isMapping(step.with)) {
      for (const input of Object.keys(step.with)) if (!inputs.includes(input)) problems.push(`${where}: ${action} has no input "${input}"`);
    }
  }
  lintExpressions(where, JSON.stringify(step), matrixDimensions, problems);
}

function matrixDimensionsOf(where: string, job: Mapping, problems: string[]): Set<string> | undefined {
  if (!('strategy' in job)) return undefined;
  const matrix = isMapping(job.strategy) ? job.strategy.matrix : undefined;
  if (!isMapping(matrix)) {
    problems.push(`${where}: strategy needs a matrix mapping`);
    return new Set();
  }
  const dimensions = new Set<string>();
  for (const [name, values] of Object.entries(matrix)) {
    if (name === 'include' || name === 'exclude') continue;
    if (!Array.isArray(values) || values.length === 0) problems.push(`${where}: matrix dimension "${name}" must be a non-empty list`);
    dimensions.add(name);
  }
  return dimensions;
}

function lintJob(id: string, job: unknown, context: LintContext, problems: string[]): void {
  const where = `job ${id}`;
  if (!/^[A-Za-z_][\w-]*$/.test(id)) problems.push(`${where}: a job id starts with a letter or _ and has only letters, digits, - and _`);
  if (!isMapping(job)) {
    problems.push(`${where}: a job must be a mapping`);
    return;
  }
  for (const key of Object.keys(job)) if (!jobKeys.has(key)) problems.push(`${where}: unknown job key "${key}"`);
  if (typeof job['runs-on'] !== 'string' || job['runs-on'] === '') problems.push(`${where}: runs-on must name a runner`);
  if (typeof job['timeout-minutes'] !== 'number') problems.push(`${where}: timeout-minutes must be set (a number), so a hung cluster cannot hold a runner for 6 hours`);
  const dimensions = matrixDimensionsOf(where, job, problems);
  const { steps, ...rest } = job;
  lintExpressions(where, JSON.stringify(rest), dimensions, problems);
  if (!Array.isArray(steps) || steps.length === 0) {
    problems.push(`${where}: steps must be a non-empty list`);
    return;
  }
  steps.forEach((step, index) => {
    const name = isMapping(step) && typeof step.name === 'string' ? ` (${step.name})` : '';
    lintStep(`${where} step ${index + 1}${name}`, step, dimensions, context, problems);
  });
}

/** Every structural problem of a parsed workflow, as sentences; empty when it is fine. */
export function lintWorkflow(workflow: unknown, context: LintContext): string[] {
  const problems: string[] = [];
  if (!isMapping(workflow)) return ['the workflow must be a mapping'];
  for (const key of Object.keys(workflow)) if (!workflowKeys.has(key)) problems.push(`unknown top-level key "${key}"`);
  for (const key of requiredWorkflowKeys) if (!(key in workflow)) problems.push(`top-level "${key}" is missing`);
  const on = workflow.on;
  if ('on' in workflow && !isMapping(on)) problems.push('"on" must be a mapping of events');
  if (isMapping(on)) for (const event of Object.keys(on)) if (!events.has(event)) problems.push(`"on" has unknown event "${event}"`);
  const { jobs, ...rest } = workflow;
  lintExpressions('workflow', JSON.stringify(rest), undefined, problems);
  if ('jobs' in workflow && (!isMapping(jobs) || Object.keys(jobs).length === 0)) problems.push('"jobs" must be a non-empty mapping');
  if (isMapping(jobs)) for (const [id, job] of Object.entries(jobs)) lintJob(id, job, context, problems);
  return problems;
}

/** The steps of a job, as mappings (for the policy checks of the tests). */
export function stepsOf(workflow: unknown, jobId: string): Mapping[] {
  if (!isMapping(workflow) || !isMapping(workflow.jobs)) return [];
  const job = workflow.jobs[jobId];
  return isMapping(job) && Array.isArray(job.steps) ? job.steps.filter(isMapping) : [];
}

export function jobsOf(workflow: unknown): Record<string, Mapping> {
  if (!isMapping(workflow) || !isMapping(workflow.jobs)) return {};
  return Object.fromEntries(Object.entries(workflow.jobs).filter((entry): entry is [string, Mapping] => isMapping(entry[1])));
}
