// Gateway spec.tls end to end on the local provider: client certificate validation on
// HTTPS listeners (frontend default and perPort, both modes, a bad CA ref failing
// closed) and the client certificate the gateway presents to a backend it re-encrypts
// to (backend.clientCertificateRef). Real API server, real echo Pods, real certificates,
// undici as the TLS client.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { controllerName, type Gateway } from '../../src/controller/gatewayapi-types.js';
import { SuiteContext, conditionStatus, describeConditions } from '../../src/harness/context.js';
import { awaitConvergence, defaultTimeouts } from '../../src/harness/timeouts.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { waitFor } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';
import { echoWorkload } from './echo-workload.js';

const group = 'gateway.networking.k8s.io';
const suffix = () => randomBytes(3).toString('hex');

interface EchoAnswer {
  pod?: string;
  tls?: { peerCertificates?: string[] };
}

/** `answered <status>` with the echo's JSON, or `refused: <why>` when the TLS handshake or the request fails. */
async function httpsGet(address: string, port: number, host: string, serverCa: string, client?: KeyMaterial): Promise<{ outcome: string; answer?: EchoAnswer }> {
  const agent = new Agent({ connect: { ca: serverCa, servername: host, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) } });
  try {
    const response = await request(`https://${address}:${port}/`, { headers: { host }, dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await response.body.text();
    return { outcome: `answered ${response.statusCode}`, ...(response.statusCode === 200 ? { answer: JSON.parse(text) as EchoAnswer } : {}) };
  } catch (err) {
    return { outcome: `refused: ${(err as Error).message}` };
  } finally {
    await agent.close().catch(() => {});
  }
}

const httpGet = async (address: string, port: number, host: string): Promise<{ status: number; answer: EchoAnswer }> => {
  const response = await request(`http://${address}:${port}/`, { headers: { host }, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await response.body.text();
  return { status: response.statusCode, answer: response.statusCode === 200 ? (JSON.parse(text) as EchoAnswer) : {} };
};

/** PEM without line breaks, so a chain from the echo compares with what we issued. */
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');

describe('Gateway spec.tls end to end on the local provider', function () {
  let ctx: SuiteContext;
  let serverCa: CertificateAuthority;
  this.timeout(clusterStartTimeoutMs);

  before(async function () {
    const cluster = await sharedCluster();
    ctx = new SuiteContext(cluster.kubeConfig(), `gateway-tls-e2e-${suffix()}`, { gatewayClass: 'portcullis', ingressClass: 'portcullis', controllerName }, defaultTimeouts, '.');
    await ctx.createNamespace();
    serverCa = await createCertificateAuthority('Portcullis gateway-tls e2e server CA');
  });

  after(async function () {
    await ctx?.deleteNamespace();
  });

  it('verifies client certificates per port (default AllowValidOnly, perPort AllowInsecureFallback), and stops serving a listener whose CA ref breaks', async function () {
    const clientsCa = await createCertificateAuthority('Default clients CA');
    const otherCa = await createCertificateAuthority('Port 8443 clients CA');
    const trusted = await issueCertificate(clientsCa, { commonName: 'trusted-client', usage: 'client' });
    const serverOnly = await issueCertificate(clientsCa, { commonName: 'not-for-clients', usage: 'server' });
    const stranger = await issueCertificate(otherCa, { commonName: 'client-of-another-ca', usage: 'client' });
    const server = await issueCertificate(serverCa, { commonName: 'mtls.example.com', dnsNames: ['mtls.example.com'] });
    await ctx.tlsSecret('mtls-server', server.certPem, server.keyPem);
    const gateway = (defaultCa: string) => ({
      apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'mtls' },
      spec: {
        tls: {
          frontend: {
            default: { validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: defaultCa }] } },
            perPort: [{ port: 8443, tls: { validation: { mode: 'AllowInsecureFallback', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'other-ca' }] } } }],
          },
        },
        listeners: [
          { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'mtls-server' }] } },
          { name: 'https-fallback', port: 8443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'mtls-server' }] } },
        ],
      },
    });
    await ctx.applyObjects([
      ...echoWorkload('plain-echo', { format: 'json' }),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'clients-ca' }, data: { 'ca.crt': clientsCa.certPem } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-ca' }, data: { 'ca.crt': otherCa.certPem } },
      gateway('clients-ca'),
      { apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name: 'mtls' }, spec: { parentRefs: [{ name: 'mtls' }], rules: [{ backendRefs: [{ name: 'plain-echo', port: 1027 }] }] } },
    ] as unknown as KubernetesObject[]);
    await ctx.podsReady('app=plain-echo', 1);
    const address = await ctx.gatewayAndRouteMustBeAccepted('mtls', 'HTTPRoute', 'mtls');
    const host = 'mtls.example.com';

    await awaitConvergence('port 443 serves a client whose certificate chains to the default CA', ctx.timeouts, async () => {
      const { outcome, answer } = await httpsGet(address, 443, host, serverCa.certPem, trusted);
      expect(outcome).to.equal('answered 200');
      expect(answer?.pod).to.match(/^plain-echo-/);
    });
    expect((await httpsGet(address, 443, host, serverCa.certPem)).outcome, 'port 443 without a client certificate').to.match(/^refused/);
    expect((await httpsGet(address, 443, host, serverCa.certPem, stranger)).outcome, 'port 443 with a certificate of the perPort CA only').to.match(/^refused/);
    expect((await httpsGet(address, 443, host, serverCa.certPem, serverOnly)).outcome, 'port 443 with a certificate of the right CA not meant for clients (no clientAuth)').to.match(/^refused/);
    for (const [label, client] of [['no certificate', undefined], ['a certificate of another CA', trusted], ['a certificate of its CA', stranger]] as const) {
      expect((await httpsGet(address, 8443, host, serverCa.certPem, client)).outcome, `port 8443 (AllowInsecureFallback) with ${label}`).to.equal('answered 200');
    }
    const insecure = await waitFor({ what: 'Gateway mtls to report InsecureFrontendValidationMode', timeoutMs: ctx.timeouts.maxTimeToConsistencyMs }, async () => {
      const conditions = (await ctx.getCustom<Gateway>('Gateway', 'mtls')).status?.conditions ?? [];
      return conditions.find((c) => c.type === 'InsecureFrontendValidationMode');
    });
    expect(insecure.status, describeConditions([insecure])).to.equal('True');
    expect(insecure.reason).to.equal('ConfigurationChanged');

    await ctx.applyObjects([gateway('no-such-configmap') as unknown as KubernetesObject]);
    const listener = await waitFor({ what: 'listener https to lose its CA', timeoutMs: ctx.timeouts.maxTimeToConsistencyMs }, async () => {
      const status = (await ctx.getCustom<Gateway>('Gateway', 'mtls')).status?.listeners?.find((l) => l.name === 'https');
      return status && conditionStatus(status.conditions, 'Accepted') === 'False' ? status : undefined;
    });
    const describe = describeConditions(listener.conditions);
    expect(listener.conditions.find((c) => c.type === 'Accepted')?.reason, describe).to.equal('NoValidCACertificate');
    expect(listener.conditions.find((c) => c.type === 'ResolvedRefs')?.reason, describe).to.equal('InvalidCACertificateRef');
    await awaitConvergence('a listener without a valid CA is not served, even to a formerly trusted client', ctx.timeouts, async () => {
      expect((await httpsGet(address, 443, host, serverCa.certPem, trusted)).outcome).to.match(/^refused/);
    });
    expect((await httpsGet(address, 8443, host, serverCa.certPem)).outcome, 'the perPort listener is unaffected').to.equal('answered 200');
  });

  it('presents the Gateway backend client certificate to a backend it re-encrypts to, and only for that Gateway', async function () {
    const backendsCa = await createCertificateAuthority('Backends CA');
    const backend = await issueCertificate(backendsCa, { commonName: 'secure.example.com', dnsNames: ['secure.example.com'] });
    const gatewayClient = await issueCertificate(backendsCa, { commonName: 'gateway-client', usage: 'client' });
    await ctx.tlsSecret('secure-backend', backend.certPem, backend.keyPem);
    await ctx.tlsSecret('gateway-client', gatewayClient.certPem, gatewayClient.keyPem);
    const route = (name: string) => ({ apiVersion: `${group}/v1`, kind: 'HTTPRoute', metadata: { name }, spec: { parentRefs: [{ name }], rules: [{ backendRefs: [{ name: 'mtls-backend', port: 1030 }] }] } });
    await ctx.applyObjects([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'backends-ca' }, data: { 'ca.crt': backendsCa.certPem } },
      ...echoWorkload('mtls-backend', { tlsSecret: 'secure-backend', clientCaConfigMap: 'backends-ca', format: 'json' }),
      {
        apiVersion: `${group}/v1`, kind: 'BackendTLSPolicy', metadata: { name: 'mtls-backend' },
        spec: { targetRefs: [{ group: '', kind: 'Service', name: 'mtls-backend', sectionName: 'https' }], validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'backends-ca' }], hostname: 'secure.example.com' } },
      },
      { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'presents' }, spec: { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], tls: { backend: { clientCertificateRef: { group: '', kind: 'Secret', name: 'gateway-client' } } } } },
      { apiVersion: `${group}/v1`, kind: 'Gateway', metadata: { name: 'anonymous' }, spec: { listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
      route('presents'),
      route('anonymous'),
    ] as unknown as KubernetesObject[]);
    await ctx.podsReady('app=mtls-backend', 1);
    const presents = await ctx.gatewayAndRouteMustBeAccepted('presents', 'HTTPRoute', 'presents');
    const anonymous = await ctx.gatewayAndRouteMustBeAccepted('anonymous', 'HTTPRoute', 'anonymous');
    const conditions = (await ctx.getCustom<Gateway>('Gateway', 'presents')).status?.conditions ?? [];
    expect(conditions.find((c) => c.type === 'ResolvedRefs')?.reason, describeConditions(conditions)).to.equal('ResolvedRefs');

    await awaitConvergence('the backend sees the Gateway client certificate', ctx.timeouts, async () => {
      const { status, answer } = await httpGet(presents, 80, 'any.example.com');
      expect(status).to.equal(200);
      expect((answer.tls?.peerCertificates ?? []).map(pemBody), JSON.stringify(answer.tls ?? {})).to.include(pemBody(gatewayClient.certPem));
    });
    await awaitConvergence('through a Gateway without spec.tls the backend sees no client certificate', ctx.timeouts, async () => {
      const { status, answer } = await httpGet(anonymous, 80, 'any.example.com');
      expect(status).to.equal(200);
      expect(answer.tls, 'the backend was reached over TLS').to.not.equal(undefined);
      expect(answer.tls?.peerCertificates ?? [], JSON.stringify(answer.tls)).to.deep.equal([]);
    });
  });
});
