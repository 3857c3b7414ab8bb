// What the runner decides before it starts anything: which provider `auto` picks, which
// --k8s-version each provider can honour, what the kind provider will run, what it
// installs, and which tests are skipped (and why) when the cluster lacks a kind.
import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortcullisError } from '../../src/lib/errors.js';
import { errorOf } from './portcullis-error.js';
import { formatCommand } from '../../src/cluster/kind/commands.js';
import { portcullisInstallObjects } from '../../src/cluster/kind/install.js';
import { kindPlan } from '../../src/cluster/kind/provider.js';
import { k3sImageFor } from '../../src/cluster/k3s/options.js';
import { checkKubernetesVersion, chooseProvider, featuresToTest, unavailableFeatures } from '../../src/harness/runner.js';
import { controllerName } from '../../src/controller/gatewayapi-types.js';
import { skipReason } from '../../src/harness/mocha-tests.js';
import type { ConformanceTest } from '../../src/harness/conformance-test.js';

describe('harness: provider selection', () => {
  it('auto picks kind when the engine and kind are there, else local with the reason', async () => {
    const kind = await chooseProvider('auto', async () => ({ available: true, environment: { engine: 'docker', kindVersion: 'v0.33.0' } }));
    expect(kind).to.deep.equal({ provider: 'kind', reason: 'auto: kind v0.33.0 and docker are available' });
    const local = await chooseProvider('auto', async () => ({ available: false, error: new PortcullisError('NO_KIND', 'the kind binary is not on PATH: install kind') }));
    expect(local).to.deep.equal({ provider: 'local', reason: 'auto: local, since kind is not usable here (the kind binary is not on PATH)' });
  });

  it('an explicit provider is taken as asked, without probing', async () => {
    const probe = async () => {
      throw new Error('must not probe');
    };
    for (const provider of ['local', 'kind', 'k3s', 'existing'] as const) expect(await chooseProvider(provider, probe)).to.deep.equal({ provider });
  });
});

describe('harness: --k8s-version', () => {
  const accepted: Array<[string, 'local' | 'kind' | 'k3s', string]> = [
    ['local: the built version', 'local', 'v1.36.3'],
    ['local: its minor', 'local', '1.36'],
    ['kind: a minor with a pinned node image', 'kind', '1.35'],
    ['k3s: a full release', 'k3s', '1.35.4'],
  ];
  for (const [rule, provider, version] of accepted) {
    it(`accepts ${rule} (${version})`, () => {
      expect(() => checkKubernetesVersion(provider, version, 'v1.36.3')).not.to.throw();
    });
  }

  const refused: Array<[string, 'local' | 'kind' | 'k3s' | 'existing', string, string]> = [
    ['local: another version than the built one', 'local', '1.35', 'K8S_VERSION_NOT_BUILT'],
    ['local: another patch', 'local', 'v1.36.2', 'K8S_VERSION_NOT_BUILT'],
    ['kind: a version kind built no image for', 'kind', '1.30', 'NO_KIND_NODE_IMAGE'],
    ['k3s: a minor only', 'k3s', '1.35', 'BAD_K8S_VERSION'],
    ['existing: any version', 'existing', '1.35', 'K8S_VERSION_NOT_APPLICABLE'],
  ];
  for (const [rule, provider, version, code] of refused) {
    it(`refuses ${rule} with one line naming the fix`, () => {
      const error = errorOf(() => checkKubernetesVersion(provider, version, 'v1.36.3'));
      expect(error.code).to.equal(code);
      expect(error.message).to.not.include('\n');
    });
  }

  it('says which version the local provider runs', () => {
    expect(errorOf(() => checkKubernetesVersion('local', '1.35', 'v1.36.3')).message).to.equal(
      '--k8s-version 1.35: the local provider runs Kubernetes v1.36.3, built from tools/controlplane: ask for v1.36.3 (or drop --k8s-version), or use --provider kind for another version',
    );
  });

  it('maps a K3s version to its first K3s build', () => {
    expect(k3sImageFor('v1.35.4')).to.equal('rancher/k3s:v1.35.4-k3s1');
  });
});

