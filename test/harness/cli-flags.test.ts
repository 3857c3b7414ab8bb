// Flags written the way the upstream suite's documentation writes them (Go's `flag` package:
// `--cleanup-base-resources=false`) mean the same here, and a wrong one is one line with the fix.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { normalizeBooleanFlags, parseFlags } from '../../src/lib/flags.js';
import { errorOf } from './portcullis-error.js';

const options = {
  'cleanup-base-resources': { type: 'boolean', default: true },
  'keep-cluster': { type: 'boolean', default: false },
  'run-test': { type: 'string' },
} as const;

describe('command-line flags', () => {
  it('a switch may be written --x, --no-x, --x=true or --x=false', () => {
    const parse = (...args: string[]) => parseFlags(args, { options }).values;
    expect(parse()).to.include({ 'cleanup-base-resources': true, 'keep-cluster': false });
    expect(parse('--no-cleanup-base-resources')).to.include({ 'cleanup-base-resources': false });
    expect(parse('--cleanup-base-resources=false', '--keep-cluster=true')).to.include({ 'cleanup-base-resources': false, 'keep-cluster': true });
    expect(parse('--cleanup-base-resources=FALSE', '--cleanup-base-resources=1')).to.include({ 'cleanup-base-resources': true });
  });

  it('string values and everything after -- are left alone', () => {
    expect(normalizeBooleanFlags(['--run-test=a=false', '--', '--keep-cluster=false'], options)).to.deep.equal(['--run-test=a=false', '--', '--keep-cluster=false']);
    expect(parseFlags(['--run-test=x=false'], { options }).values['run-test']).to.equal('x=false');
  });

  it('a switch with another value, or an unknown flag, is one line naming the fix', () => {
    const bad = errorOf(() => parseFlags(['--keep-cluster=maybe'], { options }));
    expect(bad.code).to.equal('BAD_FLAG');
    expect(bad.message).to.equal('--keep-cluster=maybe: a switch takes true or false (or write --keep-cluster / --no-keep-cluster)');
    const unknown = errorOf(() => parseFlags(['--cleanup'], { options }));
    expect(unknown.code).to.equal('BAD_FLAG');
    expect(unknown.message).to.match(/^Unknown option '--cleanup'.*: see `portcullis help` for the flags$/);
    expect(unknown.message).not.to.contain('\n');
  });

  it('the portcullis command takes --cleanup-base-resources=false as upstream writes it', async () => {
    const bin = fileURLToPath(new URL('../../../bin/portcullis.js', import.meta.url));
    // An unknown provider is refused after the flags are parsed, before anything starts.
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [bin, 'conformance', ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    const parsed = await run('--cleanup-base-resources=false', '--provider', 'nowhere');
    expect(parsed).to.deep.equal({ code: 1, stderr: 'portcullis: --provider nowhere is not known: use auto, local, kind, k3s or existing\n' });
    const wrong = await run('--fail-fast=yes');
    expect(wrong).to.deep.equal({ code: 1, stderr: 'portcullis: --fail-fast=yes: a switch takes true or false (or write --fail-fast / --no-fail-fast)\n' });
  });
});
