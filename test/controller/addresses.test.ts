// Gateway addresses: on the local provider (loopback), and in a cluster (service).
import { expect } from 'chai';
import type { V1Service } from '@kubernetes/client-node';
import { LoopbackAddressPool, publishOnService, serviceAddresses } from '../../src/controller/addresses.js';
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

describe('controller: service-mode addresses (--address-mode service)', function () {
  const service = (status: V1Service['status'], clusterIP = '10.96.0.20'): V1Service => ({ metadata: { name: 'proxy', namespace: 'portcullis-system' }, spec: { clusterIP, clusterIPs: [clusterIP] }, status });

  it('publishes the LoadBalancer ingress, IPs and host names in order', function () {
    expect(serviceAddresses(service({ loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] } }))).to.deep.equal([
      { type: 'IPAddress', value: '203.0.113.7' },
      { type: 'Hostname', value: 'lb.example.com' },
    ]);
  });

  it('falls back to the ClusterIP, and to nothing for a headless Service', function () {
    expect(serviceAddresses(service({}))).to.deep.equal([{ type: 'IPAddress', value: '10.96.0.20' }]);
    expect(serviceAddresses(service({}, 'None'))).to.deep.equal([]);
  });

  it('binds 0.0.0.0 and publishes the Service address for every Gateway', function () {
    expect(publishOnService(gateway('a'), service({}), 'portcullis-system/proxy')).to.deep.equal({ address: '0.0.0.0', published: [{ type: 'IPAddress', value: '10.96.0.20' }] });
  });

  it('says which Service is missing or has no address (AddressNotAssigned)', function () {
    const missing = publishOnService(gateway('a'), undefined, 'portcullis-system/proxy');
    expect(missing).to.have.property('reason', 'AddressNotAssigned');
    expect((missing as { message: string }).message).to.include('portcullis-system/proxy').and.include('--publish-service');
    expect(publishOnService(gateway('a'), service({}, 'None'), 'portcullis-system/proxy')).to.have.property('reason', 'AddressNotAssigned');
  });

  it('honours requested addresses that the Service has, and refuses others with AddressNotUsable', function () {
    const lb = service({ loadBalancer: { ingress: [{ ip: '203.0.113.7' }, { ip: '203.0.113.8' }] } });
    expect(publishOnService(gateway('a', { addresses: [{ type: 'IPAddress', value: '203.0.113.8' }] }), lb, 'ns/proxy')).to.deep.equal({ address: '0.0.0.0', published: [{ type: 'IPAddress', value: '203.0.113.8' }] });
    expect(publishOnService(gateway('a', { addresses: [{ value: '198.51.100.1' }] }), lb, 'ns/proxy')).to.have.property('reason', 'AddressNotUsable');
  });
});
