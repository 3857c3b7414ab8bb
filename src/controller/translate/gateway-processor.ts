// The Gateway API processor: GatewayClasses → Gateways → listeners → attached routes,
// written into the IR builder, with the status of every object it decides about.
import type { V1Namespace } from '@kubernetes/client-node';
import { hostnamesIntersect } from '../../ir/hostname.js';
import type { ServerBlock, TlsCertificate } from '../../ir/types.js';
import { gatewayGroup, type Gateway, type GatewayStatusAddress, type ParentReference, type Route, type Snapshot } from '../gatewayapi-types.js';
import type { BackendIndex } from './backends.js';
import { ConditionType, Reason, condition, type DesiredCondition } from './conditions.js';
import { planListeners, type ListenerPlan } from './gateway-listeners.js';
import { insecureFallbackConfigured, resolveBackendClientCertificate, withBackendClientCertificate, type ReferenceProblem } from './gateway-tls.js';
import { intersectHostnames } from './hostnames.js';
import type { IrBuilder } from './ir-builder.js';
import type { DesiredRouteParentStatus, DesiredStatuses } from './model.js';
import { namespaceAllowed } from './references.js';
import { grpcRules, httpRules, isoTimestamp, routeSource, streamBackends, type RuleProblems } from './route-rules.js';

/**
 * `address` is what the proxy binds; `published` what status.addresses lists (default:
 * the bound address itself, as on the local provider).
 */
export type AddressAssignment = { address: string; published?: GatewayStatusAddress[] } | { reason: string; message: string };

export interface GatewayProcessorOptions {
  controllerName: string;
  supportedFeatures: string[];
  /** Where a Gateway is served (its own loopback address locally, the proxy Service's address in a cluster). */
  gatewayAddress(gateway: Gateway): AddressAssignment;
}

const byAge = <T extends { metadata: { creationTimestamp?: string | Date; namespace?: string; name: string } }>(a: T, b: T) =>
  isoTimestamp(a.metadata.creationTimestamp).localeCompare(isoTimestamp(b.metadata.creationTimestamp)) ||
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

interface GatewayPlan {
  gateway: Gateway;
  address?: string;
  published?: GatewayStatusAddress[];
  addressProblem?: { reason: string; message: string };
  listeners: ListenerPlan[];
  /** spec.tls.backend.clientCertificateRef, resolved: presented to backends re-encrypted to. */
  backendClientCertificate?: TlsCertificate;
  backendClientCertificateProblem?: ReferenceProblem;
}

export function processGateways(snapshot: Snapshot, index: BackendIndex, builder: IrBuilder, statuses: DesiredStatuses, options: GatewayProcessorOptions): void {
  const classes = new Set<string>();
  for (const gatewayClass of snapshot.gatewayClasses) {
    if (gatewayClass.spec.controllerName !== options.controllerName) continue;
    classes.add(gatewayClass.metadata.name);
    statuses.gatewayClasses[gatewayClass.metadata.name] = {
      conditions: [condition(ConditionType.Accepted, true, Reason.Accepted, `Handled by ${options.controllerName}`)],
      supportedFeatures: options.supportedFeatures,
    };
  }
  const secrets = new Map(snapshot.secrets.map((s) => [`${s.metadata?.namespace}/${s.metadata?.name}`, s]));
  const configMaps = new Map(snapshot.configMaps.map((c) => [`${c.metadata?.namespace}/${c.metadata?.name}`, c]));
  const lookup = {
    secret: (ns: string, name: string) => secrets.get(`${ns}/${name}`),
    configMap: (ns: string, name: string) => configMaps.get(`${ns}/${name}`),
    grants: snapshot.referenceGrants,
  };
  const plans: GatewayPlan[] = [...snapshot.gateways]
    .filter((g) => classes.has(g.spec.gatewayClassName) && !g.metadata.deletionTimestamp)
    .sort(byAge)
    .map((gateway) => {
      const assignment = options.gatewayAddress(gateway);
      const backendClient = resolveBackendClientCertificate(gateway, lookup);
      return {
        gateway,
        ...('address' in assignment ? { address: assignment.address, published: assignment.published } : { addressProblem: assignment }),
        listeners: planListeners(gateway, lookup),
        backendClientCertificate: backendClient.certificate,
        backendClientCertificateProblem: backendClient.problem,
      };
    });

  for (const plan of plans) addBlocks(plan, builder);
  const routes: Route[] = [...snapshot.httpRoutes, ...snapshot.grpcRoutes, ...snapshot.tlsRoutes, ...snapshot.tcpRoutes].sort(byAge);
  const gatewaysByKey = new Map(plans.map((p) => [`${p.gateway.metadata.namespace}/${p.gateway.metadata.name}`, p]));
  for (const route of routes) attachRoute(route, gatewaysByKey, snapshot.namespaces, index, builder, statuses);
  for (const plan of plans) statuses.gateways[`${plan.gateway.metadata.namespace}/${plan.gateway.metadata.name}`] = gatewayStatus(plan);
}

