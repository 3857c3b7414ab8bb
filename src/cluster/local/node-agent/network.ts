// Pod networking for the local node: one bridge per cluster with the node's address,
// and for each Pod a network namespace joined to it by a veth pair. Pods get real,
// non-loopback addresses (EndpointSlice validation rejects 127.0.0.0/8), reachable
// only from this machine.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PortcullisError } from '../../../lib/errors.js';
import { runCommand } from '../../../lib/process.js';
import { clusterPodProcesses, podNetnsPrefix } from '../cleanup.js';
import type { LocalClusterConfig } from '../state.js';

async function ip(args: string[]): Promise<void> {
  const result = await runCommand('ip', args);
  if (result.code !== 0) {
    throw new PortcullisError('NETWORK_SETUP_FAILED', `\`ip ${args.join(' ')}\` failed: ${result.stderr.trim()}`);
  }
}

function prefixLength(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export async function ensureBridge(config: LocalClusterConfig): Promise<void> {
  if (!existsSync(`/sys/class/net/${config.bridge}`)) {
    await ip(['link', 'add', config.bridge, 'type', 'bridge']);
  }
  const shown = await runCommand('ip', ['-4', '-o', 'addr', 'show', 'dev', config.bridge]);
  if (!shown.stdout.includes(` ${config.bridgeAddress}/`)) {
    await ip(['addr', 'add', `${config.bridgeAddress}/${prefixLength(config.podCIDR)}`, 'dev', config.bridge]);
  }
  await ip(['link', 'set', config.bridge, 'up']);
}

/** Hands out Pod addresses from the cluster's range; .0 is the network and the bridge holds the first host address. */
export class AddressPool {
  private readonly first: number;
  private readonly last: number;
  private readonly taken = new Set<string>();
  /** Where the next search starts: just after the last address handed out. */
  private cursor: number;

  constructor(config: LocalClusterConfig) {
    const base = ipv4ToNumber(config.podCIDR.split('/')[0]!);
    const size = 2 ** (32 - prefixLength(config.podCIDR));
    this.first = base + 2;
    this.last = base + size - 2;
    this.cursor = this.first;
    this.taken.add(config.bridgeAddress);
  }

  contains(address: string): boolean {
    const n = ipv4ToNumber(address);
    return n >= this.first && n <= this.last;
  }

  /**
   * Takes `preferred` when it is free and in range (a Pod keeps its address across agent
   * restarts), else the next free one after the last handed out, wrapping around. Going
   * round rather than reusing the lowest free address keeps a new Pod off an address a
   * deleted Pod had moments ago, which the host's neighbour cache may still map to the
   * old Pod's MAC for half a minute.
   */
  allocate(preferred?: string): string {
    if (preferred && this.contains(preferred) && !this.taken.has(preferred)) {
      this.taken.add(preferred);
      return preferred;
    }
    const size = this.last - this.first + 1;
    for (let step = 0; step < size; step++) {
      const n = this.first + ((this.cursor - this.first + step) % size);
      const address = numberToIpv4(n);
      if (!this.taken.has(address)) {
        this.taken.add(address);
        this.cursor = n + 1 > this.last ? this.first : n + 1;
        return address;
      }
    }
    throw new PortcullisError('POD_ADDRESSES_EXHAUSTED', 'the local node has no Pod address left: delete some Pods');
  }

  release(address: string): void {
    this.taken.delete(address);
  }
}

export interface PodNetwork {
  netns: string;
  address: string;
}

function shortId(uid: string): string {
  return createHash('sha1').update(uid).digest('hex').slice(0, 11);
}

export async function createPodNetwork(config: LocalClusterConfig, podUid: string, address: string): Promise<PodNetwork> {
  const id = shortId(podUid);
  const netns = `${podNetnsPrefix(config)}${id}`;
  const hostVeth = `pcv${id}`;
  await deletePodNetwork(netns);
  await ip(['netns', 'add', netns]);
  await ip(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  await ip(['link', 'set', hostVeth, 'master', config.bridge, 'up']);
  await ip(['-n', netns, 'addr', 'add', `${address}/${prefixLength(config.podCIDR)}`, 'dev', 'eth0']);
  await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
  await ip(['-n', netns, 'route', 'add', 'default', 'via', config.bridgeAddress]);
  // An earlier Pod may have had this address: forget its MAC, or traffic to the new Pod
  // goes nowhere until the stale neighbour entry expires (about 30 s).
  await runCommand('ip', ['neigh', 'flush', 'to', address, 'dev', config.bridge]);
  return { netns, address };
}

/** Deleting the namespace deletes its end of the veth pair, which takes the host end with it. */
export async function deletePodNetwork(netns: string): Promise<void> {
  if (existsSync(`/run/netns/${netns}`)) await runCommand('ip', ['netns', 'delete', netns]);
}

/** A node agent that crashed leaves its Pods' processes and namespaces behind; the new one starts clean. */
export async function removeLeftoverPods(config: LocalClusterConfig, clusterDir: string): Promise<void> {
  for (const pid of clusterPodProcesses(clusterDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const listed = await runCommand('ip', ['netns', 'list']);
  for (const line of listed.stdout.split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(podNetnsPrefix(config))) await deletePodNetwork(name);
  }
}
