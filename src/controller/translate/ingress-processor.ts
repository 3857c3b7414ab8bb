// The Ingress processor: Ingresses of our class → server blocks on the Ingress
// address (HTTP on 80, TLS-terminating on 443 for spec.tls hosts) and HTTP routes,
// merged into the same IR as the Gateway API processor's.
import type { V1HTTPIngressPath, V1Ingress, V1IngressBackend, V1IngressClass } from '@kubernetes/client-node';
import type { HttpRoute, HttpRouteRule, ServerBlock, TlsCertificate } from '../../ir/types.js';
import type { Snapshot } from '../gatewayapi-types.js';
import { resolveBackend, type BackendIndex } from './backends.js';
import { checkTlsSecret } from './certificates.js';
import type { IrBuilder } from './ir-builder.js';
import type { DesiredStatuses, TranslationWarning } from './model.js';
import { isoTimestamp, routeSource } from './route-rules.js';

export interface IngressProcessorOptions {
  className: string;
  /** IngressClass `spec.controller` value that marks a class as ours. */
  controller: string;
  /** Where Ingresses are served (the address the proxy binds); without one, Ingresses are not served. */
  address?: string;
  /** What status.loadBalancer lists (IPs or host names); default: `address`. */
  publishedAddresses?: string[];
  httpPort: number;
  httpsPort: number;
  /** Served for TLS hosts whose Secret is missing or invalid. */
  defaultCertificate?: TlsCertificate;
}

/** A defaultBackend loses every tie with a real rule: it sorts after any real creation time. */
const defaultBackendTimestamp = '9999-12-31T23:59:59Z';

