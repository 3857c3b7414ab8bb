// Cross-namespace references (ReferenceGrant, GEP-709) and which namespaces a
// listener admits routes from (allowedRoutes.namespaces: Same, All, Selector).
import type { V1Namespace } from '@kubernetes/client-node';
import type { GatewayListener, LabelSelector, ReferenceGrant } from '../gatewayapi-types.js';

export interface ReferenceFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface ReferenceTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** A reference within one namespace needs no grant; across namespaces, a ReferenceGrant in the target's namespace must allow it. */
export function referenceAllowed(from: ReferenceFrom, to: ReferenceTo, grants: ReferenceGrant[]): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (grant) =>
      grant.metadata.namespace === to.namespace &&
      grant.spec.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
      grant.spec.to.some((t) => t.group === to.group && t.kind === to.kind && (!t.name || t.name === to.name)),
  );
}

export function labelsMatch(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const present = expression.key in have;
    const inValues = present && (expression.values ?? []).includes(have[expression.key]!);
    switch (expression.operator) {
      case 'In': if (!inValues) return false; break;
      case 'NotIn': if (inValues) return false; break;
      case 'Exists': if (!present) return false; break;
      case 'DoesNotExist': if (present) return false; break;
    }
  }
  return true;
}

/** allowedRoutes.namespaces.from defaults to Same (GatewaySpec docs). */
export function namespaceAllowed(listener: GatewayListener, gatewayNamespace: string, routeNamespace: string, namespaces: V1Namespace[]): boolean {
  const from = listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNamespace === gatewayNamespace;
  const namespace = namespaces.find((n) => n.metadata?.name === routeNamespace);
  return labelsMatch(listener.allowedRoutes?.namespaces?.selector, namespace?.metadata?.labels);
}
