// The install for real clusters: manifests/install/ (kustomization, RBAC, Deployment,
// Service, classes) and the Dockerfile whose images it runs. No container engine here:
// the manifests are checked for consistency with each other and with the controller's
// own flag parser, then sent to the real API server (server-side dry run); the Dockerfile
// is checked for its structure and for every path the manifests rely on.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import type { KubernetesObject, V1Deployment, V1Role, V1Service } from '@kubernetes/client-node';
import { applyObjects, parseManifests } from '../../src/lib/kube.js';
import { packageRoot } from '../../src/lib/paths.js';
import { parseControllerFlags } from '../../src/controller/flags.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

const installDir = join(packageRoot, 'manifests', 'install');
const read = (...path: string[]) => readFileSync(join(packageRoot, ...path), 'utf8');
const kustomization = YAML.parse(read('manifests', 'install', 'kustomization.yaml')) as { resources: string[] };
const objects = kustomization.resources.flatMap((file) => parseManifests(read('manifests', 'install', file)));
const find = <T extends KubernetesObject>(kind: string, name?: string) => {
  const found = objects.find((o) => o.kind === kind && (!name || o.metadata?.name === name));
  if (!found) throw new Error(`manifests/install/ has no ${kind}${name ? ` ${name}` : ''}`);
  return found as T;
};
const deployment = find<V1Deployment>('Deployment', 'portcullis');
const pod = deployment.spec!.template.spec!;
const container = (name: string) => pod.containers.find((c) => c.name === name)!;
const service = find<V1Service>('Service');

