// Answers of the small HTTP APIs beside the data plane (the proxy's admin API, the
// controller's /metrics and health endpoints): JSON documents and Prometheus text.
import type { ServerResponse } from 'node:http';
import { renderPrometheus, type MetricsSnapshot } from './metrics.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'cache-control': 'no-store', ...headers });
  res.end(payload);
}

/** 200 with the snapshot in Prometheus text exposition format 0.0.4. */
export function sendMetrics(res: ServerResponse, snapshot: MetricsSnapshot): void {
  const text = renderPrometheus(snapshot);
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The path's allowed methods, or an answer already sent: 404 naming the routes there
 * are, or 405 naming the methods (HEAD is allowed wherever GET is).
 */
export function routeOf(req: { url?: string; method?: string }, res: ServerResponse, routes: Readonly<Record<string, readonly string[]>>): { path: string; method: string } | undefined {
  const path = (req.url ?? '/').split('?')[0]!;
  const methods = routes[path];
  if (!methods) {
    sendJson(res, 404, { error: 'NOT_FOUND', message: `no route ${path}; routes: ${Object.keys(routes).join(', ')}` });
    return undefined;
  }
  const method = req.method ?? 'GET';
  if (!methods.includes(method) && !(method === 'HEAD' && methods.includes('GET'))) {
    sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED', message: `${path} accepts ${methods.join(', ')}` }, { allow: methods.join(', ') });
    return undefined;
  }
  return { path, method };
}
