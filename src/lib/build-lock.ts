// Builds into a cache shared by every clone on the machine take a lock first, so two
// runs starting at once wait for one build instead of both compiling.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive, sleep } from './process.js';

/** One build at a time per cache entry: a lock directory holding the builder's pid. */
export async function acquireBuildLock(lockDir: string, what: string, progress: (line: string) => void): Promise<() => void> {
  mkdirSync(join(lockDir, '..'), { recursive: true });
  for (let announced = false; ; ) {
    try {
      mkdirSync(lockDir);
      mkdirSync(join(lockDir, String(process.pid)));
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readdirSync(lockDir)[0]);
    if (!holder || !isProcessAlive(holder)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) progress(`waiting for another build of ${what} (pid ${holder}) to finish`);
    announced = true;
    await sleep(1000);
  }
}
