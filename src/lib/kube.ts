// Thin helpers over @kubernetes/client-node: load a kubeconfig (with connections that
// are kept and reused), make raw requests (health endpoints), patch with a chosen
// strategy, and read API errors.
import { createHash } from 'node:crypto';
import https from 'node:https';
import { KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import YAML from 'yaml';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** Idle connections to the API server are closed after this; well under any server's idle timeout. */
const IDLE_CONNECTION_MS = 30_000;

/**
 * A KubeConfig whose API calls share keep-alive connections. client-node 1.4 gives every
 * API call a new https.Agent: a new TCP connection, a full TLS handshake and a new
 * SecureContext (the client key parsed again) per request. In the controller at 1,000
 * routes that was most of its CPU, taken from the passes that program the proxy. Here
 * the agent client-node made is swapped, before it connects, for one kept per distinct
 * set of TLS options (a rotated client certificate gets a new one). Proxy agents
 * (a cluster `proxy-url`) are left as they are.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly agents = new Map<string, https.Agent>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (made?.constructor !== https.Agent) return;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = (made as https.Agent).options;
    const identity = createHash('sha256').update(JSON.stringify([ca, cert, key, pfx, passphrase, rejectUnauthorized, servername].map((value) => (Buffer.isBuffer(value) ? value.toString('base64') : value ?? null)))).digest('hex');
    let agent = this.agents.get(identity);
    if (!agent) {
      agent = new https.Agent({ ...(made as https.Agent).options, keepAlive: true, timeout: IDLE_CONNECTION_MS });
      this.agents.set(identity, agent);
    }
    context.setAgent(agent);
  }
}

export function loadKubeConfig(file?: string): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

export interface RawResponse {
  status: number;
  body: string;
}

/** A GET against the current cluster's server, authenticated as the kubeconfig's user. */
export async function rawGet(kc: KubeConfig, path: string, timeoutMs = 5000): Promise<RawResponse> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { method: 'GET', timeout: timeoutMs };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = https.request(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end();
  });
}

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of an error thrown by client-node (undefined for network errors). */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (err: unknown) => apiStatus(err) === 404;
export const isConflict = (err: unknown) => apiStatus(err) === 409;

/** Server-side applies each object (creating or updating it) as `fieldManager`. */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[], fieldManager = 'portcullis'): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const applied: KubernetesObject[] = [];
  for (const object of objects) {
    applied.push(await client.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply));
  }
  return applied;
}

/** Parses a multi-document YAML string into objects, skipping empty documents. */
export function parseManifests(text: string): KubernetesObject[] {
  return YAML.parseAllDocuments(text)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter((object): object is KubernetesObject => Boolean(object?.kind));
}

export { waitFor, type WaitOptions } from './wait.js';
