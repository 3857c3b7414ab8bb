// Gateway listeners: which are valid, which conflict, which route kinds they take,
// and which certificates they serve (Gateway API ListenerStatus semantics).
import type { ClientValidation, TlsCertificate } from '../../ir/types.js';
import { gatewayGroup, type Gateway, type GatewayListener, type RouteGroupKind } from '../gatewayapi-types.js';
import { checkTlsSecret, tlsCertificateOf } from './certificates.js';
import { ConditionType, Reason, condition, type DesiredCondition } from './conditions.js';
import { planFrontendValidation, type GatewayReferenceLookup } from './gateway-tls.js';
import { referenceAllowed } from './references.js';

export interface ListenerPlan {
  gateway: Gateway;
  spec: GatewayListener;
  /** `gateway/<ns>/<name>/<listener>`: the IR server block id. */
  blockId: string;
  supportedKinds: RouteGroupKind[];
  certificates: TlsCertificate[];
  /** Client certificate validation (Gateway spec.tls.frontend) for HTTPS listeners. */
  clientValidation?: ClientValidation;
  /** Accepted and not conflicted: it is served and routes may attach. */
  usable: boolean;
  /** Usable and, when it terminates TLS, with at least one good certificate. */
  programmable: boolean;
  conditions: DesiredCondition[];
  attachedRoutes: number;
  /** Hostnames served by attached HTTPRoutes and GRPCRoutes ([] = every host), which may not intersect. */
  claims: { HTTPRoute: string[][]; GRPCRoute: string[][] };
}

const kindsByProtocol: Record<string, string[]> = {
  HTTP: ['HTTPRoute', 'GRPCRoute'],
  HTTPS: ['HTTPRoute', 'GRPCRoute'],
  'TLS/Passthrough': ['TLSRoute'],
  'TLS/Terminate': ['TLSRoute', 'TCPRoute'],
  TCP: ['TCPRoute'],
};

function protocolKey(listener: GatewayListener): string {
  if (listener.protocol !== 'TLS') return listener.protocol;
  return `TLS/${listener.tls?.mode ?? 'Terminate'}`;
}

/** Ports on which two listeners' protocols cannot share one socket (HTTPS and TLS can: SNI decides). */
function protocolsCompatible(a: string, b: string): boolean {
  const family = (p: string) => (p === 'HTTPS' || p === 'TLS' ? 'tls' : p);
  return family(a) === family(b) && a !== 'TCP' && a !== 'UDP';
}

function resolveCertificates(gateway: Gateway, listener: GatewayListener, lookup: GatewayReferenceLookup): { certificates: TlsCertificate[]; problems: { reason: string; message: string }[] } {
  const certificates: TlsCertificate[] = [];
  const problems: { reason: string; message: string }[] = [];
  const gatewayNamespace = gateway.metadata.namespace!;
  for (const ref of listener.tls?.certificateRefs ?? []) {
    const namespace = ref.namespace ?? gatewayNamespace;
    const label = `${namespace}/${ref.name}`;
    // The CRD allows one Secret twice in certificateRefs; the IR wants each certificate once per block.
    if (certificates.some((certificate) => certificate.id === label)) continue;
    if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret') {
      problems.push({ reason: Reason.InvalidCertificateRef, message: `certificateRef ${label}: ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported, only core Secret` });
      continue;
    }
    if (!referenceAllowed({ group: gatewayGroup, kind: 'Gateway', namespace: gatewayNamespace }, { group: '', kind: 'Secret', namespace, name: ref.name }, lookup.grants)) {
      problems.push({ reason: Reason.RefNotPermitted, message: `certificateRef Secret ${label} is in another namespace and no ReferenceGrant in ${namespace} allows Gateways from ${gatewayNamespace}` });
      continue;
    }
    const secret = lookup.secret(namespace, ref.name);
    if (!secret) {
      problems.push({ reason: Reason.InvalidCertificateRef, message: `certificateRef Secret ${label} not found` });
      continue;
    }
    const check = checkTlsSecret(secret);
    if (!check.ok) {
      problems.push({ reason: Reason.InvalidCertificateRef, message: check.message });
      continue;
    }
    certificates.push(tlsCertificateOf(check.certificate, label));
  }
  return { certificates, problems };
}

/** Plans every listener of one Gateway. */
export function planListeners(gateway: Gateway, lookup: GatewayReferenceLookup): ListenerPlan[] {
  const listeners = gateway.spec.listeners ?? [];
  const plans = listeners.map((listener) => planListener(gateway, listener, lookup));
  markConflicts(plans);
  return plans;
}

