// Sends the whole IR to the proxy's admin API. The proxy answers only once the new
// configuration serves (listeners bound), which is what "Programmed" means.
import { createHash } from 'node:crypto';
import { request } from 'undici';
import type { Listener, ProxyConfig } from '../../ir/types.js';

export type ProgramResult =
  | { kind: 'applied'; version: string }
  | { kind: 'rejected'; version: string; message: string }
  | { kind: 'unreachable'; version: string; message: string };

/** A content hash, so an unchanged translation is not sent again and the version names the content. */
export function configVersion(listeners: Listener[]): string {
  return createHash('sha256').update(JSON.stringify(listeners)).digest('hex').slice(0, 16);
}

export async function programProxy(adminUrl: string, config: ProxyConfig, timeoutMs = 10_000): Promise<ProgramResult> {
  const { version } = config;
  try {
    const response = await request(new URL('/config', adminUrl), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = await response.body.text();
    if (response.statusCode === 200) return { kind: 'applied', version };
    return { kind: 'rejected', version, message: `proxy answered ${response.statusCode}: ${body.slice(0, 2000)}` };
  } catch (err) {
    return { kind: 'unreachable', version, message: err instanceof Error ? err.message : String(err) };
  }
}