export function ingressIsOurs(ingress: V1Ingress, classes: V1IngressClass[], options: IngressProcessorOptions): boolean {
  const ours = new Set(classes.filter((c) => c.spec?.controller === options.controller).map((c) => c.metadata!.name!));
  ours.add(options.className);
  const requested = ingress.spec?.ingressClassName ?? ingress.metadata?.annotations?.['kubernetes.io/ingress.class'];
  if (requested) return ours.has(requested);
  return classes.some((c) => ours.has(c.metadata!.name!) && c.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true');
}

function backendRefOf(backend: V1IngressBackend, namespace: string, index: BackendIndex): { name: string; port?: number } {
  const service = backend.service!;
  if (service.port?.number !== undefined) return { name: service.name, port: service.port.number };
  const named = index.services.get(`${namespace}/${service.name}`)?.spec?.ports?.find((p) => p.name === service.port?.name);
  return { name: service.name, port: named?.port };
}

function rule(path: V1HTTPIngressPath | undefined, backend: V1IngressBackend, namespace: string, index: BackendIndex, warnings: TranslationWarning[], object: string): HttpRouteRule {
  const ref = backendRefOf(backend, namespace, index);
  const resolution = backend.service
    ? resolveBackend({ name: ref.name, port: ref.port }, 'Ingress', namespace, index, 'HTTP/1.1')
    : undefined;
  const backends = resolution?.ok ? [{ kind: 'Resolved' as const, name: resolution.name, weight: 1, endpoints: resolution.endpoints, protocol: resolution.protocol }] : [];
  if (resolution && !resolution.ok) warnings.push({ object, reason: 'BackendNotFound', message: resolution.message });
  const type = path?.pathType === 'Exact' ? 'Exact' : 'PathPrefix';
  return {
    matches: [{ path: { type, value: path?.path || '/' } }],
    filters: [],
    backends,
    ...(backends.length === 0 ? { invalidBackendResponse: { status: 503, reason: backend.service ? 'Ingress backend Service not found' : 'Ingress backend is not a Service' } } : {}),
  };
}

export function processIngresses(snapshot: Snapshot, index: BackendIndex, builder: IrBuilder, statuses: DesiredStatuses, warnings: TranslationWarning[], options: IngressProcessorOptions): void {
  const { address } = options;
  if (!address) return;
  const ingresses = snapshot.ingresses
    .filter((i) => !i.metadata?.deletionTimestamp && ingressIsOurs(i, snapshot.ingressClasses, options))
    .sort((a, b) => isoTimestamp(a.metadata?.creationTimestamp).localeCompare(isoTimestamp(b.metadata?.creationTimestamp)) || `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  const secrets = new Map(snapshot.secrets.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  const defaults: { rule: HttpRouteRule; source: HttpRoute['source'] }[] = [];
  const blocksOnHttp = new Set<string>();
  const blocksOnHttps = new Set<string>();

  const ensureBlock = (port: number, host: string | undefined, ingress: V1Ingress, certificate?: TlsCertificate) => {
    const id = `ingress/${host ?? '*'}`;
    const seen = port === options.httpPort ? blocksOnHttp : blocksOnHttps;
    if (!seen.has(id)) {
      const block: ServerBlock = {
        id,
        protocol: certificate ? 'HTTPS' : 'HTTP',
        ...(host ? { hostname: host.toLowerCase() } : {}),
        ...(certificate ? { tls: { mode: 'Terminate' as const, certificates: [certificate] } } : {}),
        sources: [`Ingress ${ingress.metadata?.namespace}/${ingress.metadata?.name}`],
      };
      if (builder.addBlock(address, port, block) === undefined) seen.add(id);
    }
    return seen.has(id) ? id : undefined;
  };

  for (const ingress of ingresses) {
    const namespace = ingress.metadata!.namespace!;
    const object = `Ingress/${namespace}/${ingress.metadata!.name}`;
    const source = routeSource('Ingress', { name: ingress.metadata!.name!, namespace, creationTimestamp: ingress.metadata?.creationTimestamp });
    for (const tls of ingress.spec?.tls ?? []) {
      const secret = tls.secretName ? secrets.get(`${namespace}/${tls.secretName}`) : undefined;
      const check = secret ? checkTlsSecret(secret) : undefined;
      let certificate: TlsCertificate | undefined;
      if (check?.ok) {
        certificate = { id: `${namespace}/${tls.secretName}`, source: `Secret ${namespace}/${tls.secretName}`, keyType: check.certificate.keyType === 'ec' ? 'ECDSA' : 'RSA', certificateChainPem: check.certificate.certPem, privateKeyPem: check.certificate.keyPem };
      } else {
        const why = check && !check.ok ? check.message : `Secret ${namespace}/${tls.secretName ?? '(no secretName)'} not found`;
        warnings.push({ object, reason: 'TLSSecretInvalid', message: `${why}; serving the default certificate for ${(tls.hosts ?? []).join(', ') || 'its hosts'}` });
        certificate = options.defaultCertificate;
      }
      if (!certificate) continue;
      for (const host of tls.hosts ?? []) ensureBlock(options.httpsPort, host, ingress, certificate);
    }
    for (const ingressRule of ingress.spec?.rules ?? []) {
      const host = ingressRule.host?.toLowerCase();
      const rules = (ingressRule.http?.paths ?? []).map((path) => rule(path, path.backend, namespace, index, warnings, object));
      if (rules.length === 0) continue;
      const httpBlock = ensureBlock(options.httpPort, host, ingress);
      if (httpBlock) builder.addHttpRoute(address, options.httpPort, { source, serverBlock: httpBlock, hostnames: host ? [host] : [], rules });
      const httpsId = `ingress/${host ?? '*'}`;
      if (blocksOnHttps.has(httpsId)) builder.addHttpRoute(address, options.httpsPort, { source, serverBlock: httpsId, hostnames: host ? [host] : [], rules });
    }
    if (ingress.spec?.defaultBackend) {
      ensureBlock(options.httpPort, undefined, ingress);
      defaults.push({ rule: rule(undefined, ingress.spec.defaultBackend, namespace, index, warnings, object), source: { ...source, creationTimestamp: defaultBackendTimestamp } });
    }
    statuses.ingresses[`${namespace}/${ingress.metadata!.name}`] = { addresses: options.publishedAddresses ?? [address] };
  }
  // The oldest defaultBackend serves every request no rule matched, on every Ingress block.
  const fallback = defaults[0];
  if (fallback) {
    for (const id of blocksOnHttp) builder.addHttpRoute(address, options.httpPort, { source: fallback.source, serverBlock: id, hostnames: [], rules: [fallback.rule] });
    for (const id of blocksOnHttps) builder.addHttpRoute(address, options.httpsPort, { source: fallback.source, serverBlock: id, hostnames: [], rules: [fallback.rule] });
  }
}
