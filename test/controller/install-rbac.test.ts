// The install RBAC (manifests/install/rbac.yaml) grants what the controller reads and
// writes, and nothing more (issue 8: least privilege), and the real API server takes it.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyObjects, parseManifests } from '../../src/lib/kube.js';
import { packageRoot } from '../../src/lib/paths.js';
import { watchedResources } from '../../src/controller/watch/resources.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const objects = parseManifests(readFileSync(join(packageRoot, 'manifests', 'install', 'rbac.yaml'), 'utf8'));
const rules = (objects.find((o) => o.kind === 'ClusterRole') as KubernetesObject & { rules: PolicyRule[] }).rules;

function granted(group: string, resource: string): Set<string> {
  return new Set(rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs));
}

/** The status subresources the status writer patches, and the Events it records. */
const writes: [string, string, string][] = [
  ['gateway.networking.k8s.io', 'gatewayclasses/status', 'patch'],
  ['gateway.networking.k8s.io', 'gateways/status', 'patch'],
  ['gateway.networking.k8s.io', 'httproutes/status', 'patch'],
  ['gateway.networking.k8s.io', 'grpcroutes/status', 'patch'],
  ['gateway.networking.k8s.io', 'tlsroutes/status', 'patch'],
  ['gateway.networking.k8s.io', 'tcproutes/status', 'patch'],
  ['gateway.networking.k8s.io', 'backendtlspolicies/status', 'patch'],
  ['networking.k8s.io', 'ingresses/status', 'patch'],
  ['', 'events', 'create'],
];

describe('install RBAC: least privilege for the controller', function () {
  for (const resource of watchedResources) {
    it(`lets it get, list and watch ${resource.plural}${resource.group ? `.${resource.group}` : ''}`, function () {
      expect([...granted(resource.group, resource.plural)].sort()).to.deep.equal(['get', 'list', 'watch']);
    });
  }

  it('lets it write only the status subresources it reports on, and create Events', function () {
    const expected = new Set(writes.map(([group, resource, verb]) => `${group}/${resource}:${verb}`));
    const readOnly = new Set(watchedResources.map((r) => `${r.group}/${r.plural}`));
    const actual = rules.flatMap((rule) =>
      rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.filter((verb) => !(readOnly.has(`${group}/${resource}`) && ['get', 'list', 'watch'].includes(verb))).map((verb) => `${group}/${resource}:${verb}`))),
    );
    expect(new Set(actual)).to.deep.equal(expected);
    expect(rules.some((r) => r.apiGroups.includes('*') || r.resources.includes('*') || r.verbs.includes('*')), 'no wildcard').to.equal(false);
  });

  it('is enforced by the real API server as intended (kubectl auth can-i as the ServiceAccount)', async function () {
    this.timeout(clusterStartTimeoutMs);
    const cluster = await sharedCluster();
    await applyObjects(cluster.kubeConfig(), objects, 'portcullis-test');
    const canI = (verb: string, resource: string, subresource?: string) => {
      const args = ['--kubeconfig', cluster.kubeconfigPath, 'auth', 'can-i', verb, resource, '--all-namespaces', '--as=system:serviceaccount:portcullis-system:portcullis'];
      if (subresource) args.push(`--subresource=${subresource}`);
      return spawnSync(cluster.binaries.path('kubectl'), args, { encoding: 'utf8' }).stdout.trim();
    };
    const rows: [string, string, string | undefined, 'yes' | 'no'][] = [
      ['watch', 'secrets', undefined, 'yes'],
      ['list', 'httproutes.gateway.networking.k8s.io', undefined, 'yes'],
      ['patch', 'gateways.gateway.networking.k8s.io', 'status', 'yes'],
      ['patch', 'backendtlspolicies.gateway.networking.k8s.io', 'status', 'yes'],
      ['patch', 'ingresses.networking.k8s.io', 'status', 'yes'],
      ['create', 'events', undefined, 'yes'],
      ['create', 'secrets', undefined, 'no'],
      ['update', 'secrets', undefined, 'no'],
      ['patch', 'gateways.gateway.networking.k8s.io', undefined, 'no'],
      ['delete', 'httproutes.gateway.networking.k8s.io', undefined, 'no'],
      ['create', 'pods', undefined, 'no'],
      ['get', 'pods', undefined, 'no'],
    ];
    for (const [verb, resource, subresource, answer] of rows) {
      expect(canI(verb, resource, subresource), `can the controller ${verb} ${resource}${subresource ? `/${subresource}` : ''}?`).to.equal(answer);
    }
  });
});
