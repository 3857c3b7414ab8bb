// Isolation on the shared cluster (npm test): an HTTPRoute in a namespace the listener
// does not allow gets no traffic (and does once the namespace is allowed, so nothing else
// blocked it); a certificate in another namespace is not served without a ReferenceGrant,
// is with one, and stops being served when it is revoked; an SNI that matches a
// passthrough route is never terminated (the client sees the backend's certificate, never
// ours, even beside a terminating wildcard listener on the same port), and a Host of that
// passthrough listener sent over the terminated one gets 421; the proxy's admin API
// listens on loopback only. Each was checked against a mutation of the code it guards
// (reports/RELIABILITY.md).
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as connectTls } from 'node:tls';
import type { KubernetesObject } from '@kubernetes/client-node';
import { request } from 'undici';
import { randomBytes } from 'node:crypto';
import type { StartedLocalCluster } from '../../src/cluster/local/provider.js';
import { controllerName, type Gateway } from '../../src/controller/gatewayapi-types.js';
import { SuiteContext, describeConditions } from '../../src/harness/context.js';
import { httpsRequest } from '../../src/harness/probes.js';
import { defaultTimeouts } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { mergePatch, waitFor } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

const group = 'gateway.networking.k8s.io';
const suffix = randomBytes(3).toString('hex');

/** The serial of the certificate a new handshake sees, or the handshake's error. */
function handshake(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTls({ host: address, port, servername, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber?.toUpperCase() ?? 'none';
      socket.destroy();
      resolve(serial);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('error', (error) => resolve(`error: ${error.message}`));
  });
}

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toUpperCase();

/** The status of a plain-HTTP GET on a new connection, or the error. */
async function httpStatus(address: string, host: string, path = '/'): Promise<number | string> {
  try {
    const response = await request(`http://${address}${path}`, { headers: { host, connection: 'close' }, headersTimeout: 5000, bodyTimeout: 5000 });
    await response.body.text();
    return response.statusCode;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

/** The echo backend (HTTP on 1027, TLS with the `tlsSecret` Secret on 1030), `name` Deployment and Service. */
function echoBackend(name: string, tlsSecret?: string): KubernetesObject[] {
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
      spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: {
        containers: [{ name: 'echo', image: 'portcullis/echo', ...(tlsSecret ? { volumeMounts: [{ name: 'tls', mountPath: '/etc/tls', readOnly: true }] } : {}) }],
        ...(tlsSecret ? { volumes: [{ name: 'tls', secret: { secretName: tlsSecret } }] } : {}),
      } } },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: labels, ports: [{ name: 'http', port: 1027, targetPort: 1027 }, { name: 'tls', port: 1030, targetPort: 1030 }] } },
  ] as unknown as KubernetesObject[];
}