describe('harness: kind provider plan', () => {
  const plan = kindPlan({ name: 'portcullis-conformance', kubernetesVersion: '1.35', engine: 'docker', stateDir: '/state/kind', repositoryRoot: '/repo/' });

  it('creates the cluster on the pinned node image, builds both images from the repository Dockerfile, loads them, opens the node to LoadBalancers', () => {
    expect(plan.nodeImage).to.match(/^kindest\/node:v1\.35\.8@sha256:/);
    expect(plan.config).to.include(`image: ${plan.nodeImage}`);
    expect(plan.commands.map((c) => formatCommand(c.line))).to.deep.equal([
      'kind create cluster --name portcullis-conformance --config /state/kind/kind.yaml --wait 5m --kubeconfig /state/kind/kubeconfig',
      'docker build --target portcullis -t portcullis/portcullis:dev -f /repo/Dockerfile /repo/',
      'docker build --target echo -t portcullis/echo:dev -f /repo/Dockerfile /repo/',
      'kind load docker-image --name portcullis-conformance portcullis/portcullis:dev portcullis/echo:dev',
      'kubectl --kubeconfig /state/kind/kubeconfig label node portcullis-conformance-control-plane node.kubernetes.io/exclude-from-external-load-balancers-',
    ]);
    expect(formatCommand(plan.cloudProvider)).to.equal('cloud-provider-kind --gateway-channel disabled --enable-default-ingress=false');
  });

  it('with Podman, builds with podman and loads through an archive', () => {
    const podman = kindPlan({ name: 'c', engine: 'podman', stateDir: '/s', repositoryRoot: '/r' });
    expect(podman.commands.map((c) => c.line.command)).to.deep.equal(['kind', 'podman', 'podman', 'podman', 'kind', 'kubectl']);
    expect(podman.commands[0]!.line.env).to.deep.equal({ KIND_EXPERIMENTAL_PROVIDER: 'podman' });
  });

  it('installs manifests/install with the namespace and RBAC first, and our GatewayClass and IngressClass', () => {
    const objects = portcullisInstallObjects();
    expect(objects[0]!.kind).to.equal('Namespace');
    const kinds = objects.map((o) => o.kind);
    expect(kinds).to.include.members(['ServiceAccount', 'ClusterRole', 'GatewayClass', 'IngressClass']);
    expect(kinds.indexOf('ClusterRole')).to.be.below(Math.max(kinds.indexOf('GatewayClass'), kinds.indexOf('Deployment')));
    expect(objects.filter((o) => o.kind === 'GatewayClass').map((o) => o.metadata?.name)).to.deep.equal(['portcullis']);
  });

  it('applies what a kustomization lists, not the kustomization itself, Namespace first whatever the file order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'install-'));
    writeFileSync(join(dir, 'a-workload.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: p, namespace: ns}\n');
    writeFileSync(join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a-workload.yaml, z-rbac.yaml]\n');
    writeFileSync(join(dir, 'z-rbac.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n');
    expect(portcullisInstallObjects(dir).map((o) => o.kind)).to.deep.equal(['Namespace', 'Deployment', 'GatewayClass', 'IngressClass']);
  });
});

describe('harness: skipping tests the cluster or the implementation cannot run', () => {
  const test = { shortName: 'T', features: ['Gateway', 'TCPRoute'] } as ConformanceTest;

  it('a feature whose kind the cluster does not serve is skipped with the Gateway API release named', () => {
    const served = new Map([['Gateway', ['v1']], ['HTTPRoute', ['v1']], ['ReferenceGrant', ['v1beta1']]]);
    const unavailable = unavailableFeatures(served, 'v1.1.0 standard');
    expect([...unavailable.keys()]).to.deep.equal(['GRPCRoute', 'TLSRoute', 'TCPRoute']);
    expect(skipReason(test, { unavailableFeatures: unavailable })).to.equal("the cluster's Gateway API (v1.1.0 standard) serves no TCPRoute");
  });

  it('a feature the implementation does not claim is skipped as unsupported; a test with all it needs runs', () => {
    expect(skipReason(test, { supportedFeatures: new Set(['Gateway']) })).to.equal('unsupported feature TCPRoute');
    expect(skipReason(test, { supportedFeatures: new Set(['Gateway', 'TCPRoute']), unavailableFeatures: new Map() })).to.equal(undefined);
  });
});

describe('harness: which features to test', () => {
  const lines: string[] = [];
  const progress = (line: string) => lines.push(line);
  const sorted = (set: Set<string>) => [...set].sort();

  it('--supported-features wins, then the GatewayClass status; --exempt-features removes', () => {
    expect(sorted(featuresToTest(new Set(['Gateway', 'TLSRoute']), 'x', { supportedFeatures: ['Gateway'], progress }))).to.deep.equal(['Gateway']);
    expect(sorted(featuresToTest(new Set(['Gateway', 'TLSRoute']), 'x', { exemptFeatures: ['TLSRoute'], progress }))).to.deep.equal(['Gateway']);
    expect(sorted(featuresToTest(new Set(), 'x', { progress }))).to.deep.equal([]);
  });

  it('where the CRD has no supportedFeatures field (v1.1.0 standard): ours for our class, none for another, each said', () => {
    lines.length = 0;
    expect(sorted(featuresToTest(undefined, controllerName, { progress }))).to.include.members(['Gateway', 'HTTPRoute', 'TLSRoute']);
    expect(sorted(featuresToTest(undefined, 'example.com/other', { progress }))).to.deep.equal([]);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.include('pass --supported-features');
  });
});
