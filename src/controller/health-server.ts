// The controller's own HTTP endpoint (--metrics-address; read-only):
//
//   GET /healthz   200 while the process answers (a liveness probe).
//   GET /readyz    200 once every watched kind has listed, else 503 with the reason; either
//                  way whether the last attempt to program the proxy succeeded.
//   GET /metrics   Prometheus text format 0.0.4 (src/controller/metrics.ts).
import http from 'node:http';
import { routeOf, sendJson, sendMetrics } from '../lib/http-answers.js';
import type { Logger } from '../lib/log.js';
import type { MetricsSnapshot } from '../lib/metrics.js';

export interface ControllerHealth {
  /** Why the controller is not ready yet, or undefined when it is. */
  notReadyReason(): string | undefined;
  proxyProgrammed(): boolean;
  metrics(): MetricsSnapshot;
}

const ROUTES: Record<string, readonly string[]> = {
  '/healthz': ['GET'],
  '/readyz': ['GET'],
  '/metrics': ['GET'],
};

export function createHealthServer(health: ControllerHealth, log: Logger): http.Server {
  return http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
    try {
      const route = routeOf(req, res, ROUTES);
      if (!route) return;
      switch (route.path) {
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' });
        case '/readyz': {
          const reason = health.notReadyReason();
          const proxyProgrammed = health.proxyProgrammed();
          return reason === undefined ? sendJson(res, 200, { status: 'ready', proxyProgrammed }) : sendJson(res, 503, { status: 'not-ready', reason, proxyProgrammed });
        }
        case '/metrics':
          return sendMetrics(res, health.metrics());
      }
    } catch (error) {
      log.error('health endpoint request failed', { url: req.url, error });
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: 'the controller failed to answer; see its log' });
      else res.destroy();
    }
  });
}

/** Listens on host:port (port 0 picks one); resolves with the port, or rejects with a one-line error naming the flag. */
export function listenHealthServer(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`could not listen on ${host}:${port} for /healthz, /readyz and /metrics (${error.code ?? error.message}): choose another address with --metrics-address HOST:PORT, or --metrics-address off`)),
    );
    server.listen({ host, port }, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
