// The Gateway API CRDs, taken from the sigs.k8s.io/gateway-api Go module of the
// chosen release (its config/crd/<channel>/). tools/gateway-api/go.sum lists the
// releases we support with their checksums, so Go verifies every download.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { PortcullisError } from '../lib/errors.js';
import { applyObjects, parseManifests } from '../lib/kube.js';
import { cacheRoot, packageRoot } from '../lib/paths.js';
import { checkGoToolchain } from './local/controlplane-build.js';
import { runCommand, sleep } from '../lib/process.js';
import type { GatewayApiChannel } from './local/state.js';

const moduleDir = join(packageRoot, 'tools', 'gateway-api');
const modulePath = 'sigs.k8s.io/gateway-api';

/** The releases pinned in tools/gateway-api/go.sum, oldest first. */
export function supportedGatewayApiVersions(): string[] {
  const versions = readFileSync(join(moduleDir, 'go.sum'), 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([module, version]) => module === modulePath && version && !version.endsWith('/go.mod'))
    .map(([, version]) => version!);
  return versions.sort(compareVersions);
}

export function defaultGatewayApiVersion(): string {
  return supportedGatewayApiVersions().at(-1)!;
}

function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.slice(1).split('.').map(Number);
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function validateGatewayApiVersion(version: string): string {
  const supported = supportedGatewayApiVersions();
  if (!supported.includes(version)) {
    throw new PortcullisError('UNKNOWN_GATEWAY_API_VERSION', `Gateway API version "${version}" is not one Portcullis pins: use --gateway-api-version with one of ${supported.join(', ')}`);
  }
  return version;
}

export function validateChannel(channel: string): GatewayApiChannel {
  if (channel !== 'standard' && channel !== 'experimental') {
    throw new PortcullisError('UNKNOWN_CHANNEL', `Gateway API channel "${channel}" is not known: use --channel standard or --channel experimental`);
  }
  return channel;
}

/**
 * The release's CRD manifests for `channel`: from our cache, else from Go's module
 * cache or proxy (verified against go.sum), then cached so later runs need no Go.
 */
export async function gatewayApiManifests(version: string, channel: GatewayApiChannel): Promise<KubernetesObject[]> {
  validateGatewayApiVersion(version);
  const cached = join(cacheRoot(), 'gateway-api', version, `${channel}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as KubernetesObject[];
  const objects = await manifestsFromGoModule(version, channel);
  mkdirSync(dirname(cached), { recursive: true });
  writeFileSync(`${cached}.tmp`, JSON.stringify(objects));
  renameSync(`${cached}.tmp`, cached);
  return objects;
}

async function manifestsFromGoModule(version: string, channel: GatewayApiChannel): Promise<KubernetesObject[]> {
  await checkGoToolchain();
  const result = await runCommand('go', ['mod', 'download', '-json', `${modulePath}@${version}`], {
    cwd: moduleDir,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GONOSUMDB: modulePath, GONOSUMCHECK: '1' },
  });
  let dir: string | undefined;
  try {
    dir = (JSON.parse(result.stdout) as { Dir?: string }).Dir;
  } catch {
    dir = undefined;
  }
  if (result.code !== 0 || !dir) {
    throw new PortcullisError('GATEWAY_API_FETCH_FAILED', `could not get ${modulePath}@${version} from the Go module proxy (${(result.stderr || result.stdout).trim().split('\n').at(-1)}): check that \`go\` can reach its proxy, or pre-fetch it with \`cd tools/gateway-api && go mod download ${modulePath}@${version}\``);
  }
  const crdDir = join(dir, 'config', 'crd', channel);
  const objects: KubernetesObject[] = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
    objects.push(...parseManifests(readFileSync(join(crdDir, file), 'utf8')).filter((object) => object.kind !== 'Kustomization'));
  }
  return objects;
}

/** Server-side applies the CRDs (they are too large for client-side apply) and waits until each is Established. */
export async function installGatewayApi(kc: KubeConfig, version: string, channel: GatewayApiChannel, timeoutMs = 60_000): Promise<string[]> {
  const objects = await gatewayApiManifests(version, channel);
  await applyObjects(kc, objects);
  const names = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata!.name!);
  await waitForCrdsEstablished(kc, names, timeoutMs);
  return names;
}

export async function waitForCrdsEstablished(kc: KubeConfig, names: string[], timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  let pending = [...names];
  while (pending.length > 0) {
    const list = await api.listCustomResourceDefinition();
    const established = new Set(
      list.items.filter((crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')).map((crd) => crd.metadata!.name!),
    );
    pending = pending.filter((name) => !established.has(name));
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new PortcullisError('CRDS_NOT_ESTABLISHED', `CRDs not Established after ${timeoutMs / 1000}s: ${pending.join(', ')}`);
    await sleep(250);
  }
}
