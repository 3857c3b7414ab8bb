// Where Portcullis keeps its files. The package root is found from this file's
// location, so the CLI works the same from a clone, from `npx` and from dist/.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding package.json (this file is dist/src/lib/paths.js). */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Per-cluster state (kubeconfig, PKI, etcd data, logs): `.portcullis/` in the working directory. */
export function stateRoot(): string {
  return process.env.PORTCULLIS_HOME ?? join(process.cwd(), '.portcullis');
}

/** Build caches shared by every clone on this machine, so a fresh checkout starts warm. */
export function cacheRoot(): string {
  return process.env.PORTCULLIS_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'portcullis');
}

/** The compiled entry point of one of our own programs, e.g. `src/echo/main.js`. */
export function distEntry(relative: string): string {
  return join(packageRoot, 'dist', relative);
}