function addBlocks(plan: GatewayPlan, builder: IrBuilder): void {
  if (!plan.address) return;
  for (const listener of plan.listeners) {
    if (!listener.programmable) continue;
    const spec = listener.spec;
    const block: ServerBlock = {
      id: listener.blockId,
      protocol: spec.protocol as ServerBlock['protocol'],
      ...(spec.hostname ? { hostname: spec.hostname.toLowerCase() } : {}),
      ...(spec.protocol === 'HTTPS' || spec.protocol === 'TLS'
        ? { tls: spec.tls?.mode === 'Passthrough' ? { mode: 'Passthrough' as const } : { mode: 'Terminate' as const, certificates: listener.certificates, ...(listener.clientValidation ? { clientValidation: listener.clientValidation } : {}) } }
        : {}),
      sources: [`Gateway ${plan.gateway.metadata.namespace}/${plan.gateway.metadata.name} listener ${spec.name}`],
    };
    const refused = builder.addBlock(plan.address, spec.port, block);
    if (refused) {
      listener.programmable = false;
      listener.conditions = listener.conditions.map((c) => (c.type === ConditionType.Programmed ? condition(ConditionType.Programmed, false, Reason.Invalid, refused) : c));
    }
  }
}

function parentMatches(ref: ParentReference, routeNamespace: string): { key: string } | undefined {
  if ((ref.group ?? gatewayGroup) !== gatewayGroup || (ref.kind ?? 'Gateway') !== 'Gateway') return undefined;
  return { key: `${ref.namespace ?? routeNamespace}/${ref.name}` };
}

const hostnameKinds = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute']);

