// How long the controller's pure translation takes for a large cluster: one Gateway
// (HTTP and HTTPS listeners), N HTTPRoutes of 3 rules each, a Service with 2 ready
// endpoints per route. Reports the median and p90 of repeated runs. Target (issue 4):
// under 50 ms for 1,000 routes.
//
//   npx tsc -p . && node dist/bench/translate.js [--routes 1000] [--runs 30]
//
// `npm run bench` calls measureTranslate for measurement 5.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createSelfSignedCertificate } from '../src/lib/certs.js';
import { controllerName, type Snapshot } from '../src/controller/gatewayapi-types.js';
import { translate, type TranslateOptions } from '../src/controller/translate/index.js';

const namespace = 'bench';
// creationTimestamp as the API server writes it: RFC 3339 in whole seconds.
const meta = (name: string, i = 0) => ({ name, namespace, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString().replace('.000Z', 'Z') });

export interface TranslateTiming {
  routes: number;
  listeners: number;
  medianMs: number;
  p90Ms: number;
  runs: number;
}

export async function measureTranslate(routes: number, runs: number): Promise<TranslateTiming> {
  const certificate = await createSelfSignedCertificate({ commonName: '*.example.com', dnsNames: ['*.example.com'], algorithm: 'ecdsa-p256' });
  const snapshot: Snapshot = {
    gatewayClasses: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'portcullis' }, spec: { controllerName } }],
    gateways: [{
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: meta('gw'),
      spec: { gatewayClassName: 'portcullis', listeners: [
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.example.com', tls: { certificateRefs: [{ name: 'wildcard' }] } },
      ] },
    }],
    httpRoutes: Array.from({ length: routes }, (_, i) => ({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' as const, metadata: meta(`route-${i}`, i),
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames: [`host-${i}.example.com`],
        rules: [
          { matches: [{ path: { type: 'PathPrefix' as const, value: '/api' } }], backendRefs: [{ name: `svc-${i}`, port: 80 }] },
          { matches: [{ path: { type: 'Exact' as const, value: '/health' }, headers: [{ name: 'x-probe', value: '1' }] }], backendRefs: [{ name: `svc-${i}`, port: 80 }] },
          { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: String(i) }] } }], backendRefs: [{ name: `svc-${i}`, port: 80, weight: 9 }, { name: `svc-${(i + 1) % routes}`, port: 80, weight: 1 }] },
        ],
      },
    })),
    grpcRoutes: [], tlsRoutes: [], tcpRoutes: [], referenceGrants: [], backendTlsPolicies: [], ingresses: [], ingressClasses: [], configMaps: [], namespaces: [],
    secrets: [{ metadata: { name: 'wildcard', namespace }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(certificate.certPem).toString('base64'), 'tls.key': Buffer.from(certificate.keyPem).toString('base64') } }],
    services: Array.from({ length: routes }, (_, i) => ({ metadata: { name: `svc-${i}`, namespace }, spec: { ports: [{ name: 'http', port: 80 }] } })),
    endpointSlices: Array.from({ length: routes }, (_, i) => ({
      metadata: { name: `svc-${i}-x`, namespace, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080 }],
      endpoints: [{ addresses: [`10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`], conditions: { ready: true } }, { addresses: [`10.245.${Math.floor(i / 250)}.${(i % 250) + 2}`], conditions: { ready: true } }],
    })),
  };
  const options: TranslateOptions = {
    gateway: { controllerName, supportedFeatures: [], gatewayAddress: () => ({ address: '127.16.0.10' }) },
    ingress: { className: 'portcullis', controller: 'portcullis.dev/ingress-controller', httpPort: 80, httpsPort: 443 },
  };

  const times: number[] = [];
  let listeners = 0;
  for (let run = 0; run < runs + 3; run++) {
    const started = performance.now();
    const result = translate(snapshot, options);
    const elapsed = performance.now() - started;
    if (run >= 3) times.push(elapsed); // the first runs warm the JIT
    listeners = result.listeners.length;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { routes, listeners, medianMs: at(0.5), p90Ms: at(0.9), runs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { routes: { type: 'string', default: '1000' }, runs: { type: 'string', default: '30' } } });
  const timing = await measureTranslate(Number(values.routes), Number(values.runs));
  console.log(`translate: ${timing.routes} HTTPRoutes (${timing.routes * 3} rules) → ${timing.listeners} listeners: median ${timing.medianMs.toFixed(1)} ms, p90 ${timing.p90Ms.toFixed(1)} ms over ${timing.runs} runs (heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB)`);
}
