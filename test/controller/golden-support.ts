// Turns a golden case's in.yaml into a translation snapshot, and a translation into the
// stable text of out.ir.json and out.status.yaml. Certificates are generated when the
// test runs (no key is committed): a Secret annotated
//   portcullis.test/certificate: "rsa demo.example.com *.example.com"
// gets a fresh self-signed certificate for those names ("ecdsa …" for P-256, and
// "mismatched-key …" for a certificate whose key does not match it). In outputs each
// PEM is replaced by a placeholder naming its Secret, so outputs stay stable. A ConfigMap
// annotated `portcullis.test/ca-certificate: "Example CA"` gets a fresh CA certificate
// under `ca.crt` (BackendTLSPolicy caCertificateRefs).
import type { V1ConfigMap, V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import YAML from 'yaml';
import { createCertificateAuthority, createSelfSignedCertificate, type KeyAlgorithm } from '../../src/lib/certs.js';
import { parseManifests } from '../../src/lib/kube.js';
import type { Snapshot } from '../../src/controller/gatewayapi-types.js';
import type { TranslateOptions, Translation } from '../../src/controller/translate/index.js';
import { controllerName } from '../../src/controller/gatewayapi-types.js';
import type { TlsCertificate } from '../../src/ir/types.js';

const kindToKey: Record<string, keyof Snapshot> = {
  GatewayClass: 'gatewayClasses', Gateway: 'gateways', HTTPRoute: 'httpRoutes', GRPCRoute: 'grpcRoutes', TLSRoute: 'tlsRoutes', TCPRoute: 'tcpRoutes',
  ReferenceGrant: 'referenceGrants', BackendTLSPolicy: 'backendTlsPolicies', Ingress: 'ingresses', IngressClass: 'ingressClasses', Secret: 'secrets',
  ConfigMap: 'configMaps', Service: 'services', EndpointSlice: 'endpointSlices', Namespace: 'namespaces',
};

export interface GoldenInput {
  snapshot: Snapshot;
  options: TranslateOptions;
  /** PEM text → placeholder, to scrub outputs. */
  placeholders: Map<string, string>;
}

async function certificateFor(spec: string): Promise<{ certPem: string; keyPem: string }> {
  const [kind, ...names] = spec.trim().split(/\s+/);
  const algorithm: KeyAlgorithm = kind === 'ecdsa' ? 'ecdsa-p256' : 'rsa-2048';
  const material = await createSelfSignedCertificate({ commonName: names[0] ?? 'example.com', dnsNames: names, algorithm });
  if (kind !== 'mismatched-key') return material;
  const other = await createSelfSignedCertificate({ commonName: names[0] ?? 'example.com', dnsNames: names, algorithm });
  return { certPem: material.certPem, keyPem: other.keyPem };
}

function endpointSliceFor(service: V1Service, addresses: string[]): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { name: `${service.metadata!.name}-golden`, namespace: service.metadata!.namespace, labels: { 'kubernetes.io/service-name': service.metadata!.name! } },
    ports: (service.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: 'TCP' })),
    endpoints: addresses.map((address) => ({ addresses: [address], conditions: { ready: true } })),
  };
}