function attachRoute(route: Route, gateways: Map<string, GatewayPlan>, namespaces: V1Namespace[], index: BackendIndex, builder: IrBuilder, statuses: DesiredStatuses): void {
  const namespace = route.metadata.namespace!;
  const parents: DesiredRouteParentStatus[] = [];
  const problems: RuleProblems = {};
  const converted = convertRules(route, index, problems);
  for (const parentRef of route.spec.parentRefs ?? []) {
    const parent = parentMatches(parentRef, namespace);
    const plan = parent && gateways.get(parent.key);
    if (!plan) continue; // not a Gateway of ours: another controller reports on it
    const conditions: DesiredCondition[] = [];
    const candidates = plan.listeners.filter((l) => (parentRef.sectionName === undefined || l.spec.name === parentRef.sectionName) && (parentRef.port === undefined || l.spec.port === parentRef.port));
    let accepted: DesiredCondition;
    if (candidates.length === 0) {
      accepted = condition(ConditionType.Accepted, false, Reason.NoMatchingParent, `Gateway ${parent!.key} has no listener${parentRef.sectionName ? ` named "${parentRef.sectionName}"` : ''}${parentRef.port ? ` on port ${parentRef.port}` : ''}`);
    } else {
      const usable = candidates.filter((l) => l.usable && l.supportedKinds.some((k) => k.kind === route.kind) && namespaceAllowed(l.spec, plan.gateway.metadata.namespace!, namespace, namespaces));
      const matched = usable
        .map((listener) => ({ listener, hosts: hostnameKinds.has(route.kind) ? intersectHostnames(listener.spec.hostname, (route.spec as { hostnames?: string[] }).hostnames) : { attaches: true, hostnames: [] } }))
        .filter((m) => m.hosts.attaches);
      const unclaimed = matched.filter((m) => !claimedByOtherKind(route.kind, m.listener, m.hosts.hostnames));
      if (usable.length === 0) {
        accepted = condition(ConditionType.Accepted, false, Reason.NotAllowedByListeners, `no listener of Gateway ${parent!.key} admits ${route.kind}s from namespace ${namespace}`);
      } else if (matched.length === 0) {
        accepted = condition(ConditionType.Accepted, false, Reason.NoMatchingListenerHostname, `no listener of Gateway ${parent!.key} serves the route's hostnames`);
      } else if (unclaimed.length === 0) {
        const other = route.kind === 'HTTPRoute' ? 'GRPCRoute' : 'HTTPRoute';
        accepted = condition(ConditionType.Accepted, false, Reason.NotAllowedByListeners, `an older ${other} on the same listener serves intersecting hostnames; only one of the two may be accepted (GRPCRouteSpec.hostnames)`);
      } else if (problems.unsupported) {
        accepted = condition(ConditionType.Accepted, false, Reason.UnsupportedValue, problems.unsupported);
      } else {
        accepted = condition(ConditionType.Accepted, true, Reason.Accepted, 'Route is accepted');
        reportPolicies(problems.backendTlsPolicies, plan.gateway, index, statuses);
        for (const { listener, hosts } of unclaimed) {
          if (route.kind === 'HTTPRoute' || route.kind === 'GRPCRoute') listener.claims[route.kind].push(hosts.hostnames);
          listener.attachedRoutes++;
          if (plan.address && listener.programmable) emitRoute(route, converted, plan, listener, hosts.hostnames, builder);
        }
      }
    }
    conditions.push(accepted, problems.refs ? condition(ConditionType.ResolvedRefs, false, problems.refs.reason, problems.refs.message) : condition(ConditionType.ResolvedRefs, true, Reason.ResolvedRefs, 'All references resolved'));
    parents.push({ parentRef, conditions });
  }
  if (parents.length > 0) statuses.routes[`${route.kind}/${namespace}/${route.metadata.name}`] = parents;
}

/** A route accepted on a Gateway puts that Gateway among the ancestors of its backends' BackendTLSPolicies. */
function reportPolicies(policies: Set<string> | undefined, gateway: Gateway, index: BackendIndex, statuses: DesiredStatuses): void {
  for (const policy of policies ?? []) {
    const ancestors = (statuses.backendTlsPolicies[policy] ??= []);
    const ancestorRef = { group: gatewayGroup, kind: 'Gateway', namespace: gateway.metadata.namespace!, name: gateway.metadata.name };
    if (ancestors.some((a) => a.ancestorRef.namespace === ancestorRef.namespace && a.ancestorRef.name === ancestorRef.name)) continue;
    ancestors.push({ ancestorRef, conditions: index.backendTls.conditions.get(policy)! });
  }
}

/**
 * An HTTPRoute and a GRPCRoute on one listener may not serve intersecting hostnames: the
 * older is accepted (routes arrive oldest first), the other not (GRPCRouteSpec.hostnames).
 */
function claimedByOtherKind(kind: Route['kind'], listener: ListenerPlan, hostnames: string[]): boolean {
  if (kind !== 'HTTPRoute' && kind !== 'GRPCRoute') return false;
  const others = listener.claims[kind === 'HTTPRoute' ? 'GRPCRoute' : 'HTTPRoute'];
  const mine = hostnames.length ? hostnames : [undefined];
  return others.some((claim) => (claim.length ? claim : [undefined]).some((theirs) => mine.some((ours) => hostnamesIntersect(ours, theirs))));
}

type ConvertedRules = ReturnType<typeof convertRules>;

function convertRules(route: Route, index: BackendIndex, problems: RuleProblems) {
  const namespace = route.metadata.namespace!;
  switch (route.kind) {
    case 'HTTPRoute':
      return { kind: 'http' as const, rules: httpRules(route.spec.rules, namespace, index, problems) };
    case 'GRPCRoute':
      return { kind: 'grpc' as const, rules: grpcRules(route.spec.rules, namespace, index, problems) };
    case 'TLSRoute':
    case 'TCPRoute':
      return { kind: 'stream' as const, backends: (route.spec.rules ?? []).flatMap((rule) => streamBackends(rule.backendRefs, route.kind, namespace, index, problems)) };
  }
}

