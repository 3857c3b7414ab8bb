// The local provider end to end: a real API server, CRDs, controllers and our node
// agent running Pods as processes in their own network namespaces.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { ApiextensionsV1Api, CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';
import { applyObjects, isNotFound, parseManifests, waitFor } from '../../src/lib/kube.js';
import { packageRoot } from '../../src/lib/paths.js';
import { pkiFiles } from '../../src/cluster/local/pki.js';
import type { StartedLocalCluster } from '../../src/cluster/local/provider.js';
import { clusterStartTimeoutMs, sharedCluster, testHome } from '../support/shared-cluster.js';

const namespace = 'agent-test';

const echoManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: ${namespace}}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: portcullis/echo
        ports: [{containerPort: 1027, name: http}]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 2}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: ${namespace}}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 1027, targetPort: http}]
`;

async function podsOf(core: CoreV1Api, selector: string) {
  return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [`${packageRoot}bin/portcullis.js`, ...args], { encoding: 'utf8', env: { ...process.env, PORTCULLIS_HOME: testHome } });
}

describe('local provider: cluster and node agent', function () {
  let cluster: StartedLocalCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;

  before(async function () {
    this.timeout(clusterStartTimeoutMs);
    cluster = await sharedCluster();
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
  });

  it('installs the Gateway API CRDs and they are Established', async function () {
    const crds = await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition();
    const established = crds.items
      .filter((crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
      .map((crd) => crd.metadata!.name);
    for (const resource of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'referencegrants']) {
      expect(established, `CRD ${resource}.gateway.networking.k8s.io`).to.include(`${resource}.gateway.networking.k8s.io`);
    }
  });

  it('registers a Ready node that kubectl can list', function () {
    const result = spawnSync(`${cluster.binaries.path('kubectl')}`, ['--kubeconfig', cluster.kubeconfigPath, 'get', 'nodes,pods', '-A'], { encoding: 'utf8' });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(new RegExp(`node/${cluster.config.nodeName}\\s+Ready`));
  });

  it('runs a Deployment of two echo Pods with their own addresses, listed in the EndpointSlice', async function () {
    this.timeout(90_000);
    await applyObjects(kc, parseManifests(echoManifests), 'portcullis-test');
    const pods = await waitFor(
      { what: 'two Ready echo Pods with addresses', timeoutMs: 60_000 },
      async () => {
        const items = (await podsOf(core, 'app=echo')).filter((p) => !p.metadata?.deletionTimestamp);
        const ready = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP);
        return ready.length === 2 ? ready : undefined;
      },
      async () => JSON.stringify((await podsOf(core, 'app=echo')).map((p) => ({ name: p.metadata?.name, phase: p.status?.phase, ip: p.status?.podIP, containers: p.status?.containerStatuses }))),
    );
    const addresses = pods.map((p) => p.status!.podIP!);
    expect(new Set(addresses).size, 'distinct pod IPs').to.equal(2);
    for (const address of addresses) expect(address).to.match(/^10\.244\./);

    const discovery = kc.makeApiClient(DiscoveryV1Api);
    await waitFor({ what: 'the echo EndpointSlice to list both Pods as ready', timeoutMs: 30_000 }, async () => {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=echo' });
      const listed = slices.items.flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready).flatMap((e) => e.addresses));
      return addresses.every((a) => listed.includes(a)) ? true : undefined;
    });

    for (const pod of pods) {
      const response = await request(`http://${pod.status!.podIP}:1027/`);
      const body = await response.body.text();
      expect(response.statusCode).to.equal(200);
      expect(body.trim()).to.equal(`Running on Pod ${pod.metadata!.name}.`);
    }
  });

  it('serves Pod logs to `kubectl logs` through the API server (the kubelet API), and to no other client', async function () {
    this.timeout(30_000);
    const [pod] = (await podsOf(core, 'app=echo')).filter((p) => p.status?.phase === 'Running');
    expect(pod, 'a running echo Pod (from the test above)').to.not.equal(undefined);
    const logs = spawnSync(cluster.binaries.path('kubectl'), ['--kubeconfig', cluster.kubeconfigPath, '-n', namespace, 'logs', pod!.metadata!.name!], { encoding: 'utf8' });
    expect(logs.status, logs.stderr).to.equal(0);
    expect(logs.stdout).to.include('echo backend listening');
    // The admin's certificate is the cluster CA's too, but only the API server may read logs on the node.
    const user = kc.getCurrentUser()!;
    const direct = await new Promise<number | string>((resolve) => {
      const req = httpsRequest(
        { host: cluster.config.bridgeAddress, port: 10250, path: `/containerLogs/${namespace}/${pod!.metadata!.name}/echo`, ca: readFileSync(pkiFiles(cluster.paths.pki).caCert), cert: Buffer.from(user.certData!, 'base64'), key: Buffer.from(user.keyData!, 'base64') },
        (res) => resolve(res.resume().statusCode ?? 0),
      );
      req.on('error', (err) => resolve(err.message));
      req.end();
    });
    expect(direct).to.equal(403);
  });

  it('mounts a TLS Secret at its mountPath and serves the rotated certificate after the Secret changes', async function () {
    this.timeout(90_000);
    const ca = await createCertificateAuthority('agent-test-ca');
    const first = await issueCertificate(ca, { commonName: 'tls.example.com', dnsNames: ['tls.example.com'] });
    const secret = (material: typeof first) => ({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: 'tls-cert', namespace },
      stringData: { 'tls.crt': material.certPem, 'tls.key': material.keyPem },
    });
    await applyObjects(kc, [secret(first), ...parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: tlsecho, namespace: ${namespace}, labels: {app: tlsecho}}
spec:
  containers:
  - name: echo
    image: portcullis/echo
    ports: [{containerPort: 1030}]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    volumeMounts: [{name: tls, mountPath: /etc/tls, readOnly: true}]
  volumes: [{name: tls, secret: {secretName: tls-cert}}]
`)], 'portcullis-test');
    const pod = await waitFor({ what: 'the tlsecho Pod to be Ready', timeoutMs: 60_000 }, async () => {
      const p = await core.readNamespacedPod({ name: 'tlsecho', namespace });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, async () => JSON.stringify((await core.readNamespacedPod({ name: 'tlsecho', namespace })).status));

    const servedSerial = () => new Promise<{ serial: string; text: string }>((resolve, reject) => {
      const socket = tlsConnect({ host: pod.status!.podIP!, port: 1030, servername: 'tls.example.com', ca: ca.certPem }, () => {
        const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
        let text = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('Through TLS connection.')) {
            socket.end();
            resolve({ serial, text });
          }
        });
      });
      socket.once('error', reject);
    });
    const before = await servedSerial();
    expect(before.serial).to.equal(first.serial);
    expect(before.text).to.include('Running on Pod tlsecho.');

    const second = await issueCertificate(ca, { commonName: 'tls.example.com', dnsNames: ['tls.example.com'] });
    await applyObjects(kc, [secret(second)], 'portcullis-test');
    await waitFor({ what: `the rotated certificate (serial ${second.serial}) to be served`, timeoutMs: 30_000 }, async () =>
      (await servedSerial()).serial === second.serial ? true : undefined,
    );
  });

  it('leaves a Pod with an unknown image not Ready, saying why', async function () {
    this.timeout(30_000);
    await applyObjects(kc, parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: unknown-image, namespace: ${namespace}}
spec:
  containers: [{name: app, image: example.com/not-in-the-table:1.0}]
`), 'portcullis-test');
    const waiting = await waitFor({ what: 'the unknown-image Pod to report why it cannot start', timeoutMs: 20_000 }, async () => {
      const pod = await core.readNamespacedPod({ name: 'unknown-image', namespace });
      return pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ? pod : undefined;
    });
    const state = waiting.status!.containerStatuses![0]!;
    expect(state.state!.waiting!.reason).to.equal('ErrImagePull');
    expect(state.state!.waiting!.message).to.include('example.com/not-in-the-table:1.0').and.include('portcullis/echo');
    expect(state.ready).to.equal(false);
    expect(waiting.status!.phase).to.equal('Pending');
  });

  it('deletes a namespace completely, Pods included', async function () {
    this.timeout(120_000);
    await core.deleteNamespace({ name: namespace });
    await waitFor({ what: `namespace ${namespace} to be gone`, timeoutMs: 110_000, intervalMs: 500 }, async () => {
      try {
        await core.readNamespace({ name: namespace });
        return undefined;
      } catch (err) {
        return isNotFound(err) ? true : undefined;
      }
    }, async () => JSON.stringify((await core.readNamespace({ name: namespace })).status));
  });

  it('answers `cluster up` again without restarting anything (idempotent)', function () {
    this.timeout(120_000);
    const before = runCli(['cluster', 'status', '--name', 'shared']);
    const result = runCli(['cluster', 'up', '--name', 'shared']);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stderr).to.include('already running');
    const after = runCli(['cluster', 'status', '--name', 'shared']);
    expect(JSON.parse(after.stdout).components).to.deep.equal(JSON.parse(before.stdout).components);
  });

  it('prints the KUBECONFIG export line with `cluster env`', function () {
    const result = runCli(['cluster', 'env', '--name', 'shared']);
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.include(`export KUBECONFIG=${cluster.kubeconfigPath}\n`);
  });
});
