// Status conditions with the exact Gateway API types and reasons
// (gateway-api apis/v1 gateway_types.go, httproute_types.go, shared_types.go).
import type { Condition } from '../gatewayapi-types.js';

export const ConditionType = {
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  Conflicted: 'Conflicted',
  SupportedVersion: 'SupportedVersion',
  InsecureFrontendValidationMode: 'InsecureFrontendValidationMode',
} as const;

export const Reason = {
  // shared
  Accepted: 'Accepted',
  Programmed: 'Programmed',
  ResolvedRefs: 'ResolvedRefs',
  Pending: 'Pending',
  Invalid: 'Invalid',
  // GatewayClass
  InvalidParameters: 'InvalidParameters',
  // Gateway
  NotReconciled: 'NotReconciled',
  AddressNotAssigned: 'AddressNotAssigned',
  AddressNotUsable: 'AddressNotUsable',
  ListenersNotValid: 'ListenersNotValid',
  UnsupportedAddress: 'UnsupportedAddress',
  InvalidClientCertificateRef: 'InvalidClientCertificateRef',
  ListenersNotResolved: 'ListenersNotResolved',
  ConfigurationChanged: 'ConfigurationChanged',
  // Listener
  PortUnavailable: 'PortUnavailable',
  UnsupportedProtocol: 'UnsupportedProtocol',
  HostnameConflict: 'HostnameConflict',
  ProtocolConflict: 'ProtocolConflict',
  NoConflicts: 'NoConflicts',
  InvalidCertificateRef: 'InvalidCertificateRef',
  InvalidRouteKinds: 'InvalidRouteKinds',
  RefNotPermitted: 'RefNotPermitted',
  InvalidCACertificateKind: 'InvalidCACertificateKind',
  // Route
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  NoMatchingParent: 'NoMatchingParent',
  UnsupportedValue: 'UnsupportedValue',
  InvalidKind: 'InvalidKind',
  BackendNotFound: 'BackendNotFound',
  UnsupportedProtocolBackend: 'UnsupportedProtocol',
  // Policy (BackendTLSPolicy); the last two also Listener (client certificate validation)
  Conflicted: 'Conflicted',
  InvalidCACertificateRef: 'InvalidCACertificateRef',
  NoValidCACertificate: 'NoValidCACertificate',
} as const;

export type ConditionStatus = Condition['status'];

/** A condition as translation decides it; lastTransitionTime is filled by the status writer. */
export interface DesiredCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function condition(type: string, ok: boolean, reason: string, message: string): DesiredCondition {
  return { type, status: ok ? 'True' : 'False', reason, message };
}

/**
 * Stamps desired conditions with observedGeneration, keeping lastTransitionTime from the
 * current ones when status did not change (so a resync does not look like a transition).
 */
export function stampConditions(desired: DesiredCondition[], current: Condition[] | undefined, generation: number | undefined, now: string): Condition[] {
  return desired.map((d) => {
    const previous = current?.find((c) => c.type === d.type);
    const lastTransitionTime = previous && previous.status === d.status ? previous.lastTransitionTime : now;
    return { ...d, observedGeneration: generation, lastTransitionTime };
  });
}
