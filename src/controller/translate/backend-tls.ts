// BackendTLSPolicy (GEP-1897; v1alpha3 in Gateway API v1.1–v1.3, v1 from v1.4): which
// Services the proxy re-encrypts to, whom it trusts and which name it checks. Each
// policy is judged once here; backends.ts applies it to the Service ports it targets,
// and the Gateway processor reports it under every Gateway whose routes use it
// (status.ancestors).
//
// Rules (BackendTLSPolicySpec and BackendTLSPolicyValidation docs):
// - targetRefs name Services in the policy's namespace, optionally one port (sectionName).
//   Two policies on the same target and sectionName: the older (then namespace/name first)
//   wins, the other is Accepted=False, Conflicted.
// - caCertificateRefs: ConfigMaps with the PEM bundle under `ca.crt`. A missing or
//   malformed one is ResolvedRefs=False InvalidCACertificateRef; another kind is
//   InvalidKind. When every ref is invalid the policy is also Accepted=False
//   NoValidCACertificate, and connections to the backend fail with a 5xx.
// - wellKnownCACertificates: only `System` is known; any other value is Accepted=False Invalid.
// - hostname is the SNI, and the name checked unless subjectAltNames are given (v1.2+).
import { X509Certificate } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { UpstreamTls } from '../../ir/types.js';
import type { BackendTLSPolicy } from '../gatewayapi-types.js';
import { ConditionType, Reason, condition, type DesiredCondition } from './conditions.js';
import { isoTimestamp } from './route-rules.js';

export interface JudgedPolicy {
  /** `namespace/name`. */
  key: string;
  /** Absent when the policy cannot be used: connections to its targets fail (5xx). */
  tls?: UpstreamTls;
  /** Why it cannot be used, for the IR's invalid backend. */
  failure?: string;
  conditions: DesiredCondition[];
}

export interface BackendTlsIndex {
  /** `namespace/service` or `namespace/service#portName` → the policy that applies there. */
  winners: Map<string, JudgedPolicy>;
  /** The same target keys → the policies that lost them to an older one (`namespace/name`). */
  losers: Map<string, string[]>;
  /** Every policy's status conditions, by `namespace/name`. */
  conditions: Map<string, DesiredCondition[]>;
}

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A ConfigMap's `ca.crt` as a PEM bundle, or why it is not one (`label` is its `namespace/name`). */
export function caBundle(configMap: V1ConfigMap | undefined, label: string): { pem: string } | { problem: string } {
  if (!configMap) return { problem: `caCertificateRef ConfigMap ${label} not found` };
  const text = configMap.data?.['ca.crt'];
  if (text === undefined) return { problem: `caCertificateRef ConfigMap ${label} has no key ca.crt` };
  const blocks = text.match(pemBlock);
  if (!blocks) return { problem: `caCertificateRef ConfigMap ${label} ca.crt holds no PEM certificate` };
  try {
    for (const block of blocks) new X509Certificate(block);
  } catch {
    return { problem: `caCertificateRef ConfigMap ${label} ca.crt is not a valid PEM certificate` };
  }
  return { pem: blocks.join('\n') + '\n' };
}

