// --address-mode service against the real API server: Gateways and Ingresses publish the
// proxy Service's ClusterIP until it has a LoadBalancer ingress, then that ingress (IPs
// and host names); the proxy binds every interface, so the Gateway answers on loopback too.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import type { Gateway } from '../../src/controller/gatewayapi-types.js';
import { conditionStatus, describeConditions } from '../../src/harness/context.js';
import { freePort } from '../../src/lib/process.js';
import { waitFor } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';
import { ownClasses, startController, startProxy, stop, type Spawned } from './spawned-controllers.js';

const group = 'gateway.networking.k8s.io';

describe('controller: --address-mode service (the proxy Service publishes the address)', function () {
  this.timeout(clusterStartTimeoutMs);
  const id = randomBytes(3).toString('hex');
  const namespace = `service-mode-${id}`;
  const name = `svc-${id}`;
  const classes = ownClasses(name);
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let proxy: (Spawned & { adminUrl: string }) | undefined;
  let controller: Spawned | undefined;
  let port: number;
  let ingressPort: number;

  const gatewayStatus = async () => ((await custom.getNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'gateways', name: 'published' })) as Gateway).status;
  const ingressStatus = async () => (await kc.makeApiClient(NetworkingV1Api).readNamespacedIngress({ name: 'published', namespace })).status?.loadBalancer?.ingress ?? [];

  before(async function () {
    const cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    port = await freePort('0.0.0.0');
    ingressPort = await freePort('0.0.0.0');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedService({ namespace, body: { metadata: { name: 'proxy' }, spec: { type: 'LoadBalancer', selector: { app: 'nothing' }, ports: [{ name: 'http', port, targetPort: port }] } } });
    await custom.createClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', body: { apiVersion: `${group}/v1`, kind: 'GatewayClass', metadata: { name }, spec: { controllerName: classes.controllerName } } });
    await custom.createNamespacedCustomObject({
      group, version: 'v1', namespace, plural: 'gateways',
      body: { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'published' }, spec: { gatewayClassName: name, listeners: [{ name: 'http', port, protocol: 'HTTP' }] } },
    });
    const networking = kc.makeApiClient(NetworkingV1Api);
    await networking.createIngressClass({ body: { metadata: { name }, spec: { controller: `portcullis.dev/${name}-ingress` } } });
    await networking.createNamespacedIngress({ namespace, body: { metadata: { name: 'published' }, spec: { ingressClassName: name, defaultBackend: { service: { name: 'proxy', port: { number: port } } } } } });
    proxy = await startProxy();
    controller = await startController(cluster.kubeconfigPath, proxy.adminUrl, [
      ...classes.args, '--address-mode=service', `--publish-service=${namespace}/proxy`, `--ingress-http-port=${ingressPort}`, `--ingress-https-port=${ingressPort + 1}`,
    ]);
  });

  after(async function () {
    await Promise.all([stop(controller), stop(proxy)]);
    await custom?.deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name }).catch(() => undefined);
    await kc?.makeApiClient(NetworkingV1Api).deleteIngressClass({ name }).catch(() => undefined);
    await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('publishes the ClusterIP while the Service has no LoadBalancer ingress, and binds every interface', async function () {
    const clusterIp = (await core.readNamespacedService({ name: 'proxy', namespace })).spec!.clusterIP!;
    const status = await waitFor({ what: 'the Gateway to publish the ClusterIP', timeoutMs: 60_000 }, async () => {
      const s = await gatewayStatus();
      return conditionStatus(s?.conditions, 'Programmed') === 'True' ? s : undefined;
    }, async () => JSON.stringify(await gatewayStatus()));
    expect(status!.addresses, describeConditions(status!.conditions)).to.deep.equal([{ type: 'IPAddress', value: clusterIp }]);
    await waitFor({ what: 'the Ingress to publish the ClusterIP', timeoutMs: 60_000 }, async () => ((await ingressStatus())[0]?.ip === clusterIp ? true : undefined));
    const config = (await (await request(`${proxy!.adminUrl}/config`)).body.json()) as { listeners: { address: string; port: number }[] };
    expect(config.listeners.map((l) => `${l.address}:${l.port}`)).to.include(`0.0.0.0:${port}`);
    const answer = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'unrouted.example.com' } });
    await answer.body.dump();
    expect(answer.statusCode, 'the proxy answers on loopback: it bound 0.0.0.0').to.equal(404);
  });

  it('publishes the LoadBalancer ingress (IPs and host names) once the Service has one', async function () {
    await core.patchNamespacedServiceStatus(
      { name: 'proxy', namespace, body: [{ op: 'add', path: '/status/loadBalancer', value: { ingress: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] } }] },
    );
    await waitFor({ what: 'the Gateway to publish the LoadBalancer ingress', timeoutMs: 60_000 }, async () => {
      const addresses = (await gatewayStatus())?.addresses;
      return addresses?.[0]?.value === '203.0.113.7' ? addresses : undefined;
    }, async () => JSON.stringify(await gatewayStatus())).then((addresses) => {
      expect(addresses).to.deep.equal([{ type: 'IPAddress', value: '203.0.113.7' }, { type: 'Hostname', value: 'lb.example.com' }]);
    });
    await waitFor({ what: 'the Ingress to publish the LoadBalancer ingress', timeoutMs: 60_000 }, async () => ((await ingressStatus())[0]?.ip === '203.0.113.7' ? true : undefined));
    expect(await ingressStatus()).to.deep.equal([{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }]);
  });
});
