// The logger must never throw: the proxy's uncaught-exception handler logs, and a throw
// from there ends the process (Node exits 7), taking every connection with it.
import { expect } from 'chai';
import { createLogger } from '../../src/lib/log.js';

/** The lines the logger wrote to stderr while `run` ran, parsed. */
function captured(run: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    lines.push(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    run();
  } finally {
    process.stderr.write = original;
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('log: structured lines', () => {
  it('an Error field becomes its message and code', () => {
    const [line] = captured(() => createLogger('t').error('failed', { error: Object.assign(new Error('boom'), { code: 'E_BOOM' }) }));
    expect(line).to.include({ level: 'error', component: 't', msg: 'failed' });
    expect(line!['error']).to.deep.equal({ message: 'boom', code: 'E_BOOM' });
  });

  it('a field JSON cannot hold (a cycle, a BigInt, a throwing toJSON) is named, the line still goes out, the others intact', () => {
    const cycle: Record<string, unknown> = { name: 'a' };
    cycle['self'] = cycle;
    const throwing = {
      toJSON() {
        throw new Error('no');
      },
    };
    const lines = captured(() => {
      const log = createLogger('t', { worker: 2 });
      log.error('unhandled rejection', { error: cycle, pid: 7 });
      log.warn('odd', { count: 10n, fine: 'yes' });
      log.info('worse', { value: throwing });
    });
    expect(lines).to.have.length(3);
    expect(lines[0]).to.include({ msg: 'unhandled rejection', pid: 7, worker: 2 });
    expect(lines[0]!['error']).to.match(/^\[not serializable: .*circular/i);
    expect(lines[1]).to.include({ msg: 'odd', fine: 'yes' });
    expect(lines[1]!['count']).to.match(/^\[not serializable: .*BigInt/);
    expect(lines[2]).to.include({ msg: 'worse', value: '[not serializable: no]' });
  });
});
