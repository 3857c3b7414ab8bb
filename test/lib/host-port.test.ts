// HOST:PORT as the controller's --metrics-address and the proxy's --admin read it, and the
// proxy's one-line refusal of what is not that.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { parseHostPort } from '../../src/lib/flags.js';
import { proxyMain } from '../proxy/proxy-harness.js';

describe('parseHostPort', () => {
  const rows: [string, string, { host: string; port: number } | undefined][] = [
    ['IPv4 and a port', '127.0.0.1:19000', { host: '127.0.0.1', port: 19000 }],
    ['port 0: the system picks one', '127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['a name', 'localhost:80', { host: 'localhost', port: 80 }],
    ['IPv6 in brackets', '[::1]:9000', { host: '::1', port: 9000 }],
    ['no port after the colon', '127.0.0.1:', undefined],
    ['no colon', '127.0.0.1', undefined],
    ['no host', ':9000', undefined],
    ['brackets without a host', '[]:9000', undefined],
    ['a port past 65535', '127.0.0.1:65536', undefined],
    ['a port that is not digits', '127.0.0.1:9e3', undefined],
    ['a negative port', '127.0.0.1:-1', undefined],
    ['a port with a space', '127.0.0.1: 80', undefined],
  ];
  for (const [name, value, expected] of rows) {
    it(`${name}: ${JSON.stringify(value)}`, () => {
      expect(parseHostPort(value)).to.deep.equal(expected);
    });
  }
});

describe('proxy: --admin', () => {
  const run = (admin: string) => spawnSync(process.execPath, [proxyMain, '--admin', admin], { encoding: 'utf8', timeout: 10_000 });

  it('an address without a port is refused in one line (exit 2), not taken as port 0', () => {
    const result = run('127.0.0.1:');
    expect(result.status, result.stderr).to.equal(2);
    expect(result.stderr.split('\n')[0]).to.equal('--admin must be HOST:PORT (port 0 picks one), got "127.0.0.1:"');
  });

  it('a non-loopback address is refused, naming why', () => {
    const result = run('10.1.2.3:19000');
    expect(result.status, result.stderr).to.equal(2);
    expect(result.stderr.split('\n')[0]).to.match(/^--admin must be a loopback address .*private keys; got 10\.1\.2\.3$/);
  });
});