export async function loadGoldenInput(text: string): Promise<GoldenInput> {
  const snapshot = Object.fromEntries(Object.values(kindToKey).map((key) => [key, []])) as unknown as Snapshot;
  const placeholders = new Map<string, string>();
  const objects = parseManifests(text);
  let second = 0;
  type GoldenObject = { kind: string; metadata: { creationTimestamp?: string; namespace?: string; name: string; annotations?: Record<string, string> } };
  for (const object of objects as unknown as GoldenObject[]) {
    const key = kindToKey[object.kind!];
    if (!key) throw new Error(`golden input has an object of unknown kind ${object.kind}`);
    object.metadata.creationTimestamp ??= new Date(Date.UTC(2026, 0, 1, 0, 0, second++)).toISOString().replace('.000Z', 'Z');
    if (object.kind !== 'Namespace' && object.kind !== 'GatewayClass' && object.kind !== 'IngressClass') object.metadata.namespace ??= 'default';
    const annotations = object.metadata.annotations ?? {};
    if (object.kind === 'Secret' && annotations['portcullis.test/certificate']) {
      const material = await certificateFor(annotations['portcullis.test/certificate']);
      const secret = object as unknown as V1Secret;
      secret.type ??= 'kubernetes.io/tls';
      secret.data = { 'tls.crt': Buffer.from(material.certPem).toString('base64'), 'tls.key': Buffer.from(material.keyPem).toString('base64') };
      const label = `${object.metadata.namespace}/${object.metadata.name}`;
      placeholders.set(material.certPem, `<certificate of Secret ${label}>`);
      placeholders.set(material.keyPem, `<private key of Secret ${label}>`);
    }
    if (object.kind === 'ConfigMap' && annotations['portcullis.test/ca-certificate']) {
      const ca = await createCertificateAuthority(annotations['portcullis.test/ca-certificate']);
      const configMap = object as unknown as V1ConfigMap;
      configMap.data = { ...configMap.data, 'ca.crt': ca.certPem };
      placeholders.set(ca.certPem, `<CA certificate of ConfigMap ${object.metadata.namespace}/${object.metadata.name}>`);
    }
    (snapshot[key] as unknown as GoldenObject[]).push(object);
    if (object.kind === 'Service' && annotations['portcullis.test/endpoints']) {
      snapshot.endpointSlices.push(endpointSliceFor(object as unknown as V1Service, annotations['portcullis.test/endpoints'].split(',').map((a) => a.trim()).filter(Boolean)));
    }
  }
  const defaultCertificate = await createSelfSignedCertificate({ commonName: 'portcullis-default', dnsNames: ['portcullis.invalid'], algorithm: 'ecdsa-p256' });
  placeholders.set(defaultCertificate.certPem, '<default certificate>');
  placeholders.set(defaultCertificate.keyPem, '<default private key>');
  const tlsDefault: TlsCertificate = { id: 'default', source: 'the controller default certificate', keyType: 'ECDSA', certificateChainPem: defaultCertificate.certPem, privateKeyPem: defaultCertificate.keyPem };
  // Gateways get 127.16.0.10, .11, … in the order the input lists them; Ingresses 127.16.0.2.
  const gatewayOrder = snapshot.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`);
  const options: TranslateOptions = {
    gateway: {
      controllerName,
      supportedFeatures: ['Gateway', 'HTTPRoute', 'ReferenceGrant', 'TLSRoute'],
      gatewayAddress: (gateway) => {
        const index = gatewayOrder.indexOf(`${gateway.metadata.namespace}/${gateway.metadata.name}`);
        if (gateway.metadata.annotations?.['portcullis.test/no-address']) return { reason: 'AddressNotAssigned', message: 'no address left' };
        return { address: `127.16.0.${10 + index}` };
      },
    },
    ingress: { className: 'portcullis', controller: 'portcullis.dev/ingress-controller', address: '127.16.0.2', httpPort: 80, httpsPort: 443, defaultCertificate: tlsDefault },
  };
  return { snapshot, options, placeholders };
}

function scrub(text: string, placeholders: Map<string, string>): string {
  let out = text;
  for (const [pem, placeholder] of placeholders) out = out.split(JSON.stringify(pem).slice(1, -1)).join(placeholder).split(pem).join(placeholder);
  return out;
}

export function renderIr(translation: Translation, placeholders: Map<string, string>): string {
  return scrub(JSON.stringify({ listeners: translation.listeners }, null, 2), placeholders) + '\n';
}

export function renderStatus(translation: Translation, placeholders: Map<string, string>): string {
  return scrub(YAML.stringify({ statuses: translation.statuses, warnings: translation.warnings }, { lineWidth: 0 }), placeholders);
}
