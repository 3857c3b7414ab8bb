// Writes a volume's files the way the kubelet does, so a program that watches its
// mounted Secret sees one consistent swap: the files live in a timestamped
// directory, `..data` is a symlink to it, and each visible name is a symlink
// through `..data`. Replacing `..data` by rename(2) switches all files at once.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type VolumePayload = Map<string, { data: Buffer; mode: number }>;

const dataLink = '..data';

function currentPayloadMatches(dir: string, payload: VolumePayload): boolean {
  const target = join(dir, dataLink);
  if (!existsSync(target)) return false;
  const current = listFiles(target);
  if (current.length !== payload.size) return false;
  return current.every((path) => {
    const wanted = payload.get(path);
    return wanted !== undefined && readFileSync(join(target, path)).equals(wanted.data);
  });
}

function listFiles(root: string, prefix = ''): string[] {
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(root, path) : [path];
  });
}

/** Returns true when the files changed. */
export function writeVolume(dir: string, payload: VolumePayload): boolean {
  mkdirSync(dir, { recursive: true });
  if (currentPayloadMatches(dir, payload)) return false;
  const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${process.hrtime.bigint() % 1000000n}`;
  const versioned = join(dir, stamp);
  mkdirSync(versioned);
  for (const [path, { data, mode }] of payload) {
    mkdirSync(dirname(join(versioned, path)), { recursive: true });
    writeFileSync(join(versioned, path), data, { mode });
  }
  const previous = existsSync(join(dir, dataLink)) ? readlinkSync(join(dir, dataLink)) : undefined;
  const temporaryLink = join(dir, '..data_tmp');
  rmSync(temporaryLink, { force: true });
  symlinkSync(stamp, temporaryLink);
  renameSync(temporaryLink, join(dir, dataLink));
  const visible = new Set([...payload.keys()].map((path) => path.split('/')[0]!));
  for (const name of visible) {
    if (!existsSync(join(dir, name))) symlinkSync(join(dataLink, name), join(dir, name));
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..') || visible.has(entry)) continue;
    if (lstatSync(join(dir, entry)).isSymbolicLink()) rmSync(join(dir, entry));
  }
  if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
  return true;
}
