// On the shared cluster: the harness tests an implementation on a cluster it did not
// create (--provider existing), and no private key reaches a log, the proxy's
// GET /config or its metrics.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { packageRoot } from '../../src/lib/paths.js';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { StartedLocalCluster } from '../../src/cluster/local/provider.js';
import { controllerName } from '../../src/controller/gatewayapi-types.js';
import { SuiteContext } from '../../src/harness/context.js';
import { defaultTimeouts } from '../../src/harness/timeouts.js';
import { createSelfSignedCertificate } from '../../src/lib/certs.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

/** The reference scenarios' folders for the guide's server.crt (SuiteContext.scratchDir). */
const guideFolders = () => readdirSync(tmpdir()).filter((name) => name.startsWith('portcullis-guide-'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('--provider existing, and no key material in logs, GET /config or metrics', function () {
  let cluster: StartedLocalCluster;
  before(async function () {
    this.timeout(clusterStartTimeoutMs);
    cluster = await sharedCluster();
  });

  it('runs a test against a cluster it did not create (--provider existing), writes both reports, and keeps its namespace when told', async function () {
    this.timeout(240_000);
    const out = mkdtempSync(join(tmpdir(), 'portcullis-existing-'));
    const testNamespaces = async () => (await cluster.kubeConfig().makeApiClient(CoreV1Api).listNamespace()).items
      .map((ns) => ns.metadata!.name!).filter((name) => name.startsWith('reference-scenario1-gateway-termination-'));
    const before = await testNamespaces();
    const guidesBefore = guideFolders();
    const result = spawnSync(process.execPath, [
      join(packageRoot, 'bin', 'portcullis.js'), 'conformance', '--provider', 'existing', '--kubeconfig', cluster.kubeconfigPath,
      '--run-test', 'ReferenceScenario1GatewayTermination', '--junit-output', join(out, 'junit.xml'), '--report-output', join(out, 'report.yaml'),
      '--cleanup-base-resources=false',
    ], { encoding: 'utf8', timeout: 170_000 });
    expect(result.status, result.stderr.slice(-2000)).to.equal(0);
    expect(result.stderr).to.include('conformance: 1 passed, 0 failed, 0 skipped');
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).to.match(/<testcase [^>]*name="ReferenceScenario1GatewayTermination/);
    expect(readFileSync(join(out, 'report.yaml'), 'utf8')).to.include('kind: ConformanceReport');
    // The upstream spelling of "keep what the test made": its namespace is still there, not terminating.
    const kept = (await testNamespaces()).filter((name) => !before.includes(name));
    expect(kept, 'the test namespace kept by --cleanup-base-resources=false').to.have.length(1);
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    expect((await core.readNamespace({ name: kept[0]! })).status?.phase).to.equal('Active');
    await core.deleteNamespace({ name: kept[0]! });
    // What the test wrote outside the cluster is not kept: the guide's server.crt folder is gone.
    expect(guideFolders().filter((name) => !guidesBefore.includes(name))).to.deep.equal([]);
    rmSync(out, { recursive: true, force: true }); // kept when the test fails, to look into
  });

  it('--grep runs only the tests whose title matches, and the reports list only those', function () {
    this.timeout(240_000);
    const out = mkdtempSync(join(tmpdir(), 'portcullis-grep-'));
    const result = spawnSync(process.execPath, [
      join(packageRoot, 'bin', 'portcullis.js'), 'conformance', '--provider', 'existing', '--kubeconfig', cluster.kubeconfigPath,
      '--grep', 'Scenario3Gateway', '--junit-output', join(out, 'junit.xml'), '--report-output', join(out, 'report.yaml'),
    ], { encoding: 'utf8', timeout: 230_000 });
    expect(result.status, result.stderr.slice(-2000)).to.equal(0);
    expect(result.stderr).to.include('conformance: 1 passed, 0 failed, 0 skipped');
    const names = [...readFileSync(join(out, 'junit.xml'), 'utf8').matchAll(/<testcase name="([^":]+)/g)].map((m) => m[1]);
    expect(names).to.deep.equal(['ReferenceScenario3GatewayPassthrough']);
    rmSync(out, { recursive: true, force: true }); // kept when the test fails, to look into
  });

  it('never writes a private key to a log, to GET /config or to the metrics', async function () {
    this.timeout(120_000);
    // A terminating listener of its own, so the proxy certainly holds a key while we look.
    const ctx = new SuiteContext(cluster.kubeConfig(), 'key-leak-check', { gatewayClass: 'portcullis', ingressClass: 'portcullis', controllerName }, defaultTimeouts, '');
    await ctx.createNamespace();
    try {
      const material = await createSelfSignedCertificate({ commonName: 'leak.example.com', dnsNames: ['leak.example.com'] });
      await ctx.tlsSecret('leak', material.certPem, material.keyPem);
      await ctx.applyObjects([{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'leak' }, spec: { gatewayClassName: 'portcullis', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'leak' }] } }] } } as KubernetesObject]);
      await ctx.gatewayAddress('leak');
      await checkNoKeyMaterial(material.keyPem);
    } finally {
      await ctx.deleteNamespace();
    }
  });

  async function checkNoKeyMaterial(keyPem: string): Promise<void> {
    const keyBody = keyPem.split('\n')[1]!;
    const offenders = filesUnder(cluster.paths.logs).filter((file) => /PRIVATE KEY/.test(readFileSync(file, 'latin1')) || readFileSync(file, 'latin1').includes(keyBody));
    expect(offenders, 'log files containing PEM private keys').to.deep.equal([]);
    const admin = `http://127.0.0.1:${cluster.config.proxyAdminPort}`;
    const config = await (await request(`${admin}/config`)).body.text();
    expect(config, 'the proxy serves a configuration with certificates').to.include('BEGIN CERTIFICATE');
    expect(config).to.not.include('PRIVATE KEY');
    expect(config).to.not.include(keyBody);
    expect(config).to.include('[REDACTED]');
    const metrics = await (await request(`${admin}/metrics`)).body.text();
    expect(metrics).to.not.include('PRIVATE KEY');
  }
});
