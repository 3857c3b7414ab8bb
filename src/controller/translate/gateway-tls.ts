// Gateway spec.tls (Gateway API v1.4+, GEP-91 and GEP-3155): the client certificate
// validation an HTTPS listener applies (frontend), and the client certificate the
// gateway presents to backends it re-encrypts to (backend).
//
// Rules (GatewayTLSConfig, FrontendTLSConfig, FrontendTLSValidation, GatewayBackendTLS docs):
// - frontend.perPort[port] overrides frontend.default for every listener "handling HTTPS
//   traffic" on that port; other protocols ignore both.
// - caCertificateRefs: core ConfigMaps with the PEM bundle under `ca.crt`. Another kind is
//   ResolvedRefs=False InvalidCACertificateKind; a missing or malformed one
//   InvalidCACertificateRef; one in another namespace without a ReferenceGrant
//   RefNotPermitted. When every ref is invalid the listener is also Accepted=False
//   NoValidCACertificate (and not served). Several refs are one trust bundle.
// - mode defaults to AllowValidOnly. AllowInsecureFallback anywhere on the Gateway sets the
//   Gateway condition InsecureFrontendValidationMode=True ConfigurationChanged.
// - backend.clientCertificateRef: a core `kubernetes.io/tls` Secret. Missing, of another
//   group/kind or malformed: Gateway ResolvedRefs=False InvalidClientCertificateRef; in
//   another namespace without a ReferenceGrant: RefNotPermitted. The Gateway stays
//   Accepted; backends are then connected to without a client certificate.
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ClientValidation, TlsCertificate, WeightedHttpBackend } from '../../ir/types.js';
import { gatewayGroup, type FrontendTLSValidation, type Gateway, type GatewayListener, type ReferenceGrant } from '../gatewayapi-types.js';
import { caBundle } from './backend-tls.js';
import { checkTlsSecret, tlsCertificateOf } from './certificates.js';
import { Reason } from './conditions.js';
import { referenceAllowed } from './references.js';

export interface GatewayReferenceLookup {
  secret(namespace: string, name: string): V1Secret | undefined;
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  grants: ReferenceGrant[];
}

export interface ReferenceProblem {
  reason: string;
  message: string;
}

export interface FrontendValidationPlan {
  /** Absent when the listener validates no client certificate, or when no CA ref is valid. */
  validation?: ClientValidation;
  /** One per invalid caCertificateRef (ResolvedRefs=False). */
  problems: ReferenceProblem[];
  /** Set when refs were given and none is valid: the listener is not accepted (NoValidCACertificate). */
  noValidCaCertificate?: string;
}

/** The validation settings that apply to a listener: its port's perPort entry, else the default. */
function validationFor(gateway: Gateway, listener: GatewayListener): { validation: FrontendTLSValidation; where: string } | undefined {
  const frontend = gateway.spec.tls?.frontend;
  if (!frontend || listener.protocol !== 'HTTPS') return undefined;
  const perPort = frontend.perPort?.find((p) => p.port === listener.port);
  if (perPort) return perPort.tls.validation ? { validation: perPort.tls.validation, where: `spec.tls.frontend.perPort[port ${listener.port}]` } : undefined;
  return frontend.default.validation ? { validation: frontend.default.validation, where: 'spec.tls.frontend.default' } : undefined;
}

