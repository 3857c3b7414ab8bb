// The proxy's admin API, on loopback only (main.ts refuses anything else): the
// controller PUTs the whole IR; people and Prometheus read the rest.
//
//   PUT /config    whole ProxyConfig JSON → 200 {version, appliedAt, listeners} once every
//                  new listener is bound (the controller's "Programmed");
//                  400 {error: INVALID_JSON | IR_INVALID (with problems) | CONFIG_BUILD_FAILED},
//                  409 {error: LISTENER_BIND_FAILED, listeners}, 413 body too large,
//                  503 {error: WORKER_UNAVAILABLE}; on any error the previous config keeps serving.
//   GET /config    the serving config, private keys "[REDACTED]"; 404 before the first PUT.
//   GET /healthz   200 while the process runs.
//   GET /readyz    200 once a config is applied (and a worker serves it), else 503; either
//                  way {version} of the config applied, if any (what the controller polls:
//                  GET /config is the whole IR, hundreds of kB at 1,000 routes).
//   GET /metrics   Prometheus text format 0.0.4.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { routeOf, sendJson, sendMetrics } from '../lib/http-answers.js';
import type { Logger } from '../lib/log.js';
import type { ConfigController, DataPlaneGroup } from './config-controller.js';
import { mergeSnapshots } from '../lib/metrics.js';
import { processMemorySnapshot, SUMMED_GAUGES, type ControlMetrics } from './metrics.js';

/** IR documents carry PEM certificates: a few thousand of them fit comfortably. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

export interface AdminApiDependencies {
  controller: ConfigController;
  group: DataPlaneGroup;
  controlMetrics: ControlMetrics;
  log: Logger;
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

const ROUTES: Record<string, readonly string[]> = {
  '/config': ['GET', 'PUT'],
  '/healthz': ['GET'],
  '/readyz': ['GET'],
  '/metrics': ['GET'],
};

export function createAdminServer(deps: AdminApiDependencies): http.Server {
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    handle(req, res, deps).catch((error: unknown) => {
      deps.log.error('admin request failed', { method: req.method, url: req.url, error });
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: 'the admin API failed to answer; see the proxy log' });
      else res.destroy();
    });
  });
  // A PUT of a large config over a slow link must not hit the default 5-minute request timeout midway: no limit.
  server.requestTimeout = 0;
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: AdminApiDependencies): Promise<void> {
  const route = routeOf(req, res, ROUTES);
  if (!route) return;
  const { path, method } = route;
  switch (path) {
    case '/config':
      return method === 'PUT' ? putConfig(req, res, deps) : getConfig(res, deps);
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      const current = deps.controller.current();
      if (deps.controller.ready) return sendJson(res, 200, { status: 'ready', version: current?.version });
      return sendJson(res, 503, { status: 'not-ready', reason: current ? 'no worker is serving' : 'no configuration applied yet', version: current?.version });
    }
    case '/metrics': {
      const snapshots = await deps.group.metrics();
      deps.controlMetrics.workers.set([], deps.group.size);
      return sendMetrics(res, mergeSnapshots([deps.controlMetrics.snapshot(), processMemorySnapshot('primary'), ...snapshots], SUMMED_GAUGES));
    }
  }
}

async function putConfig(req: IncomingMessage, res: ServerResponse, deps: AdminApiDependencies): Promise<void> {
  const body = await readBody(req, MAX_CONFIG_BYTES);
  if (body === undefined) {
    return sendJson(res, 413, { error: 'CONFIG_TOO_LARGE', message: `the configuration exceeds ${MAX_CONFIG_BYTES} bytes; the previous configuration keeps serving` });
  }
  const answer = await deps.controller.apply(body);
  sendJson(res, answer.status, answer.body);
}

function getConfig(res: ServerResponse, deps: AdminApiDependencies): void {
  const current = deps.controller.currentRedacted();
  if (!current) return sendJson(res, 404, { error: 'NO_CONFIG', message: 'no configuration has been applied yet; PUT /config first' });
  sendJson(res, 200, current.config, { 'x-portcullis-config-version': encodeURIComponent(current.config.version), 'x-portcullis-applied-at': current.appliedAt.toISOString() });
}