describe('isolation: namespaces, ReferenceGrants, passthrough never terminated, 421 across listeners, admin API on loopback', function () {
  this.timeout(clusterStartTimeoutMs);
  let cluster: StartedLocalCluster;
  let gateways: SuiteContext;
  let certs: SuiteContext;

  before(async function () {
    cluster = await sharedCluster();
    const implementation = { gatewayClass: 'portcullis', ingressClass: 'portcullis', controllerName };
    gateways = new SuiteContext(cluster.kubeConfig(), `isolation-gw-${suffix}`, implementation, defaultTimeouts, '.');
    certs = new SuiteContext(cluster.kubeConfig(), `isolation-certs-${suffix}`, implementation, defaultTimeouts, '.');
    await gateways.createNamespace();
    await certs.createNamespace();
  });

  after(async function () {
    await gateways?.deleteNamespace();
    await certs?.deleteNamespace();
  });

  it('an HTTPRoute in a namespace the listener does not allow gets no traffic, until the namespace is allowed', async function () {
    const allowLabel = `isolation-allowed-${suffix}`;
    await certs.applyObjects([
      ...echoBackend('echo'),
      {
        apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'from-elsewhere' },
        spec: { parentRefs: [{ name: 'selective', namespace: gateways.namespace }], hostnames: ['ns.iso.example.com'], rules: [{ backendRefs: [{ name: 'echo', port: 1027 }] }] },
      } as KubernetesObject,
    ]);
    await gateways.applyObjects([{
      apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'selective' },
      spec: { gatewayClassName: 'portcullis', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { [allowLabel]: 'yes' } } } } }] },
    } as KubernetesObject]);
    const address = await gateways.gatewayAddress('selective');
    await certs.podsReady('app=echo', 1);
    await certs.routeMustHave('HTTPRoute', 'from-elsewhere', { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners' });
    const denied = await Promise.all(Array.from({ length: 5 }, () => httpStatus(address, 'ns.iso.example.com')));
    expect(denied, 'the route of a namespace the listener does not select gets no traffic').to.deep.equal(Array(5).fill(404));

    // The same route, once its namespace carries the label: served, so only the namespace rule kept it out.
    const label = (value: string | null) => certs.core.patchNamespace({ name: certs.namespace, body: { metadata: { labels: { [allowLabel]: value } } } }, mergePatch);
    await label('yes');
    let seen: number | string = '';
    await waitFor({ what: 'the route to be served once its namespace is allowed', timeoutMs: defaultTimeouts.maxTimeToConsistencyMs }, async () => ((seen = await httpStatus(address, 'ns.iso.example.com')) === 200 ? true : undefined), () => `last answer: ${seen}`);
    await label(null);
    await waitFor({ what: 'the route to stop being served once the label is gone', timeoutMs: defaultTimeouts.maxTimeToConsistencyMs }, async () => ((seen = await httpStatus(address, 'ns.iso.example.com')) === 404 ? true : undefined), () => `last answer: ${seen}`);
    await certs.routeMustHave('HTTPRoute', 'from-elsewhere', { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners' });
  });

  it("serves another namespace's certificate only under a ReferenceGrant, and stops when it is revoked", async function () {
    const ca = await createCertificateAuthority('Portcullis isolation CA');
    const shared = await issueCertificate(ca, { commonName: 'grant.example.com', dnsNames: ['grant.example.com'] });
    await certs.tlsSecret('shared', shared.certPem, shared.keyPem);
    const serial = serialOf(shared.certPem);
    // No grant yet: the listener refuses the reference, and nothing serves the certificate.
    await gateways.applyObjects([{
      apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'granted' },
      spec: { gatewayClassName: 'portcullis', listeners: [
        { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'grant.example.com', tls: { certificateRefs: [{ name: 'shared', namespace: certs.namespace }] } },
        // Without the grant the HTTPS listener cannot be programmed; this one keeps the Gateway Programmed, with its address.
        { name: 'http', port: 80, protocol: 'HTTP' },
      ] },
    } as KubernetesObject]);
    const address = await gateways.gatewayAddress('granted');
    await gateways.listenerMustHave('granted', 'https', { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted' });
    for (let i = 0; i < 5; i++) expect(await handshake(address, 443, 'grant.example.com'), 'without a ReferenceGrant').to.not.equal(serial);

    const grant = {
      apiVersion: `${group}/v1beta1`, kind: 'ReferenceGrant', metadata: { name: 'gateways-may-use-shared' },
      spec: { from: [{ group, kind: 'Gateway', namespace: gateways.namespace }], to: [{ group: '', kind: 'Secret', name: 'shared' }] },
    } as KubernetesObject;
    await certs.applyObjects([grant]);
    await waitFor({ what: 'the granted certificate to be served', timeoutMs: defaultTimeouts.maxTimeToConsistencyMs }, async () => ((await handshake(address, 443, 'grant.example.com')) === serial ? true : undefined));

    await certs.custom.deleteNamespacedCustomObject({ group, version: 'v1beta1', namespace: certs.namespace, plural: 'referencegrants', name: 'gateways-may-use-shared' });
    let seen = '';
    await waitFor({ what: 'the certificate to stop being served once the grant is revoked', timeoutMs: defaultTimeouts.maxTimeToConsistencyMs }, async () => {
      seen = await handshake(address, 443, 'grant.example.com');
      return seen !== serial ? true : undefined;
    }, () => `last handshake: ${seen}`);
    // And it stays so: several new handshakes, none sees it.
    for (let i = 0; i < 5; i++) expect(await handshake(address, 443, 'grant.example.com')).to.not.equal(serial);
    const listener = (await gateways.getCustom<Gateway>('Gateway', 'granted')).status?.listeners?.find((l) => l.name === 'https');
    expect(describeConditions(listener?.conditions), 'the listener says why').to.match(/ResolvedRefs=False \(RefNotPermitted/);
  });

  it('never terminates an SNI that matches a passthrough listener, even beside a terminating wildcard on the same port', async function () {
    const ourCa = await createCertificateAuthority('Portcullis gateway CA');
    const backendCa = await createCertificateAuthority('Backend CA');
    const ours = await issueCertificate(ourCa, { commonName: '*.iso.example.com', dnsNames: ['*.iso.example.com'] });
    const backend = await issueCertificate(backendCa, { commonName: 'pt.iso.example.com', dnsNames: ['pt.iso.example.com'] });
    await gateways.tlsSecret('ours', ours.certPem, ours.keyPem);
    await gateways.tlsSecret('backend', backend.certPem, backend.keyPem);
    const labels = { app: 'tlsecho' };
    await gateways.applyObjects([
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'tlsecho', labels },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: {
          containers: [{ name: 'echo', image: 'portcullis/echo', volumeMounts: [{ name: 'tls', mountPath: '/etc/tls', readOnly: true }] }],
          volumes: [{ name: 'tls', secret: { secretName: 'backend' } }],
        } } },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'tlsecho', labels }, spec: { selector: labels, ports: [{ name: 'http', port: 1027, targetPort: 1027 }, { name: 'tls', port: 1030, targetPort: 1030 }] } },
      {
        apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'mixed' },
        spec: { gatewayClassName: 'portcullis', listeners: [
          { name: 'terminate', port: 443, protocol: 'HTTPS', hostname: '*.iso.example.com', tls: { certificateRefs: [{ name: 'ours' }] } },
          { name: 'passthrough', port: 443, protocol: 'TLS', hostname: 'pt.iso.example.com', tls: { mode: 'Passthrough' } },
        ] },
      },
      { apiVersion: `${group}/v1alpha2`, kind: 'TLSRoute', metadata: { name: 'pt' }, spec: { parentRefs: [{ name: 'mixed', sectionName: 'passthrough' }], hostnames: ['pt.iso.example.com'], rules: [{ backendRefs: [{ name: 'tlsecho', port: 1030 }] }] } },
      { apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'terminated' }, spec: { parentRefs: [{ name: 'mixed', sectionName: 'terminate' }], rules: [{ backendRefs: [{ name: 'tlsecho', port: 1027 }] }] } },
    ] as unknown as KubernetesObject[]);
    await gateways.podsReady('app=tlsecho', 1);
    const address = await gateways.gatewayAddress('mixed');
    const backendSerial = serialOf(backend.certPem);
    const ourSerial = serialOf(ours.certPem);
    let seen = '';
    await waitFor({ what: 'the passthrough SNI to reach the backend', timeoutMs: 60_000 }, async () => {
      seen = await handshake(address, 443, 'pt.iso.example.com');
      return seen === backendSerial ? true : undefined;
    }, () => `last handshake: ${seen} (ours is ${ourSerial})`);
    const answers = await Promise.all(Array.from({ length: 10 }, () => handshake(address, 443, 'pt.iso.example.com')));
    expect(answers, 'the passthrough SNI always sees the backend certificate, never ours').to.deep.equal(Array(10).fill(backendSerial));
    expect(await handshake(address, 443, 'www.iso.example.com'), 'a name only the wildcard covers is terminated with ours').to.equal(ourSerial);

    // Over the terminated connection, a Host of the passthrough listener reaches no route: 421 (RFC 9110 §15.5.20).
    await gateways.httpsMustAnswer({ address, port: 443, path: '/', servername: 'www.iso.example.com' }, 200, /Running on Pod/);
    const misdirected = await httpsRequest({ address, port: 443, path: '/', servername: 'www.iso.example.com', host: 'pt.iso.example.com', timeoutMs: 5000 });
    expect(misdirected.status, `a Host of another listener: ${misdirected.body.slice(0, 200)}`).to.equal(421);
  });

  it('the proxy admin API listens on loopback only', function () {
    const port = cluster.config.proxyAdminPort;
    const listening = ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap((file) => readFileSync(file, 'utf8').trim().split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port)
      .map((fields) => fields[1]!.split(':')[0]!);
    expect(listening.length, `a socket listens on the admin port ${port}`).to.be.greaterThan(0);
    // 0100007F is 127.0.0.1 in /proc's little-endian hex; the IPv6 loopback is ::1.
    for (const local of listening) expect(['0100007F', '00000000000000000000000001000000']).to.include(local);
  });
});