/** The Dockerfile as stages: `FROM image AS name` and the instructions under it. */
function dockerStages(text: string): { from: string; name: string; lines: string[] }[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; name: string; lines: string[] }[] = [];
  for (const line of logical) {
    const from = /^FROM\s+(\S+)\s+AS\s+(\S+)$/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2]!, lines: [] });
    else if (/^FROM\b/i.test(line)) throw new Error(`every FROM names its stage: ${line}`);
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe('install for real clusters: manifests/install/ and the Dockerfile', function () {
  describe('Dockerfile', function () {
    const stages = dockerStages(read('Dockerfile'));
    const stage = (name: string) => stages.find((s) => s.name === name)!;
    const entrypoint = (name: string) => JSON.parse(stage(name).lines.find((l) => l.startsWith('ENTRYPOINT'))!.slice('ENTRYPOINT'.length)) as string[];

    it('builds on Node 20 in stages, with the targets portcullis and echo', function () {
      expect(stages.map((s) => s.name)).to.include.members(['build', 'runtime', 'portcullis', 'echo']);
      for (const s of stages) expect(s.from, `stage ${s.name}`).to.match(/^(node:20[-.\w]*|build|runtime)$/);
      expect(stage('portcullis').from).to.equal('runtime');
      expect(stage('echo').from).to.equal('runtime');
    });

    it('installs with npm ci, compiles with tsc, and keeps only production dependencies', function () {
      const build = stage('build').lines.join('\n');
      expect(build).to.match(/RUN npm ci\b/);
      expect(build).to.match(/npx tsc -p tsconfig\.json/);
      expect(build).to.match(/npm prune --omit=dev/);
      const runtime = stage('runtime').lines;
      expect(runtime.some((l) => /^COPY --from=build \S*node_modules/.test(l)), 'node_modules comes from the pruned build').to.equal(true);
      expect(runtime.some((l) => /^RUN npm (ci|install)/.test(l)), 'no second install in the final image').to.equal(false);
      expect(runtime.find((l) => l.startsWith('USER')), 'runs as the unprivileged user the Deployment asks for').to.equal(`USER ${pod.securityContext!.runAsUser}:${pod.securityContext!.runAsGroup}`);
    });

    it('has the entry points the other tools expect', function () {
      expect(entrypoint('portcullis')).to.deep.equal(['node', '/app/bin/portcullis.js']);
      expect(entrypoint('echo')).to.deep.equal(['node', '/app/dist/src/echo/main.js']);
    });

    it('copies only what exists, and .dockerignore does not hide it', function () {
      const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      for (const line of stages.flatMap((s) => s.lines).filter((l) => l.startsWith('COPY ') && !l.startsWith('COPY --from'))) {
        const sources = line.split(/\s+/).slice(1, -1);
        for (const source of sources) {
          expect(existsSync(join(packageRoot, source)), `${line}: ${source} exists`).to.equal(true);
          expect(ignored, `${source} is not in .dockerignore`).to.not.include(source.replace(/^\.\//, ''));
        }
      }
      expect(ignored, 'local state never goes into an image').to.include.members(['.portcullis', 'node_modules', 'dist', '.git']);
    });

    it('holds every program the install manifest and the echo image run', function () {
      const copied = stage('runtime').lines.filter((l) => l.startsWith('COPY')).map((l) => l.split(/\s+/).at(-1)!.replace(/^\.\//, '/app/'));
      for (const c of pod.containers) {
        const program = c.command![1]!;
        expect(copied.some((dir) => program.startsWith(dir.endsWith('/') ? dir : `${dir}/`)), `${program} is in the image`).to.equal(true);
        expect(existsSync(join(packageRoot, program.replace('/app/', ''))), `${program} is built by tsc`).to.equal(true);
        expect(c.image).to.equal('portcullis/portcullis:dev');
      }
      expect(existsSync(join(packageRoot, 'dist', 'src', 'echo', 'main.js'))).to.equal(true);
    });
  });

  describe('manifests', function () {
    it('list every file of manifests/install/ in the kustomization', function () {
      for (const file of kustomization.resources) expect(existsSync(join(installDir, file)), file).to.equal(true);
      expect(objects.map((o) => o.kind)).to.include.members(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service', 'GatewayClass', 'IngressClass']);
    });

    it('run the Deployment as the ServiceAccount the RBAC binds, in its namespace', function () {
      const account = find<KubernetesObject>('ServiceAccount');
      expect(pod.serviceAccountName).to.equal(account.metadata!.name);
      expect(deployment.metadata!.namespace).to.equal(account.metadata!.namespace);
      for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
        const binding = find<KubernetesObject & { subjects: { name: string; namespace: string }[] }>(kind);
        expect(binding.subjects, kind).to.deep.include({ kind: 'ServiceAccount', name: account.metadata!.name, namespace: account.metadata!.namespace });
      }
    });

    it('give the controller flags its own parser takes: service addresses on this Service, leader election on a Lease it may write', function () {
      const controller = container('controller');
      const env = Object.fromEntries((controller.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? deployment.metadata!.namespace : 'pod-0']));
      const parsed = parseControllerFlags(controller.args ?? [], { ...env, KUBERNETES_SERVICE_HOST: '10.96.0.1' });
      if (parsed === 'help') throw new Error('unexpected --help');
      expect(parsed.options.addressMode).to.deep.equal({ kind: 'service', namespace: service.metadata!.namespace, name: service.metadata!.name });
      const election = parsed.options.leaderElection!;
      expect(election, 'leader election is on').to.not.equal(undefined);
      const role = find<V1Role>('Role');
      expect(role.metadata!.namespace).to.equal(election.namespace);
      const leaseRule = role.rules!.find((r) => r.apiGroups!.includes('coordination.k8s.io') && r.resources!.includes('leases'))!;
      expect(leaseRule.verbs).to.include.members(['get', 'create', 'update']);
      const admin = container('proxy').args!.find((a) => a.startsWith('--admin='))!.split('=')[1]!;
      expect(new URL(parsed.options.proxyAdminUrl).host, 'the controller programs the proxy of its own Pod').to.equal(admin);
      expect(admin.startsWith('127.'), 'the admin API stays on loopback').to.equal(true);
    });

    it('probe the controller where its flags say it serves /healthz and /readyz, on the Pod\'s address', function () {
      const controller = container('controller');
      const parsed = parseControllerFlags(controller.args ?? [], { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
      if (parsed === 'help') throw new Error('unexpected --help');
      expect(parsed.metricsAddress, 'the kubelet and Prometheus reach the Pod\'s address, not its loopback').to.deep.equal({ host: '0.0.0.0', port: 19001 });
      const port = controller.ports!.find((p) => p.containerPort === parsed.metricsAddress!.port)!;
      expect(port, 'a container port for the metrics address').to.not.equal(undefined);
      expect(controller.livenessProbe!.httpGet).to.deep.equal({ path: '/healthz', port: port.name });
      expect(controller.readinessProbe!.httpGet).to.deep.equal({ path: '/readyz', port: port.name });
    });

    it('expose every proxy listener port on a LoadBalancer Service that selects the Pods', function () {
      expect(service.spec!.type).to.equal('LoadBalancer');
      expect(service.metadata!.namespace).to.equal(deployment.metadata!.namespace);
      for (const [key, value] of Object.entries(service.spec!.selector!)) expect(deployment.spec!.template.metadata!.labels![key], key).to.equal(value);
      const containerPorts = container('proxy').ports!;
      for (const port of service.spec!.ports!) {
        const target = containerPorts.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
        expect(target, `Service port ${port.name} has a proxy port`).to.not.equal(undefined);
      }
      expect(service.spec!.ports!.map((p) => p.port)).to.include.members([80, 443, 8899]);
    });

    it('install the same GatewayClass and IngressClass as the local provider', function () {
      const local = parseManifests(read('manifests', 'local', 'portcullis.yaml'));
      for (const kind of ['GatewayClass', 'IngressClass']) {
        expect(find(kind), kind).to.deep.equal(local.find((o) => o.kind === kind));
      }
    });

    it('are accepted by the real API server (kubectl apply -k --dry-run=server), and the Lease RBAC is enforced', async function () {
      this.timeout(clusterStartTimeoutMs);
      const cluster = await sharedCluster();
      // The Namespace and ServiceAccount must exist for a dry run of what lives in them.
      await applyObjects(cluster.kubeConfig(), parseManifests(read('manifests', 'install', 'rbac.yaml')), 'portcullis-test');
      const kubectl = (...args: string[]) => spawnSync(cluster.binaries.path('kubectl'), ['--kubeconfig', cluster.kubeconfigPath, ...args], { encoding: 'utf8' });
      const dryRun = kubectl('apply', '-k', installDir, '--dry-run=server', '-o', 'name');
      expect(dryRun.status, `kubectl apply -k --dry-run=server: ${dryRun.stderr}`).to.equal(0);
      expect(dryRun.stdout).to.include('deployment.apps/portcullis').and.include('service/portcullis-proxy').and.include('gatewayclass.gateway.networking.k8s.io/portcullis');
      const canI = (verb: string, namespace: string) =>
        kubectl('auth', 'can-i', verb, 'leases.coordination.k8s.io', '-n', namespace, '--as=system:serviceaccount:portcullis-system:portcullis').stdout.trim();
      expect(canI('update', 'portcullis-system')).to.equal('yes');
      expect(canI('create', 'portcullis-system')).to.equal('yes');
      expect(canI('delete', 'portcullis-system')).to.equal('no');
      expect(canI('update', 'default'), 'Leases of other namespaces stay out of reach').to.equal('no');
    });
  });
});