function planListener(gateway: Gateway, listener: GatewayListener, lookup: GatewayReferenceLookup): ListenerPlan {
  const blockId = `gateway/${gateway.metadata.namespace}/${gateway.metadata.name}/${listener.name}`;
  const key = protocolKey(listener);
  const kinds = kindsByProtocol[key];
  const conditions: DesiredCondition[] = [];
  const plan: ListenerPlan = { gateway, spec: listener, blockId, supportedKinds: [], certificates: [], usable: false, programmable: false, conditions, attachedRoutes: 0, claims: { HTTPRoute: [], GRPCRoute: [] } };
  if (!kinds || (listener.protocol === 'HTTPS' && listener.tls?.mode === 'Passthrough')) {
    const message = !kinds ? `protocol ${listener.protocol} is not supported (use HTTP, HTTPS, TLS or TCP)` : 'HTTPS listeners terminate TLS: use protocol TLS for tls.mode Passthrough';
    conditions.push(
      condition(ConditionType.Accepted, false, Reason.UnsupportedProtocol, message),
      condition(ConditionType.Programmed, false, Reason.Invalid, message),
      condition(ConditionType.ResolvedRefs, true, Reason.ResolvedRefs, 'No references to resolve'),
      condition(ConditionType.Conflicted, false, Reason.NoConflicts, 'No conflicts'),
    );
    return plan;
  }
  const requested = listener.allowedRoutes?.kinds;
  const valid = requested ? requested.filter((k) => (k.group ?? gatewayGroup) === gatewayGroup && kinds.includes(k.kind)) : kinds.map((kind) => ({ kind }));
  plan.supportedKinds = valid.map((k) => ({ group: gatewayGroup, kind: k.kind }));
  const refProblems: { reason: string; message: string }[] = [];
  if (requested && valid.length !== requested.length) {
    const invalid = requested.filter((k) => !valid.includes(k)).map((k) => `${k.group ?? gatewayGroup}/${k.kind}`);
    refProblems.push({ reason: Reason.InvalidRouteKinds, message: `route kinds ${invalid.join(', ')} are not supported on a ${key} listener (supported: ${kinds.join(', ')})` });
  }
  const terminates = listener.protocol === 'HTTPS' || key === 'TLS/Terminate';
  if (terminates) {
    const resolved = resolveCertificates(gateway, listener, lookup);
    plan.certificates = resolved.certificates;
    refProblems.push(...resolved.problems);
    if ((listener.tls?.certificateRefs ?? []).length === 0) {
      refProblems.push({ reason: Reason.InvalidCertificateRef, message: 'a listener that terminates TLS needs tls.certificateRefs' });
    }
  }
  const frontend = planFrontendValidation(gateway, listener, lookup);
  refProblems.push(...frontend.problems);
  const resolvedRefs = refProblems.length === 0
    ? condition(ConditionType.ResolvedRefs, true, Reason.ResolvedRefs, 'All references resolved')
    : condition(ConditionType.ResolvedRefs, false, refProblems[0]!.reason, refProblems.map((p) => p.message).join('; '));
  if (frontend.noValidCaCertificate) {
    // FrontendTLSValidation docs: with no valid CA the listener is not accepted. Serving it
    // without client validation would let in the clients it was meant to keep out.
    conditions.push(
      condition(ConditionType.Accepted, false, Reason.NoValidCACertificate, frontend.noValidCaCertificate),
      condition(ConditionType.Programmed, false, Reason.Invalid, 'Listener is not accepted: no valid CA certificate to verify clients with'),
      resolvedRefs,
      condition(ConditionType.Conflicted, false, Reason.NoConflicts, 'No conflicts'),
    );
    return plan;
  }
  plan.clientValidation = frontend.validation;
  plan.usable = true;
  plan.programmable = !terminates || plan.certificates.length > 0;
  conditions.push(
    condition(ConditionType.Accepted, true, Reason.Accepted, 'Listener is accepted'),
    plan.programmable
      ? condition(ConditionType.Programmed, true, Reason.Programmed, 'Listener is programmed')
      : condition(ConditionType.Programmed, false, Reason.Invalid, 'Listener has no usable certificate'),
    resolvedRefs,
    condition(ConditionType.Conflicted, false, Reason.NoConflicts, 'No conflicts'),
  );
  return plan;
}

/**
 * Listeners sharing a port must be distinct (GatewaySpec.listeners docs): HTTP, HTTPS and TLS
 * by hostname, TCP not at all; every indistinct listener is Conflicted and not accepted —
 * none is picked as the winner.
 */
function markConflicts(plans: ListenerPlan[]): void {
  const candidates = plans.filter((p) => p.usable);
  for (const plan of candidates) {
    const samePort = candidates.filter((other) => other !== plan && other.spec.port === plan.spec.port);
    let reason: string | undefined;
    let message = '';
    const protocolClash = samePort.find((other) => !protocolsCompatible(plan.spec.protocol, other.spec.protocol));
    if (protocolClash) {
      reason = Reason.ProtocolConflict;
      message = `port ${plan.spec.port} is also used by listener "${protocolClash.spec.name}" with protocol ${protocolClash.spec.protocol}`;
    } else {
      const hostnameClash = samePort.find((other) => (other.spec.hostname ?? '').toLowerCase() === (plan.spec.hostname ?? '').toLowerCase());
      if (hostnameClash) {
        reason = Reason.HostnameConflict;
        message = `listener "${hostnameClash.spec.name}" uses the same port ${plan.spec.port} and hostname ${plan.spec.hostname ?? '(none)'}`;
      }
    }
    if (!reason) continue;
    plan.conditions.splice(0, plan.conditions.length,
      condition(ConditionType.Accepted, false, reason, message),
      condition(ConditionType.Programmed, false, Reason.Invalid, message),
      plan.conditions.find((c) => c.type === ConditionType.ResolvedRefs)!,
      { type: ConditionType.Conflicted, status: 'True', reason, message },
    );
  }
  for (const plan of candidates) {
    if (plan.conditions.some((c) => c.type === ConditionType.Conflicted && c.status === 'True')) {
      plan.usable = false;
      plan.programmable = false;
    }
  }
}
