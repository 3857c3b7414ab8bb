// What translation produces besides the IR: the status each object should show, and
// warnings for a person (Events). All of it is plain data, compared and written by
// the status writer.
import type { GatewayStatusAddress, ParentReference, RouteGroupKind } from '../gatewayapi-types.js';
import type { Listener } from '../../ir/types.js';
import type { DesiredCondition } from './conditions.js';

export interface DesiredListenerStatus {
  name: string;
  supportedKinds: RouteGroupKind[];
  attachedRoutes: number;
  conditions: DesiredCondition[];
}

export interface DesiredGatewayStatus {
  addresses: GatewayStatusAddress[];
  conditions: DesiredCondition[];
  listeners: DesiredListenerStatus[];
}

export interface DesiredRouteParentStatus {
  parentRef: ParentReference;
  conditions: DesiredCondition[];
}

/** One entry of a policy's status.ancestors: the Gateway under which it is reported. */
export interface DesiredPolicyAncestorStatus {
  ancestorRef: ParentReference;
  conditions: DesiredCondition[];
}

export interface DesiredStatuses {
  /** By GatewayClass name. */
  gatewayClasses: Record<string, { conditions: DesiredCondition[]; supportedFeatures: string[] }>;
  /** By `namespace/name`. */
  gateways: Record<string, DesiredGatewayStatus>;
  /** By `Kind/namespace/name`; only the parents this controller is responsible for. */
  routes: Record<string, DesiredRouteParentStatus[]>;
  /** By `namespace/name`: the addresses to publish in status.loadBalancer. */
  ingresses: Record<string, { addresses: string[] }>;
  /** By `namespace/name`: the Gateways (of ours) whose routes use the policy's Services. */
  backendTlsPolicies: Record<string, DesiredPolicyAncestorStatus[]>;
}

export interface TranslationWarning {
  /** `Kind/namespace/name` of the object concerned. */
  object: string;
  reason: string;
  message: string;
}

export interface Translation {
  listeners: Listener[];
  statuses: DesiredStatuses;
  warnings: TranslationWarning[];
}

export function emptyStatuses(): DesiredStatuses {
  return { gatewayClasses: {}, gateways: {}, routes: {}, ingresses: {}, backendTlsPolicies: {} };
}
