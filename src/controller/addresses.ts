// Where Gateways and Ingresses are served, in the two address modes:
// - loopback (the local provider): each Gateway gets its own loopback address from the
//   cluster's range (like a LoadBalancer IP), kept for as long as it exists and reused
//   after a controller restart from the Gateway's status;
// - service (in a cluster): the proxy binds 0.0.0.0 in its Pod and every Gateway and
//   Ingress is published at the proxy Service's address — its LoadBalancer ingress, or
//   its ClusterIP until a load balancer has given it one.
import { isIP } from 'node:net';
import type { V1Service } from '@kubernetes/client-node';
import type { Gateway, GatewayStatusAddress } from './gatewayapi-types.js';
import type { AddressAssignment } from './translate/gateway-processor.js';
import { Reason } from './translate/conditions.js';

function toNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export class LoopbackAddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly assigned = new Map<string, string>();

  /** `cidr` like 127.16.0.0/16; the first ten addresses are kept for the proxy's own use (Ingress). */
  constructor(cidr: string) {
    const [base, bits] = cidr.split('/');
    const start = toNumber(base!);
    this.first = start + 10;
    this.last = start + 2 ** (32 - Number(bits)) - 2;
  }

  /** The address for Ingresses: the range's second address. */
  ingressAddress(): string {
    return toAddress(this.first - 8);
  }

  private inRange(address: string): boolean {
    const n = toNumber(address);
    return n >= this.first && n <= this.last;
  }

  /** Keeps only the Gateways that still exist, so their addresses can be reused. */
  retain(gateways: Gateway[]): void {
    const live = new Set(gateways.map(key));
    for (const name of this.assigned.keys()) if (!live.has(name)) this.assigned.delete(name);
  }

  assign(gateway: Gateway): AddressAssignment {
    const name = key(gateway);
    const current = this.assigned.get(name);
    if (current) return { address: current };
    const taken = new Set(this.assigned.values());
    const requested = gateway.spec.addresses?.filter((a) => (a.type ?? 'IPAddress') === 'IPAddress').map((a) => a.value) ?? [];
    if (gateway.spec.addresses?.length) {
      const usable = requested.find((a) => this.inRange(a) && !taken.has(a));
      if (!usable) {
        return { reason: Reason.AddressNotUsable, message: `requested addresses ${gateway.spec.addresses.map((a) => a.value).join(', ')} are not free loopback addresses of this cluster's Gateway range` };
      }
      this.assigned.set(name, usable);
      return { address: usable };
    }
    const previous = gateway.status?.addresses?.find((a) => (a.type ?? 'IPAddress') === 'IPAddress')?.value;
    if (previous && this.inRange(previous) && !taken.has(previous)) {
      this.assigned.set(name, previous);
      return { address: previous };
    }
    for (let n = this.first; n <= this.last; n++) {
      const address = toAddress(n);
      if (!taken.has(address)) {
        this.assigned.set(name, address);
        return { address };
      }
    }
    return { reason: Reason.AddressNotAssigned, message: 'no loopback address is left in the Gateway range' };
  }
}

function key(gateway: Gateway): string {
  return `${gateway.metadata.namespace}/${gateway.metadata.name}`;
}

/** The address the proxy binds in service mode: every interface of its Pod. */
export const anyAddress = '0.0.0.0';

/** A Service's published addresses: its LoadBalancer ingress (IPs and host names), else its ClusterIP. */
export function serviceAddresses(service: V1Service): GatewayStatusAddress[] {
  const ingress = (service.status?.loadBalancer?.ingress ?? []).flatMap((entry): GatewayStatusAddress[] =>
    entry.ip ? [{ type: 'IPAddress', value: entry.ip }] : entry.hostname ? [{ type: 'Hostname', value: entry.hostname }] : [],
  );
  if (ingress.length > 0) return ingress;
  const clusterIps = service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : []);
  return clusterIps.filter((ip) => isIP(ip) !== 0).map((ip) => ({ type: 'IPAddress', value: ip }));
}

/** Service mode: where a Gateway is published, given the proxy Service (`--publish-service`) as the snapshot holds it. */
export function publishOnService(gateway: Gateway, service: V1Service | undefined, serviceName: string): AddressAssignment {
  if (!service) {
    return { reason: Reason.AddressNotAssigned, message: `the proxy Service ${serviceName} (--publish-service) does not exist: install it or fix the flag` };
  }
  const published = serviceAddresses(service);
  if (published.length === 0) return { reason: Reason.AddressNotAssigned, message: `the proxy Service ${serviceName} has no LoadBalancer ingress address and no ClusterIP yet` };
  const requested = gateway.spec.addresses ?? [];
  if (requested.length === 0) return { address: anyAddress, published };
  const usable = published.filter((p) => requested.some((r) => r.value === p.value && (r.type ?? 'IPAddress') === p.type));
  if (usable.length === 0) {
    return { reason: Reason.AddressNotUsable, message: `requested addresses ${requested.map((a) => a.value).join(', ')} are not addresses of the proxy Service ${serviceName} (${published.map((p) => p.value).join(', ')})` };
  }
  return { address: anyAddress, published: usable };
}
