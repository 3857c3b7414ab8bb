// Installing Portcullis into a cluster that runs container images (kind, K3s): the
// Gateway API CRDs of the chosen release, then manifests/install/ (namespace, RBAC,
// Deployments, Services) and our GatewayClass and IngressClass, then waiting until every
// Deployment installed is Available.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { PortcullisError } from '../../lib/errors.js';
import { applyObjects, parseManifests, waitFor } from '../../lib/kube.js';
import { packageRoot } from '../../lib/paths.js';
import { installGatewayApi } from '../gateway-api.js';
import type { GatewayApiChannel } from '../local/state.js';

export const installManifestsDir = join(packageRoot, 'manifests', 'install');

/** Kinds others depend on go first (a Namespace before what lives in it, RBAC before the Pods using it). */
const applyOrder = ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ConfigMap', 'Secret', 'Service'];

/** manifests/install/*.yaml and the classes of manifests/local/portcullis.yaml, in apply order. */
export function portcullisInstallObjects(dir = installManifestsDir): KubernetesObject[] {
  const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file)).sort();
  if (files.length === 0) throw new PortcullisError('NO_INSTALL_MANIFESTS', `no manifests in ${dir}: restore manifests/install/ from the repository`);
  // kustomization.yaml (for `kubectl apply -k`) describes the others; it is no object to apply.
  const objects = files.flatMap((file) => parseManifests(readFileSync(join(dir, file), 'utf8'))).filter((o) => o.kind !== 'Kustomization');
  const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  const have = new Set(objects.map(key));
  const classes = parseManifests(readFileSync(join(packageRoot, 'manifests', 'local', 'portcullis.yaml'), 'utf8')).filter((o) => !have.has(key(o)));
  const rank = (o: KubernetesObject) => (applyOrder.includes(o.kind!) ? applyOrder.indexOf(o.kind!) : applyOrder.length);
  return [...objects, ...classes].map((object, index) => ({ object, index })).sort((a, b) => rank(a.object) - rank(b.object) || a.index - b.index).map(({ object }) => object);
}

export interface InstallOptions {
  gatewayApiVersion: string;
  channel: GatewayApiChannel;
  progress: (line: string) => void;
  timeoutMs?: number;
}

export async function installPortcullis(kc: KubeConfig, options: InstallOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  options.progress(`installing Gateway API ${options.gatewayApiVersion} CRDs (${options.channel} channel)`);
  await installGatewayApi(kc, options.gatewayApiVersion, options.channel, timeoutMs);
  const objects = portcullisInstallObjects();
  options.progress(`applying ${installManifestsDir} (${objects.length} objects) and the portcullis GatewayClass and IngressClass`);
  await applyObjects(kc, objects);
  const apps = kc.makeApiClient(AppsV1Api);
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    const { name, namespace } = deployment.metadata as { name: string; namespace: string };
    options.progress(`waiting for Deployment ${namespace}/${name} to be Available`);
    await waitFor(
      { what: `Deployment ${namespace}/${name} to be Available`, timeoutMs },
      async () => ((await apps.readNamespacedDeployment({ name, namespace })).status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? true : undefined),
      async () => JSON.stringify((await apps.readNamespacedDeployment({ name, namespace })).status ?? {}),
    );
  }
}
