// The controller end to end on the local provider, through the cluster's own controller
// and proxy (the processes `cluster up` runs): a GatewayClass deleted and restored,
// TCPRoute on a TCP listener and over terminated TLS, and BackendTLSPolicy re-encrypting
// to a backend that serves TLS. Real API server, real echo Pods, real TLS clients.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { KubernetesObject } from '@kubernetes/client-node';
import { request } from 'undici';
import { controllerName, type Gateway } from '../../src/controller/gatewayapi-types.js';
import { supportedFeatures } from '../../src/controller/features.js';
import { SuiteContext, conditionStatus, describeConditions } from '../../src/harness/context.js';
import { awaitConvergence, defaultTimeouts } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { isNotFound, waitFor } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';
import { echoWorkload } from './echo-workload.js';

const group = 'gateway.networking.k8s.io';
const suffix = () => randomBytes(3).toString('hex');

const httpGet = async (address: string, port: number, host: string) => {
  const response = await request(`http://${address}:${port}/`, { headers: { host }, headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: response.statusCode, body: await response.body.text() };
};

/** The first line a stream echo sends, over a connected socket. */
function greeting(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('no greeting within 5 s')));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed after ${JSON.stringify(text)}`)));
  });
}

describe('controller end to end on the local provider', function () {
  let ctx: SuiteContext;
  let ca: CertificateAuthority;
  this.timeout(clusterStartTimeoutMs);

  before(async function () {
    const cluster = await sharedCluster();
    ctx = new SuiteContext(cluster.kubeConfig(), `controller-e2e-${suffix()}`, { gatewayClass: 'portcullis', ingressClass: 'portcullis', controllerName }, defaultTimeouts, '.');
    await ctx.createNamespace();
    ca = await createCertificateAuthority('Portcullis controller e2e CA');
    await ctx.applyObjects(echoWorkload('echo'));
  });

  after(async function () {
    await ctx?.deleteNamespace();
  });

  it('stops serving the Gateways of a deleted GatewayClass, leaves their status alone, and serves them again when it is restored', async function () {
    const className = `restore-${suffix()}`;
    const gatewayClass = { apiVersion: `${group}/v1`, kind: 'GatewayClass', metadata: { name: className }, spec: { controllerName } } as KubernetesObject;
    await ctx.applyObjects([gatewayClass]);
    try {
      // applyObjects puts Gateways on the context's class: this one must stay on its own.
      await ctx.custom.createNamespacedCustomObject({
        group, version: 'v1', namespace: ctx.namespace, plural: 'gateways',
        body: { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'classy' }, spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
      });
      await ctx.applyObjects([{ apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'classy' }, spec: { parentRefs: [{ name: 'classy' }], rules: [{ backendRefs: [{ name: 'echo', port: 1027 }] }] } } as KubernetesObject]);
      await ctx.podsReady('app=echo', 1);
      const address = await ctx.gatewayAndRouteMustBeAccepted('classy', 'HTTPRoute', 'classy');
      await awaitConvergence('served through the Gateway', ctx.timeouts, async () => {
        expect((await httpGet(address, 80, 'any.example.com')).body).to.match(/^Running on Pod echo-/);
      });

      await ctx.custom.deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className });
      const before = (await ctx.getCustom<Gateway>('Gateway', 'classy')).status;
      await awaitConvergence('nothing serves the Gateway of a deleted class', ctx.timeouts, async () => {
        const outcome = await httpGet(address, 80, 'any.example.com').then((r) => `answered ${r.status}`, (err: Error) => `refused: ${err.message}`);
        expect(outcome).to.match(/^refused/);
      });
      const after = (await ctx.getCustom<Gateway>('Gateway', 'classy')).status;
      expect(after, 'the status of a Gateway whose class is gone is left as it was').to.deep.equal(before);

      await ctx.applyObjects([gatewayClass]);
      const restored = await ctx.gatewayAddress('classy');
      await awaitConvergence('served again once the class is restored', ctx.timeouts, async () => {
        expect((await httpGet(restored, 80, 'any.example.com')).body).to.match(/^Running on Pod echo-/);
      });
    } finally {
      await ctx.custom.deleteClusterCustomObject({ group, version: 'v1', plural: 'gatewayclasses', name: className }).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    }
  });

  it('routes TCPRoutes by listener port, on a TCP listener and over TLS it terminates', async function () {
    const server: KeyMaterial = await issueCertificate(ca, { commonName: 'tcp.example.com', dnsNames: ['tcp.example.com'] });
    await ctx.tlsSecret('tcp-cert', server.certPem, server.keyPem);
    await ctx.applyObjects([
      {
        apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'streams' },
        spec: {
          listeners: [
            { name: 'tcp', port: 9000, protocol: 'TCP', allowedRoutes: { kinds: [{ kind: 'TCPRoute' }] } },
            { name: 'tls', port: 9443, protocol: 'TLS', hostname: 'tcp.example.com', tls: { mode: 'Terminate', certificateRefs: [{ name: 'tcp-cert' }] }, allowedRoutes: { kinds: [{ kind: 'TCPRoute' }] } },
          ],
        },
      },
      { apiVersion: `${group}/v1alpha2`, kind: 'TCPRoute', metadata: { name: 'plain' }, spec: { parentRefs: [{ name: 'streams', sectionName: 'tcp' }], rules: [{ backendRefs: [{ name: 'echo', port: 1025 }] }] } },
      { apiVersion: `${group}/v1alpha2`, kind: 'TCPRoute', metadata: { name: 'terminated' }, spec: { parentRefs: [{ name: 'streams', sectionName: 'tls' }], rules: [{ backendRefs: [{ name: 'echo', port: 1025 }] }] } },
    ] as unknown as KubernetesObject[]);
    await ctx.podsReady('app=echo', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('streams', 'TCPRoute', 'plain');
    await ctx.gatewayAndRouteMustBeAccepted('streams', 'TCPRoute', 'terminated');
    const gateway = await ctx.getCustom<Gateway>('Gateway', 'streams');
    for (const listener of gateway.status!.listeners!) expect(listener.attachedRoutes, `listener ${listener.name}: ${describeConditions(listener.conditions)}`).to.equal(1);

    await awaitConvergence('a TCP stream reaches the echo', ctx.timeouts, async () => {
      expect(await greeting(connectTcp({ host: address, port: 9000 }))).to.match(/^Running on Pod echo-/);
    });
    await awaitConvergence('a TLS stream is terminated with our certificate and reaches the echo in plaintext', ctx.timeouts, async () => {
      const socket = connectTls({ host: address, port: 9443, servername: 'tcp.example.com', ca: ca.certPem });
      const text = await greeting(socket);
      expect(text).to.match(/^Running on Pod echo-/);
      expect(text, 'the backend saw plaintext: the proxy terminated TLS').to.not.include('Through TLS');
    });
    expect(supportedFeatures, 'TCPRoute passes end to end, so the GatewayClass claims it').to.include('TCPRoute');
  });

  it('re-encrypts to a backend that serves TLS under a BackendTLSPolicy, and fails closed when the name does not match', async function () {
    const backend = await issueCertificate(ca, { commonName: 'secure.example.com', dnsNames: ['secure.example.com'] });
    await ctx.tlsSecret('secure-cert', backend.certPem, backend.keyPem);
    await ctx.applyObjects([
      ...echoWorkload('secure', { tlsSecret: 'secure-cert' }),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'secure-ca' }, data: { 'ca.crt': ca.certPem } },
      { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'reencrypt' }, spec: { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
      { apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'to-secure' }, spec: { parentRefs: [{ name: 'reencrypt' }], rules: [{ backendRefs: [{ name: 'secure', port: 1030 }] }] } },
    ] as unknown as KubernetesObject[]);
    const policy = (hostname: string) => ({
      apiVersion: `${group}/v1`, kind: 'BackendTLSPolicy', metadata: { name: 'secure-tls' },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'secure', sectionName: 'https' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'secure-ca' }], hostname } },
    }) as unknown as KubernetesObject;
    await ctx.applyObjects([policy('secure.example.com')]);
    await ctx.podsReady('app=secure', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('reencrypt', 'HTTPRoute', 'to-secure');
    await awaitConvergence('the request reaches the backend over TLS', ctx.timeouts, async () => {
      const answer = await httpGet(address, 80, 'any.example.com');
      expect(answer.status, answer.body).to.equal(200);
      expect(answer.body).to.match(/^Running on Pod secure-/).and.include('Through HTTPS connection.');
    });
    type PolicyStatus = { status?: { ancestors?: { ancestorRef: { name: string }; controllerName: string; conditions: Parameters<typeof conditionStatus>[0] }[] } };
    const ancestor = await waitFor({ what: 'the policy to report the Gateway as its ancestor', timeoutMs: ctx.timeouts.maxTimeToConsistencyMs }, async () => {
      const current = (await ctx.custom.getNamespacedCustomObject({ group, version: 'v1', namespace: ctx.namespace, plural: 'backendtlspolicies', name: 'secure-tls' })) as PolicyStatus;
      return current.status?.ancestors?.find((a) => a.controllerName === controllerName && a.ancestorRef.name === 'reencrypt');
    });
    expect(conditionStatus(ancestor.conditions, 'Accepted'), describeConditions(ancestor.conditions)).to.equal('True');
    expect(conditionStatus(ancestor.conditions, 'ResolvedRefs'), describeConditions(ancestor.conditions)).to.equal('True');

    await ctx.applyObjects([policy('other.example.com')]);
    await awaitConvergence('a backend certificate without the policy hostname is refused with a 5xx', ctx.timeouts, async () => {
      const answer = await httpGet(address, 80, 'any.example.com');
      expect(answer.status, answer.body).to.be.within(500, 599);
    });
    expect(supportedFeatures, 'BackendTLSPolicy passes end to end, so the GatewayClass claims it').to.include('BackendTLSPolicy');
  });
});
