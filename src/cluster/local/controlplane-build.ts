// Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the pinned Go
// module in tools/controlplane, once per version, into a cache shared by every clone
// on this machine. Go's own module and build caches make a rebuild after a fresh
// clone a matter of linking.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError } from '../../lib/errors.js';
import { cacheRoot, packageRoot } from '../../lib/paths.js';
import { acquireBuildLock } from '../../lib/build-lock.js';
import { commandExists, runCommand } from '../../lib/process.js';

/** The Kubernetes release the local provider runs; tools/controlplane/go.mod pins the same. */
export const kubernetesVersion = 'v1.36.3';
const minimumGo = [1, 26];
const programs = ['kube-apiserver', 'kube-controller-manager', 'etcd', 'kubectl'] as const;
export type ControlPlaneProgram = (typeof programs)[number];

export interface ControlPlaneBinaries {
  version: string;
  dir: string;
  path(program: ControlPlaneProgram): string;
}

const moduleDir = join(packageRoot, 'tools', 'controlplane');

/** A short digest of everything the build depends on, so an edited go.mod rebuilds. */
function buildKey(): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', ...programs.map((p) => join(p, 'main.go'))]) {
    hash.update(file).update(readFileSync(join(moduleDir, file)));
  }
  return `${kubernetesVersion}-${hash.digest('hex').slice(0, 12)}`;
}

function binariesAt(dir: string): ControlPlaneBinaries {
  return { version: kubernetesVersion, dir, path: (program) => join(dir, program) };
}

export async function checkGoToolchain(): Promise<void> {
  if (!(await commandExists('go'))) {
    throw new PortcullisError('GO_MISSING', 'the local provider builds the Kubernetes control plane from source, but `go` is not on PATH: install Go 1.26 or newer (or add /usr/local/go/bin to PATH) and run again');
  }
  const { stdout } = await runCommand('go', ['env', 'GOVERSION']);
  const match = /go(\d+)\.(\d+)/.exec(stdout);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (major < minimumGo[0]! || (major === minimumGo[0] && minor < minimumGo[1]!)) {
    throw new PortcullisError('GO_TOO_OLD', `Go ${stdout.trim() || 'of unknown version'} is too old to build Kubernetes ${kubernetesVersion}: install Go ${minimumGo.join('.')} or newer`);
  }
}

function binariesDir(): string {
  return join(cacheRoot(), 'controlplane', buildKey());
}

/** The directory of the built binaries (kubectl among them), or undefined before the first build. */
export function builtBinariesDir(): string | undefined {
  const dir = binariesDir();
  return isComplete(dir) ? dir : undefined;
}

/** Returns the cached binaries, building them first when this version has none yet. */
export async function ensureControlPlaneBinaries(progress: (line: string) => void): Promise<ControlPlaneBinaries> {
  const dir = binariesDir();
  if (isComplete(dir)) return binariesAt(dir);
  await checkGoToolchain();
  const release = await acquireBuildLock(dir + '.lock', 'the control plane', progress);
  try {
    if (isComplete(dir)) return binariesAt(dir);
    await goBuild(dir, progress);
    return binariesAt(dir);
  } finally {
    release();
  }
}

function isComplete(dir: string): boolean {
  return programs.every((program) => existsSync(join(dir, program)));
}

async function goBuild(dir: string, progress: (line: string) => void): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const [major, minor] = kubernetesVersion.slice(1).split('.');
  const ldflags = [
    '-s', '-w',
    `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    `-X k8s.io/client-go/pkg/version.gitVersion=${kubernetesVersion}`,
  ].join(' ');
  const args = ['build', '-v', '-trimpath', '-ldflags', ldflags, '-o', staging + '/', ...programs.map((p) => `./${p}`)];
  progress(`building Kubernetes ${kubernetesVersion} control plane and etcd from tools/controlplane (first run only: several minutes on 2 cores)`);
  const started = Date.now();
  let packages = 0;
  let downloads = 0;
  const output: string[] = [];
  const ticker = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    progress(`  … ${seconds}s: ${downloads} modules downloaded, ${packages} packages compiled`);
  }, 15_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('go', args, {
        cwd: moduleDir,
        env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const onLine = (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (!line) continue;
          if (line.startsWith('go: downloading')) downloads++;
          else if (!line.includes(' ')) packages++;
          else output.push(line);
        }
      };
      child.stdout.setEncoding('utf8').on('data', onLine);
      child.stderr.setEncoding('utf8').on('data', onLine);
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) {
      throw new PortcullisError('CONTROLPLANE_BUILD_FAILED', `building the control plane failed (go build exited ${code}); Go said:\n${output.slice(-20).join('\n')}`);
    }
  } finally {
    clearInterval(ticker);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  const size = programs.reduce((sum, p) => sum + statSync(join(dir, p)).size, 0);
  progress(`built the control plane in ${Math.round((Date.now() - started) / 1000)}s (${Math.round(size / 1e6)} MB in ${dir})`);
}