function emitRoute(route: Route, converted: ConvertedRules, plan: GatewayPlan, listener: ListenerPlan, hostnames: string[], builder: IrBuilder): void {
  const address = plan.address!;
  const port = listener.spec.port;
  const serverBlock = listener.blockId;
  const source = routeSource(route.kind, route.metadata);
  switch (converted.kind) {
    case 'http':
      builder.addHttpRoute(address, port, { source, serverBlock, hostnames, rules: withBackendClientCertificate(converted.rules, plan.backendClientCertificate) });
      return;
    case 'grpc':
      builder.addGrpcRoute(address, port, { source, serverBlock, hostnames, rules: withBackendClientCertificate(converted.rules, plan.backendClientCertificate) });
      return;
    case 'stream':
      if (listener.spec.tls?.mode === 'Passthrough') builder.addPassthroughRoute(address, port, { source, serverBlock, hostnames, backends: converted.backends });
      else builder.addTcpRoute(address, port, { source, serverBlock, hostnames, backends: converted.backends });
  }
}

function gatewayStatus(plan: GatewayPlan) {
  const listeners = plan.listeners.map((l) => ({ name: l.spec.name, supportedKinds: l.supportedKinds, attachedRoutes: l.attachedRoutes, conditions: l.conditions }));
  const invalid = plan.listeners.filter((l) => !l.usable).map((l) => l.spec.name);
  const programmed = plan.listeners.filter((l) => l.programmable);
  const conditions: DesiredCondition[] = [];
  if (invalid.length === plan.listeners.length) {
    conditions.push(condition(ConditionType.Accepted, false, Reason.ListenersNotValid, `no listener is valid: ${invalid.join(', ')}`));
  } else if (invalid.length > 0) {
    conditions.push(condition(ConditionType.Accepted, true, Reason.ListenersNotValid, `listeners not valid: ${invalid.join(', ')}; the others are accepted`));
  } else {
    conditions.push(condition(ConditionType.Accepted, true, Reason.Accepted, 'Gateway is accepted'));
  }
  const addresses = plan.published ?? (plan.address ? [{ type: 'IPAddress', value: plan.address }] : []);
  if (plan.addressProblem) {
    conditions.push(condition(ConditionType.Programmed, false, plan.addressProblem.reason, plan.addressProblem.message));
  } else if (programmed.length === 0) {
    conditions.push(condition(ConditionType.Programmed, false, Reason.Invalid, 'no listener can be programmed'));
  } else {
    conditions.push(condition(ConditionType.Programmed, true, Reason.Programmed, `served on ${addresses.map((a) => a.value).join(', ')}`));
  }
  conditions.push(...gatewayTlsConditions(plan));
  return { addresses, conditions, listeners };
}

/**
 * Conditions about spec.tls. ResolvedRefs (experimental in the API) is set on Gateways that
 * have spec.tls, the only Gateway-level references we resolve: False for a bad
 * backend.clientCertificateRef, else a summary of the listeners' ResolvedRefs.
 */
function gatewayTlsConditions(plan: GatewayPlan): DesiredCondition[] {
  const tls = plan.gateway.spec.tls;
  if (!tls) return [];
  const conditions: DesiredCondition[] = [];
  const unresolved = plan.listeners.filter((l) => l.conditions.some((c) => c.type === ConditionType.ResolvedRefs && c.status === 'False')).map((l) => l.spec.name);
  if (plan.backendClientCertificateProblem) {
    conditions.push(condition(ConditionType.ResolvedRefs, false, plan.backendClientCertificateProblem.reason, plan.backendClientCertificateProblem.message));
  } else if (unresolved.length > 0) {
    conditions.push(condition(ConditionType.ResolvedRefs, false, Reason.ListenersNotResolved, `listeners with unresolved references: ${unresolved.join(', ')}`));
  } else {
    conditions.push(condition(ConditionType.ResolvedRefs, true, Reason.ResolvedRefs, 'All references resolved'));
  }
  if (insecureFallbackConfigured(plan.gateway)) {
    conditions.push(condition(ConditionType.InsecureFrontendValidationMode, true, Reason.ConfigurationChanged, 'client certificate validation mode AllowInsecureFallback lets clients without a valid certificate in; the backends must authorize them'));
  }
  return conditions;
}