function judge(policy: BackendTLSPolicy, configMaps: Map<string, V1ConfigMap>): JudgedPolicy {
  const namespace = policy.metadata.namespace!;
  const key = `${namespace}/${policy.metadata.name}`;
  const validation = policy.spec.validation;
  const refs = validation.caCertificateRefs ?? [];
  const refProblems: { reason: string; message: string }[] = [];
  const bundles: string[] = [];
  for (const ref of refs) {
    const label = `${namespace}/${ref.name}`;
    if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap') {
      refProblems.push({ reason: Reason.InvalidKind, message: `caCertificateRef ${ref.group ? `${ref.group}/` : ''}${ref.kind} ${label} is not supported: use a core ConfigMap with key ca.crt` });
      continue;
    }
    const bundle = caBundle(configMaps.get(label), label);
    if ('problem' in bundle) refProblems.push({ reason: Reason.InvalidCACertificateRef, message: bundle.problem });
    else bundles.push(bundle.pem);
  }
  const resolvedRefs = refProblems.length === 0
    ? condition(ConditionType.ResolvedRefs, true, Reason.ResolvedRefs, 'All references resolved')
    : condition(ConditionType.ResolvedRefs, false, refProblems[0]!.reason, refProblems.map((p) => p.message).join('; '));
  const subjectAltNames = (validation.subjectAltNames ?? []).map((san) =>
    san.type === 'URI' ? { type: 'URI' as const, uri: san.uri ?? '' } : { type: 'Hostname' as const, hostname: (san.hostname ?? '').toLowerCase() },
  );
  const upstream = (trust: UpstreamTls['trust']): UpstreamTls => ({ serverName: validation.hostname.toLowerCase(), trust, ...(subjectAltNames.length ? { subjectAltNames } : {}) });
  const refused = (reason: string, message: string): JudgedPolicy => ({ key, failure: message, conditions: [condition(ConditionType.Accepted, false, reason, message), resolvedRefs] });
  if (refs.length > 0) {
    if (bundles.length === 0) return refused(Reason.NoValidCACertificate, `no caCertificateRef is valid: ${refProblems.map((p) => p.message).join('; ')}`);
    return { key, tls: upstream({ kind: 'CaBundle', caCertificatesPem: bundles.join('') }), conditions: [condition(ConditionType.Accepted, true, Reason.Accepted, 'Policy is accepted'), resolvedRefs] };
  }
  if (validation.wellKnownCACertificates === 'System') {
    return { key, tls: upstream({ kind: 'System' }), conditions: [condition(ConditionType.Accepted, true, Reason.Accepted, 'Policy is accepted'), resolvedRefs] };
  }
  return refused(Reason.Invalid, `wellKnownCACertificates "${validation.wellKnownCACertificates ?? ''}" is not supported: use System, or caCertificateRefs`);
}

const byAge = (a: BackendTLSPolicy, b: BackendTLSPolicy) =>
  isoTimestamp(a.metadata.creationTimestamp).localeCompare(isoTimestamp(b.metadata.creationTimestamp)) ||
  `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

export function indexBackendTlsPolicies(policies: BackendTLSPolicy[], configMaps: V1ConfigMap[]): BackendTlsIndex {
  const maps = new Map(configMaps.map((c) => [`${c.metadata?.namespace}/${c.metadata?.name}`, c]));
  const index: BackendTlsIndex = { winners: new Map(), losers: new Map(), conditions: new Map() };
  for (const policy of [...policies].filter((p) => !p.metadata.deletionTimestamp).sort(byAge)) {
    const judged = judge(policy, maps);
    index.conditions.set(judged.key, judged.conditions);
    for (const target of policy.spec.targetRefs ?? []) {
      if ((target.group ?? '') !== '' || target.kind !== 'Service') continue; // only Services are backends we re-encrypt to
      const targetKey = `${policy.metadata.namespace}/${target.name}${target.sectionName ? `#${target.sectionName}` : ''}`;
      const older = index.winners.get(targetKey);
      if (!older) {
        index.winners.set(targetKey, judged);
        continue;
      }
      const message = `BackendTLSPolicy ${older.key} is older and targets the same Service ${target.name}${target.sectionName ? ` port ${target.sectionName}` : ''}`;
      index.conditions.set(judged.key, [condition(ConditionType.Accepted, false, Reason.Conflicted, message), judged.conditions[1]!]);
      index.losers.set(targetKey, [...(index.losers.get(targetKey) ?? []), judged.key]);
    }
  }
  return index;
}

export interface PoliciesAtBackend {
  /** The policy the proxy applies to this Service port. */
  applied: JudgedPolicy;
  /** Every policy to report under the Gateways that use this backend: the applied one and those it won against. */
  reported: string[];
}

/** The policy for one Service port: one naming the port (sectionName) before one for the whole Service. */
export function policiesAt(index: BackendTlsIndex, namespace: string, service: string, portName: string | undefined): PoliciesAtBackend | undefined {
  const keys = [...(portName ? [`${namespace}/${service}#${portName}`] : []), `${namespace}/${service}`];
  const target = keys.find((key) => index.winners.has(key));
  if (!target) return undefined;
  const applied = index.winners.get(target)!;
  return { applied, reported: [applied.key, ...(index.losers.get(target) ?? [])] };
}
