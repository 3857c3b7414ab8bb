// Compiles the official Gateway API conformance suite (tools/conformance, a Go test)
// into a test binary, once per pinned version, into the build cache shared by every
// clone on this machine.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { acquireBuildLock } from '../../lib/build-lock.js';
import { PortcullisError } from '../../lib/errors.js';
import { cacheRoot, packageRoot } from '../../lib/paths.js';
import { runCommand } from '../../lib/process.js';
import { checkGoToolchain } from '../../cluster/local/controlplane-build.js';

export const suiteModuleDir = join(packageRoot, 'tools', 'conformance');
const binaryName = 'conformance.test';

/** The suite's version, as tools/conformance/go.mod pins it (`sigs.k8s.io/gateway-api/conformance vX.Y.Z`). */
export function upstreamSuiteVersion(goMod = readFileSync(join(suiteModuleDir, 'go.mod'), 'utf8')): string {
  const match = /^\s*(?:require\s+)?sigs\.k8s\.io\/gateway-api\/conformance\s+(v\d+\.\d+\.\d+\S*)/m.exec(goMod);
  if (!match) throw new PortcullisError('SUITE_VERSION_UNKNOWN', 'tools/conformance/go.mod does not require sigs.k8s.io/gateway-api/conformance: restore it from git');
  return match[1]!;
}

function buildKey(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(suiteModuleDir).filter((f) => /^go\.(mod|sum)$|\.go$/.test(f)).sort()) {
    hash.update(file).update(readFileSync(join(suiteModuleDir, file)));
  }
  return `${upstreamSuiteVersion()}-${hash.digest('hex').slice(0, 12)}`;
}

/** Returns the path of the compiled suite, building it first when this version has none yet. */
export async function ensureUpstreamSuiteBinary(progress: (line: string) => void): Promise<string> {
  const dir = join(cacheRoot(), 'conformance', buildKey());
  const binary = join(dir, binaryName);
  if (existsSync(binary)) return binary;
  await checkGoToolchain();
  const release = await acquireBuildLock(`${dir}.lock`, 'the conformance suite', progress);
  try {
    if (existsSync(binary)) return binary;
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    progress(`building the Gateway API conformance suite ${upstreamSuiteVersion()} from tools/conformance (first run only: about 2 minutes on 2 cores)`);
    const started = Date.now();
    const result = await runCommand('go', ['test', '-c', '-trimpath', '-o', join(staging, binaryName), '.'], {
      cwd: suiteModuleDir,
      env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
    });
    if (result.code !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new PortcullisError('SUITE_BUILD_FAILED', `building the conformance suite failed (go test -c exited ${result.code}); Go said:\n${result.stderr.trim().split('\n').slice(-20).join('\n')}`);
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    progress(`built the conformance suite in ${Math.round((Date.now() - started) / 1000)}s`);
    return binary;
  } finally {
    release();
  }
}