/** Resolves the client certificate validation of one listener (frontend mTLS). */
export function planFrontendValidation(gateway: Gateway, listener: GatewayListener, lookup: GatewayReferenceLookup): FrontendValidationPlan {
  const applies = validationFor(gateway, listener);
  if (!applies) return { problems: [] };
  const gatewayNamespace = gateway.metadata.namespace!;
  const problems: ReferenceProblem[] = [];
  const bundles: string[] = [];
  for (const ref of applies.validation.caCertificateRefs ?? []) {
    const namespace = ref.namespace ?? gatewayNamespace;
    const label = `${namespace}/${ref.name}`;
    if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap') {
      problems.push({ reason: Reason.InvalidCACertificateKind, message: `${applies.where} caCertificateRef ${ref.group ? `${ref.group}/` : ''}${ref.kind} ${label} is not supported: use a core ConfigMap with key ca.crt` });
      continue;
    }
    if (!referenceAllowed({ group: gatewayGroup, kind: 'Gateway', namespace: gatewayNamespace }, { group: '', kind: 'ConfigMap', namespace, name: ref.name }, lookup.grants)) {
      problems.push({ reason: Reason.RefNotPermitted, message: `${applies.where} caCertificateRef ConfigMap ${label} is in another namespace and no ReferenceGrant in ${namespace} allows Gateways from ${gatewayNamespace}` });
      continue;
    }
    const bundle = caBundle(lookup.configMap(namespace, ref.name), label);
    if ('problem' in bundle) problems.push({ reason: Reason.InvalidCACertificateRef, message: `${applies.where} ${bundle.problem}` });
    else bundles.push(bundle.pem);
  }
  if (bundles.length === 0) {
    return { problems, noValidCaCertificate: `no caCertificateRef of ${applies.where} is valid (ResolvedRefs says why): clients cannot be verified, so the listener is not served` };
  }
  return { validation: { caCertificatesPem: bundles.join(''), mode: applies.validation.mode ?? 'AllowValidOnly' }, problems };
}

/** True when the default or any perPort validation lets clients without a valid certificate in. */
export function insecureFallbackConfigured(gateway: Gateway): boolean {
  const frontend = gateway.spec.tls?.frontend;
  if (!frontend) return false;
  return [frontend.default, ...(frontend.perPort ?? []).map((p) => p.tls)].some((settings) => settings?.validation?.mode === 'AllowInsecureFallback');
}

/** Resolves spec.tls.backend.clientCertificateRef: the certificate, or why it cannot be used. */
export function resolveBackendClientCertificate(gateway: Gateway, lookup: GatewayReferenceLookup): { certificate?: TlsCertificate; problem?: ReferenceProblem } {
  const ref = gateway.spec.tls?.backend?.clientCertificateRef;
  if (!ref) return {};
  const gatewayNamespace = gateway.metadata.namespace!;
  const namespace = ref.namespace ?? gatewayNamespace;
  const label = `${namespace}/${ref.name}`;
  const invalid = (message: string) => ({ problem: { reason: Reason.InvalidClientCertificateRef, message: `spec.tls.backend.clientCertificateRef: ${message}` } });
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret') return invalid(`${ref.group ? `${ref.group}/` : ''}${ref.kind} ${label} is not supported, only a core Secret of type kubernetes.io/tls`);
  if (!referenceAllowed({ group: gatewayGroup, kind: 'Gateway', namespace: gatewayNamespace }, { group: '', kind: 'Secret', namespace, name: ref.name }, lookup.grants)) {
    return { problem: { reason: Reason.RefNotPermitted, message: `spec.tls.backend.clientCertificateRef: Secret ${label} is in another namespace and no ReferenceGrant in ${namespace} allows Gateways from ${gatewayNamespace}` } };
  }
  const secret = lookup.secret(namespace, ref.name);
  if (!secret) return invalid(`Secret ${label} not found`);
  const check = checkTlsSecret(secret);
  if (!check.ok) return invalid(check.message);
  return { certificate: tlsCertificateOf(check.certificate, label) };
}

/**
 * A route's rules as served under one Gateway: backends it re-encrypts to (BackendTLSPolicy)
 * present that Gateway's client certificate. Rules are converted once per route, and a
 * route may attach to Gateways with different certificates, so this is applied per parent.
 */
export function withBackendClientCertificate<Rule extends { backends: WeightedHttpBackend[] }>(rules: Rule[], certificate: TlsCertificate | undefined): Rule[] {
  if (!certificate) return rules;
  return rules.map((rule) => ({
    ...rule,
    backends: rule.backends.map((backend) => (backend.kind === 'Resolved' && backend.tls ? { ...backend, tls: { ...backend.tls, clientCertificate: certificate } } : backend)),
  }));
}
