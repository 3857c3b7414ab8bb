// The controller writes a status only when it changed (bench measurement 5, issue 7): the
// API server returns a custom object's status fields in its own (alphabetical) order, and
// a comparison that minded the order PATCHed every route, the Gateway and the
// GatewayClass on every pass — at 100 routes a second of writes before a new route was
// programmed. Our own controller and proxy beside the shared cluster's, with debug logs:
// each PATCH logs `status written`, each round of the status lane `statuses written`
// with how many objects it PATCHed.
import { expect } from 'chai';
import { randomBytes, X509Certificate } from 'node:crypto';
import { connect as connectTls } from 'node:tls';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Gateway, Route } from '../../src/controller/gatewayapi-types.js';
import { conditionStatus } from '../../src/harness/context.js';
import { createCertificateAuthority, issueCertificate, type KeyMaterial } from '../../src/lib/certs.js';
import { mergePatch, waitFor } from '../../src/lib/kube.js';
import type { LogLine } from '../support/log-lines.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';
import { ownClasses, startController, startProxy, stop, type Spawned } from './spawned-controllers.js';

const group = 'gateway.networking.k8s.io';
const routeCount = 5;
const hostname = 'status.example.com';

/** Lines logged after `from` (an index into the log). */
const since = (logs: LogLine[], from: number) => logs.slice(from);
const rounds = (lines: LogLine[]) => lines.filter((l) => l.msg === 'statuses written');
const patches = (lines: LogLine[]) => lines.filter((l) => l.msg === 'status written');
const passes = (lines: LogLine[]) => lines.filter((l) => l.msg === 'pass');

/** The serial number of the certificate served for `servername` at address:443, as getPeerCertificate() spells it. */
function servedSerial(address: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: address, port: 443, servername, rejectUnauthorized: false, timeout: 5000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber ?? '';
      socket.destroy();
      resolve(serial.toUpperCase());
    });
    socket.once('timeout', () => socket.destroy(new Error('no handshake within 5 s')));
    socket.once('error', reject);
  });
}

