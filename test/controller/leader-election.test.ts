// Two controller replicas with --leader-elect against the real API server, each with its
// own proxy: both program their proxy, only the Lease holder writes status, and when the
// holder is killed (no chance to release the Lease) the other takes over and writes.
// The replicas bind different loopback ranges, so the Gateway's published address says
// which replica wrote it.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';
import { conditionStatus } from '../../src/harness/context.js';
import { waitFor } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';
import { ownClasses, startController, startProxy, stop, type Spawned } from './spawned-controllers.js';

const group = 'gateway.networking.k8s.io';
const leaseSeconds = 6;

interface Replica {
  name: string;
  address: string;
  proxy: Spawned & { adminUrl: string };
  controller: Spawned;
}

const statusWrites = (replica: Replica) => replica.controller.logs.filter((l) => l.msg === 'status written').length;
const leads = (replica: Replica) => replica.controller.logs.some((l) => l.msg === 'leader election: became the leader');

async function servedListeners(replica: Replica): Promise<string[]> {
  const response = await request(`${replica.proxy.adminUrl}/config`);
  const config = (await response.body.json()) as { listeners?: { name: string }[] };
  return (config.listeners ?? []).map((l) => l.name);
}

describe('controller: leader election with a Lease (two replicas)', function () {
  this.timeout(clusterStartTimeoutMs);
  const id = randomBytes(3).toString('hex');
  const namespace = `leader-election-${id}`;
  const className = `le-${id}`;
  const classes = ownClasses(className);
  const replicas: Replica[] = [];
  let kc: KubeConfig;
  let custom: CustomObjectsApi;

  const gateway = async () => (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'gateways', name: 'elected' })) as Gateway;

  before(async function () {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    await custom.createClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', body: { apiVersion: `${group}/v1`, kind: 'GatewayClass', metadata: { name: className }, spec: { controllerName: classes.controllerName } } });
    await custom.createNamespacedCustomObject({
      group, version: 'v1', namespace, plural: 'gateways',
      body: { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'elected' }, spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 8080, protocol: 'HTTP' }] } },
    });
    for (const [name, cidr] of [['a', '127.18.0.0/24'], ['b', '127.19.0.0/24']] as const) {
      const proxy = await startProxy();
      const controller = await startController(cluster.kubeconfigPath, proxy.adminUrl, [
        ...classes.args, `--gateway-cidr=${cidr}`,
        '--leader-elect', `--lease-namespace=${namespace}`, '--lease-name=portcullis-test', `--identity=replica-${name}`,
        `--lease-duration=${leaseSeconds}`, '--renew-deadline=4', '--retry-period=1',
      ]);
      replicas.push({ name, address: cidr.replace('0.0/24', '0.10'), proxy, controller });
    }
  });

  after(async function () {
    for (const replica of replicas) await Promise.all([stop(replica.controller), stop(replica.proxy)]);
    await custom?.deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
    await kc?.makeApiClient(CoreV1Api).deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('lets only the Lease holder write status while every replica programs its own proxy', async function () {
    const leader = await waitFor({ what: 'one replica to become the leader', timeoutMs: 60_000 }, async () => replicas.find(leads));
    const follower = replicas.find((r) => r !== leader)!;
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'portcullis-test', namespace });
    expect(lease.spec?.holderIdentity).to.equal(`replica-${leader.name}`);

    const published = await waitFor({ what: 'the Gateway to be Programmed', timeoutMs: 60_000 }, async () => {
      const g = await gateway();
      return conditionStatus(g.status?.conditions, 'Programmed') === 'True' ? g.status!.addresses![0]!.value : undefined;
    });
    expect(published, 'the leader wrote the status: its proxy address').to.equal(leader.address);
    for (const replica of replicas) {
      await waitFor({ what: `replica ${replica.name}'s proxy to serve the Gateway`, timeoutMs: 30_000 }, async () => ((await servedListeners(replica)).includes(`${replica.address}:8080`) ? true : undefined));
    }

    // A change both replicas translate: only the leader writes it.
    await custom.patchNamespacedCustomObject({
      group, version: 'v1', namespace, plural: 'gateways', name: 'elected',
      body: [{ op: 'add', path: '/spec/listeners/-', value: { name: 'second', port: 8081, protocol: 'HTTP' } }],
    });
    await waitFor({ what: 'the leader to report the second listener', timeoutMs: 60_000 }, async () => ((await gateway()).status?.listeners?.length === 2 ? true : undefined));
    await waitFor({ what: "the follower's proxy to serve the second listener", timeoutMs: 30_000 }, async () => ((await servedListeners(follower)).includes(`${follower.address}:8081`) ? true : undefined));
    await waitFor({ what: 'the leader to log its status writes', timeoutMs: 30_000 }, async () => (statusWrites(leader) > 0 ? true : undefined));
    expect(statusWrites(follower), 'the follower wrote no status').to.equal(0);
    expect(leads(follower)).to.equal(false);
  });

  it('hands the Lease to the other replica when the leader dies, and that one writes status from then on', async function () {
    const leader = replicas.find(leads)!;
    const follower = replicas.find((r) => r !== leader)!;
    const killedAt = Date.now();
    await stop(leader.controller, 'SIGKILL');
    await waitFor({ what: 'the other replica to take the Lease over', timeoutMs: 120_000 }, async () => (leads(follower) ? true : undefined));
    const tookOverMs = Date.now() - killedAt;
    process.stderr.write(`      (took over ${tookOverMs} ms after the leader was killed; lease duration ${leaseSeconds} s)\n`);
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'portcullis-test', namespace });
    expect(lease.spec?.holderIdentity).to.equal(`replica-${follower.name}`);
    expect(lease.spec?.leaseTransitions).to.be.greaterThan(0);
    const published = await waitFor({ what: 'the new leader to write the Gateway status', timeoutMs: 60_000 }, async () => {
      const value = (await gateway()).status?.addresses?.[0]?.value;
      return value === follower.address ? value : undefined;
    });
    expect(published).to.equal(follower.address);
    // Its log line can arrive after the API server already shows the write.
    await waitFor({ what: 'the new leader to log its status writes', timeoutMs: 30_000 }, async () => (statusWrites(follower) > 0 ? true : undefined));
  });
});
