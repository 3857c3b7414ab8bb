// Network slots are claimed machine-wide, so clusters of different state roots (another
// PORTCULLIS_HOME, another clone) never share addresses, even when they start at once.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimNetworkSlot, releaseNetworkSlot } from '../../src/cluster/local/provider.js';

describe('local provider: machine-wide network slot claims', function () {
  let root: string;
  const saved = { home: process.env.PORTCULLIS_HOME, slots: process.env.PORTCULLIS_SLOT_DIR };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'portcullis-slots-'));
    process.env.PORTCULLIS_SLOT_DIR = join(root, 'slots');
  });
  afterEach(() => {
    for (const [name, value] of [['PORTCULLIS_HOME', saved.home], ['PORTCULLIS_SLOT_DIR', saved.slots]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('gives clusters of two state roots different slots, and a freed slot to the next cluster', function () {
    process.env.PORTCULLIS_HOME = join(root, 'home-a');
    const a = claimNetworkSlot(join(root, 'home-a', 'one'));
    process.env.PORTCULLIS_HOME = join(root, 'home-b');
    const b = claimNetworkSlot(join(root, 'home-b', 'one'));
    expect(b, 'another state root, same machine').to.not.equal(a);
    expect(readFileSync(join(root, 'slots', String(a)), 'utf8')).to.equal(join(root, 'home-a', 'one'));

    releaseNetworkSlot(a, join(root, 'home-b', 'one'));
    expect(existsSync(join(root, 'slots', String(a))), 'only the owner releases a claim').to.equal(true);
    releaseNetworkSlot(a, join(root, 'home-a', 'one'));
    expect(existsSync(join(root, 'slots', String(a)))).to.equal(false);
    expect(claimNetworkSlot(join(root, 'home-b', 'two'))).to.equal(a);
  });

  it('takes over a claim whose cluster directory is gone (a state root deleted without `cluster down`)', function () {
    process.env.PORTCULLIS_HOME = join(root, 'home-a');
    const stale = claimNetworkSlot(join(root, 'home-a', 'gone'));
    rmSync(join(root, 'home-a'), { recursive: true, force: true });
    process.env.PORTCULLIS_HOME = join(root, 'home-b');
    expect(claimNetworkSlot(join(root, 'home-b', 'new'))).to.equal(stale);
  });
});
