// Gateway addresses on the local provider.
import { expect } from 'chai';
import { LoopbackAddressPool } from '../../src/controller/addresses.js';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';

const gateway = (name: string, extra: Partial<Gateway['spec']> = {}, statusAddress?: string): Gateway => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name, namespace: 'default' },
  spec: { gatewayClassName: 'portcullis', listeners: [], ...extra },
  ...(statusAddress ? { status: { addresses: [{ type: 'IPAddress', value: statusAddress }] } } : {}),
});

describe('controller: loopback Gateway addresses', function () {
  it('gives each Gateway its own address, stable across passes', function () {
    const pool = new LoopbackAddressPool('127.16.0.0/16');
    expect(pool.assign(gateway('a'))).to.deep.equal({ address: '127.16.0.10' });
    expect(pool.assign(gateway('b'))).to.deep.equal({ address: '127.16.0.11' });
    expect(pool.assign(gateway('a'))).to.deep.equal({ address: '127.16.0.10' });
    expect(pool.ingressAddress()).to.equal('127.16.0.2');
  });

  it('keeps the address a Gateway showed in its status (controller restart)', function () {
    const pool = new LoopbackAddressPool('127.16.0.0/16');
    expect(pool.assign(gateway('a', {}, '127.16.3.4'))).to.deep.equal({ address: '127.16.3.4' });
  });

  it('reuses the address of a deleted Gateway', function () {
    const pool = new LoopbackAddressPool('127.16.0.0/16');
    pool.assign(gateway('a'));
    pool.retain([]);
    expect(pool.assign(gateway('b'))).to.deep.equal({ address: '127.16.0.10' });
  });

  it('honours a requested address in range, and refuses one outside it with AddressNotUsable', function () {
    const pool = new LoopbackAddressPool('127.16.0.0/16');
    expect(pool.assign(gateway('a', { addresses: [{ type: 'IPAddress', value: '127.16.9.9' }] }))).to.deep.equal({ address: '127.16.9.9' });
    const refused = pool.assign(gateway('b', { addresses: [{ type: 'IPAddress', value: '10.0.0.1' }] }));
    expect(refused).to.have.property('reason', 'AddressNotUsable');
  });
});
