// Turns a Pod's volumes into directories on this machine: Secret, ConfigMap,
// projected (Secret, ConfigMap, downward API, service-account token), downward API,
// emptyDir and hostPath. The node agent bind-mounts them at each container's mountPath.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap, V1KeyToPath, V1Pod, V1Secret, V1Volume, V1DownwardAPIVolumeFile } from '@kubernetes/client-node';
import { PortcullisError } from '../../../lib/errors.js';
import { writeVolume, type VolumePayload } from './atomic-writer.js';

export interface VolumeSources {
  secret(namespace: string, name: string): V1Secret | undefined;
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  serviceAccountToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

export class VolumeError extends PortcullisError {
  constructor(volume: string, message: string) {
    super('VOLUME_SETUP_FAILED', `MountVolume.SetUp failed for volume "${volume}": ${message}`);
  }
}

type DataMap = Record<string, Buffer>;

function secretData(secret: V1Secret): DataMap {
  const out: DataMap = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) out[key] = Buffer.from(value, 'base64');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) out[key] = Buffer.from(value);
  return out;
}

function configMapData(configMap: V1ConfigMap): DataMap {
  const out: DataMap = {};
  for (const [key, value] of Object.entries(configMap.data ?? {})) out[key] = Buffer.from(value);
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) out[key] = Buffer.from(value, 'base64');
  return out;
}

/** Applies `items` (key → path, mode) when given, else every key under its own name. */
function project(volume: string, data: DataMap, items: V1KeyToPath[] | undefined, defaultMode: number, payload: VolumePayload): void {
  if (!items || items.length === 0) {
    for (const [key, value] of Object.entries(data)) payload.set(key, { data: value, mode: defaultMode });
    return;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) throw new VolumeError(volume, `key "${item.key}" not found`);
    payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
  }
}

function fieldValue(pod: V1Pod, fieldPath: string): string {
  const metadata = pod.metadata ?? {};
  const mapLine = (map: Record<string, string> | undefined) =>
    Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
  switch (fieldPath) {
    case 'metadata.name': return metadata.name ?? '';
    case 'metadata.namespace': return metadata.namespace ?? '';
    case 'metadata.uid': return metadata.uid ?? '';
    case 'metadata.labels': return mapLine(metadata.labels);
    case 'metadata.annotations': return mapLine(metadata.annotations);
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return pod.status?.podIP ?? '';
    case 'status.hostIP': return pod.status?.hostIP ?? '';
  }
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (labelMatch) return (labelMatch[1] === 'labels' ? metadata.labels : metadata.annotations)?.[labelMatch[2]!] ?? '';
  throw new PortcullisError('UNSUPPORTED_FIELD', `fieldRef ${fieldPath} is not supported by the local node`);
}

export { fieldValue };

function downwardItems(pod: V1Pod, items: V1DownwardAPIVolumeFile[] | undefined, defaultMode: number, payload: VolumePayload): void {
  for (const item of items ?? []) {
    if (item.fieldRef) payload.set(item.path, { data: Buffer.from(fieldValue(pod, item.fieldRef.fieldPath)), mode: item.mode ?? defaultMode });
  }
}

async function payloadFor(pod: V1Pod, volume: V1Volume, sources: VolumeSources): Promise<VolumePayload | undefined> {
  const namespace = pod.metadata!.namespace!;
  const payload: VolumePayload = new Map();
  if (volume.secret) {
    const secret = sources.secret(namespace, volume.secret.secretName!);
    if (!secret) {
      if (volume.secret.optional) return payload;
      throw new VolumeError(volume.name, `secret "${volume.secret.secretName}" not found`);
    }
    project(volume.name, secretData(secret), volume.secret.items, volume.secret.defaultMode ?? 0o644, payload);
    return payload;
  }
  if (volume.configMap) {
    const configMap = sources.configMap(namespace, volume.configMap.name!);
    if (!configMap) {
      if (volume.configMap.optional) return payload;
      throw new VolumeError(volume.name, `configmap "${volume.configMap.name}" not found`);
    }
    project(volume.name, configMapData(configMap), volume.configMap.items, volume.configMap.defaultMode ?? 0o644, payload);
    return payload;
  }
  if (volume.downwardAPI) {
    downwardItems(pod, volume.downwardAPI.items, volume.downwardAPI.defaultMode ?? 0o644, payload);
    return payload;
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    for (const source of volume.projected.sources ?? []) {
      if (source.secret) {
        const secret = sources.secret(namespace, source.secret.name!);
        if (!secret && !source.secret.optional) throw new VolumeError(volume.name, `secret "${source.secret.name}" not found`);
        if (secret) project(volume.name, secretData(secret), source.secret.items, mode, payload);
      } else if (source.configMap) {
        const configMap = sources.configMap(namespace, source.configMap.name!);
        if (!configMap && !source.configMap.optional) throw new VolumeError(volume.name, `configmap "${source.configMap.name}" not found`);
        if (configMap) project(volume.name, configMapData(configMap), source.configMap.items, mode, payload);
      } else if (source.downwardAPI) {
        downwardItems(pod, source.downwardAPI.items, mode, payload);
      } else if (source.serviceAccountToken) {
        const token = await sources.serviceAccountToken(pod, source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds ?? 3607);
        payload.set(source.serviceAccountToken.path, { data: Buffer.from(token), mode: 0o600 });
      }
    }
    return payload;
  }
  return undefined;
}

/**
 * Writes (or refreshes) every volume of the Pod under `root` and returns the host directory
 * of each by name. Throws a VolumeError naming the first volume that cannot be set up.
 */
export async function materializeVolumes(pod: V1Pod, root: string, sources: VolumeSources): Promise<Map<string, string>> {
  const locations = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.hostPath) {
      locations.set(volume.name, volume.hostPath.path);
      continue;
    }
    const dir = join(root, volume.name);
    if (volume.emptyDir) {
      mkdirSync(dir, { recursive: true });
      locations.set(volume.name, dir);
      continue;
    }
    const payload = await payloadFor(pod, volume, sources);
    if (!payload) throw new VolumeError(volume.name, 'this volume type is not supported by the local node (supported: secret, configMap, projected, downwardAPI, emptyDir, hostPath)');
    writeVolume(dir, payload);
    locations.set(volume.name, dir);
  }
  return locations;
}

/** Names of the Secrets and ConfigMaps a Pod's volumes read, to resync on their change. */
export function referencedObjects(pod: V1Pod): { secrets: Set<string>; configMaps: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.secret?.secretName) secrets.add(volume.secret.secretName);
    if (volume.configMap?.name) configMaps.add(volume.configMap.name);
    for (const source of volume.projected?.sources ?? []) {
      if (source.secret?.name) secrets.add(source.secret.name);
      if (source.configMap?.name) configMaps.add(source.configMap.name);
    }
  }
  return { secrets, configMaps };
}