describe('controller: status writes only for statuses that changed', function () {
  this.timeout(clusterStartTimeoutMs);
  const id = randomBytes(3).toString('hex');
  const namespace = `status-writes-${id}`;
  const className = `sw-${id}`;
  const classes = ownClasses(className);
  let kc: KubeConfig;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let proxy: (Spawned & { adminUrl: string }) | undefined;
  let controller: Spawned | undefined;
  let address = '';

  const secret = (material: KeyMaterial) => ({
    metadata: { name: 'listener-cert', namespace }, type: 'kubernetes.io/tls',
    stringData: { 'tls.crt': material.certPem, 'tls.key': material.keyPem },
  });
  const routes = async () => (await custom.listNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'httproutes' })) as { items: Route[] };
  const gateway = async () => (await custom.getNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'gateways', name: 'quiet' })) as Gateway;
  const serial = (material: KeyMaterial) => new X509Certificate(material.certPem).serialNumber.toUpperCase();

  /** Waits for a round of the status lane that PATCHed nothing, logged after `from`. */
  const quietRound = (from: number, what: string) =>
    waitFor({ what, timeoutMs: 60_000 }, async () => rounds(since(controller!.logs, from)).find((l) => l.patched === 0), () =>
      `rounds since: ${JSON.stringify(rounds(since(controller!.logs, from)).map((l) => l.patched))}; PATCHes since: ${patches(since(controller!.logs, from)).map((l) => `${l.kind} ${l.name}`).join(', ')}`);

  before(async function () {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    core = kc.makeApiClient(CoreV1Api);
    const ca = await createCertificateAuthority('Portcullis status-writes CA');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: secret(await issueCertificate(ca, { commonName: hostname, dnsNames: [hostname], algorithm: 'ecdsa-p256' })) });
    await custom.createClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', body: { apiVersion: `${group}/v1`, kind: 'GatewayClass', metadata: { name: className }, spec: { controllerName: classes.controllerName } } });
    await custom.createNamespacedCustomObject({
      group, version: 'v1', namespace, plural: 'gateways',
      body: {
        apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'quiet' },
        spec: { gatewayClassName: className, listeners: [
          { name: 'http', port: 80, protocol: 'HTTP' },
          { name: 'https', port: 443, protocol: 'HTTPS', hostname, tls: { certificateRefs: [{ name: 'listener-cert' }] } },
        ] },
      },
    });
    for (let i = 0; i < routeCount; i++) {
      await custom.createNamespacedCustomObject({
        group, version: 'v1', namespace, plural: 'httproutes',
        body: { apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: `route-${i}` }, spec: { parentRefs: [{ name: 'quiet', sectionName: 'http' }], hostnames: [`r-${i}.example.com`], rules: [{ backendRefs: [{ name: 'absent', port: 80 }] }] } },
      });
    }
    proxy = await startProxy();
    controller = await startController(cluster.kubeconfigPath, proxy.adminUrl, [...classes.args, '--gateway-cidr=127.30.0.0/24']);
    address = await waitFor({ what: 'the Gateway to be Programmed with every route attached', timeoutMs: 60_000 }, async () => {
      const g = await gateway();
      const attached = g.status?.listeners?.find((l) => l.name === 'http')?.attachedRoutes;
      return conditionStatus(g.status?.conditions, 'Programmed') === 'True' && attached === routeCount ? g.status!.addresses![0]!.value : undefined;
    });
    await waitFor({ what: 'every route to carry our status', timeoutMs: 60_000 }, async () =>
      (await routes()).items.every((r) => r.status?.parents?.some((p) => p.controllerName === classes.controllerName)) ? true : undefined);
  });

  after(async function () {
    await Promise.all([stop(controller), stop(proxy)]);
    await custom?.deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className }).catch(() => undefined);
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('once the statuses are written, a pass over unchanged objects PATCHes nothing', async function () {
    // Since the start: the statuses written, the pass their own watch events cause finds nothing to write.
    await quietRound(0, 'a round of status writes that PATCHes nothing (one that PATCHes every time rewrites unchanged statuses)');
    // A change that moves no status: a label on every route (metadata only, generation unchanged).
    const from = controller!.logs.length;
    for (let i = 0; i < routeCount; i++) {
      await custom.patchNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'httproutes', name: `route-${i}`, body: [{ op: 'add', path: '/metadata/labels', value: { touched: 'yes' } }] });
    }
    await waitFor({ what: 'the controller to see the labels', timeoutMs: 30_000 }, async () => (rounds(since(controller!.logs, from)).length > 0 ? true : undefined));
    const seen = since(controller!.logs, from);
    expect(rounds(seen).map((l) => l.patched), 'objects PATCHed per round after a label change').to.deep.equal(rounds(seen).map(() => 0));
    expect(patches(seen).map((l) => `${l.kind} ${l.name}`), 'status PATCHes after a label change').to.deep.equal([]);
    // Labels are not status: translated again (translation may read any of an object but its status).
    const relabelled = passes(seen).filter((l) => (l.specChanges as string[]).some((o) => o.startsWith(`HTTPRoute ${namespace}/route-`)));
    expect(relabelled.map((l) => l.translated), 'passes for the label changes').to.include(true).and.to.not.include(false);
  });

  it('a status changed by someone else is written back, without translating again', async function () {
    await quietRound(0, 'the statuses written');
    const from = controller!.logs.length;
    // Another writer replaces route-0's status with one that lacks our parent.
    await custom.patchNamespacedCustomObjectStatus({ group, version: 'v1', namespace, plural: 'httproutes', name: 'route-0', body: { status: { parents: [] } } }, mergePatch);
    const ours = async () => (await routes()).items.find((r) => r.metadata.name === 'route-0')?.status?.parents?.some((p) => p.controllerName === classes.controllerName);
    await waitFor({ what: 'our status on route-0 again', timeoutMs: 30_000 }, async () => ((await ours()) ? true : undefined));
    await quietRound(from, 'a quiet round after the status was written back');
    const seen = since(controller!.logs, from);
    expect(patches(seen).map((l) => `${l.kind} ${l.name}`), 'status PATCHes').to.deep.equal([`HTTPRoute ${namespace}/route-0`]);
    // Only statuses moved, theirs and ours: no reason to translate again. (Other suites'
    // objects in the shared cluster may still cause translated passes meanwhile.)
    const route = `HTTPRoute ${namespace}/route-0`;
    const named = (key: 'specChanges' | 'statusChanges') => passes(seen).filter((l) => (l[key] as string[]).includes(route));
    expect(named('statusChanges').length, 'passes for a status change of route-0').to.be.greaterThan(0);
    expect(named('specChanges').map((l) => l.specChanges), 'passes that took a status write of route-0 for a spec change').to.deep.equal([]);
    for (const pass of named('statusChanges')) {
      if ((pass.specChanges as string[]).length === 0) expect(pass.translated, `a pass for status changes alone: ${JSON.stringify(pass)}`).to.equal(false);
    }
  });

  it('a rotated listener certificate is served, and no status is PATCHed for it', async function () {
    const ca = await createCertificateAuthority('Portcullis status-writes rotation CA');
    const rotated = await issueCertificate(ca, { commonName: hostname, dnsNames: [hostname], algorithm: 'ecdsa-p256' });
    const from = controller!.logs.length;
    await core.replaceNamespacedSecret({ name: 'listener-cert', namespace, body: secret(rotated) });
    await waitFor({ what: 'the rotated certificate to be served', timeoutMs: 60_000 }, async () => ((await servedSerial(address, hostname).catch(() => '')) === serial(rotated) ? true : undefined));
    await waitFor({ what: 'the round of status writes after the rotation', timeoutMs: 30_000 }, async () => (rounds(since(controller!.logs, from)).length > 0 ? true : undefined));
    const seen = since(controller!.logs, from);
    expect(patches(seen).map((l) => `${l.kind} ${l.name}`), 'status PATCHes after a certificate rotation (no condition changed)').to.deep.equal([]);
    expect(conditionStatus((await gateway()).status?.conditions, 'Programmed')).to.equal('True');
  });
});
