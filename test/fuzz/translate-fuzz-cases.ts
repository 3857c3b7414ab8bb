// Mutations of translator snapshots for translate-fuzz: objects of the golden cases
// (test/golden/*/in.yaml) mixed across cases, then edited field by field with values
// that appeared at the same field somewhere in the corpus, plus hostile ones of the
// field's type (wildcards, conflicting ports and protocols, broken regexes, PEM
// garbage). Values stay of their field's type, so the objects are those an API server
// could hold; the translator must cope with all of them.
import type { Snapshot } from '../../src/controller/gatewayapi-types.js';
import { clone, pick, randomInt, setSlot, slotsOf, type Json, type Random, type Slot } from './support.js';

type KubeObject = { metadata: { name: string; namespace?: string; creationTimestamp?: string } } & Record<string, unknown>;
export type SnapshotKey = keyof Snapshot;

/** Extra values per field name, beyond those the corpus has. */
const hostile: Record<string, Json[]> = {
  hostname: ['*.example.com', 'example.com', '*.com', 'a.b.c.example.com', 'demo.example.com', '*.demo.example.com', 'localhost'],
  hostnames: ['*.example.com', 'demo.example.com', 'other.test'],
  port: [1, 80, 443, 8443, 8899, 65535],
  protocol: ['HTTP', 'HTTPS', 'TLS', 'TCP', 'UDP', 'example.com/custom'],
  mode: ['Terminate', 'Passthrough'],
  namespace: ['default', 'other', 'team-a', 'kube-system'],
  from: ['All', 'Same', 'Selector'],
  group: ['', 'gateway.networking.k8s.io', 'networking.k8s.io', 'example.com'],
  kind: ['Gateway', 'Service', 'Secret', 'HTTPRoute', 'TLSRoute', 'ConfigMap', 'Namespace'],
  value: ['/', '/echo', '/(', '/[a-', '/(a+)+$', '/.*', '/a\\1', '/(?=x)', `/${'x'.repeat(1023)}`],
  weight: [0, 1, 1_000_000],
  'tls.crt': ['', 'bm90IGEgY2VydGlmaWNhdGU=', Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64')],
  'tls.key': ['', 'bm90IGEga2V5'],
  statusCode: [301, 302, 303, 307, 308],
};

/** Fields that are optional in their schemas, and so may go missing. */
const optional = new Set(['hostname', 'hostnames', 'sectionName', 'port', 'namespace', 'tls', 'allowedRoutes', 'matches', 'filters', 'backendRefs', 'weight', 'group', 'kind', 'options', 'rules', 'path', 'headers', 'queryParams', 'method', 'labels', 'annotations', 'data', 'endpoints', 'conditions', 'ingressClassName', 'defaultBackend']);

/**
 * The Gateway listener rules the CRD enforces (its CEL validations), re-applied after an
 * edit so the object stays one an API server accepts: no hostname on TCP/UDP, no tls on
 * HTTP/TCP/UDP, tls on HTTPS (mode Terminate) and TLS.
 */
function keepListenerRules(gateway: KubeObject): void {
  const listeners = ((gateway.spec as { listeners?: Record<string, unknown>[] } | undefined)?.listeners ?? []);
  const names = new Set<string>();
  for (const listener of listeners) {
    // Listeners are a list-map keyed by name.
    while (names.has(listener.name as string)) listener.name = `${listener.name as string}-x`;
    names.add(listener.name as string);
    const protocol = listener.protocol as string;
    if (protocol === 'TCP' || protocol === 'UDP') delete listener.hostname;
    if (protocol === 'HTTP' || protocol === 'TCP' || protocol === 'UDP') delete listener.tls;
    if (protocol === 'HTTPS') listener.tls = { ...(listener.tls as object), mode: 'Terminate' };
    if (protocol === 'HTTPS' || protocol === 'TLS') listener.tls ??= { mode: 'Passthrough' };
    const tls = listener.tls as { mode?: string; certificateRefs?: unknown[]; options?: unknown } | undefined;
    if (tls && (tls.mode ?? 'Terminate') === 'Terminate' && !tls.certificateRefs?.length && !tls.options) tls.certificateRefs = [{ name: 'cert' }];
  }
}

/** Lists whose items may repeat (the others are list-maps keyed by name, or unique by a CRD rule). */
const repeatable = new Set(['backendRefs', 'rules', 'matches', 'certificateRefs', 'parentRefs', 'hostnames', 'endpoints', 'addresses', 'headers', 'queryParams']);

/** RFC 3986 path characters: what the CRD allows in Exact and PathPrefix values. */
const pathCharacters = /^\/(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})*$/;

/**
 * The HTTPRoute rule validations of the CRD, re-applied after an edit: a filter type at
 * most once per rule (but ExtensionRef), no backendRefs beside a RequestRedirect, header
 * modifier names unique, Exact and PathPrefix values made of path characters.
 */
function keepHttpRuleRules(route: KubeObject): void {
  for (const rule of ((route.spec as { rules?: Record<string, unknown>[] } | undefined)?.rules ?? [])) {
    const filters = (rule.filters as { type: string; [k: string]: unknown }[] | undefined) ?? [];
    const seen = new Set<string>();
    rule.filters = filters.filter((f) => f.type === 'ExtensionRef' || (!seen.has(f.type) && seen.add(f.type)));
    if (seen.has('RequestRedirect')) delete rule.backendRefs;
    for (const backendRef of (rule.backendRefs as { filters?: { type: string }[] }[] | undefined) ?? []) {
      const types = new Set<string>();
      if (backendRef.filters) backendRef.filters = backendRef.filters.filter((f) => !types.has(f.type) && types.add(f.type));
    }
    for (const filter of rule.filters as Record<string, unknown>[]) {
      for (const modifier of [filter.requestHeaderModifier, filter.responseHeaderModifier] as ({ set?: { name: string }[]; add?: { name: string }[]; remove?: string[] } | undefined)[]) {
        if (!modifier) continue;
        const names = new Set<string>();
        for (const list of ['set', 'add'] as const) modifier[list] = modifier[list]?.filter((h) => !names.has(h.name.toLowerCase()) && names.add(h.name.toLowerCase()));
        if (modifier.remove) modifier.remove = [...new Set(modifier.remove.map((n) => n.toLowerCase()))];
      }
    }
    for (const match of ((rule.matches as { path?: { type?: string; value?: string } }[] | undefined) ?? [])) {
      if (match.path?.value !== undefined && match.path.type !== 'RegularExpression' && !pathCharacters.test(match.path.value)) match.path.type = 'RegularExpression';
    }
  }
}

/** BackendTLSPolicy's CEL rules: a Hostname SAN has a hostname and no uri, a URI SAN the reverse. */
function keepSubjectAltNameRules(policy: KubeObject): void {
  const names = (policy.spec as { validation?: { subjectAltNames?: { type?: string; hostname?: string; uri?: string }[] } } | undefined)?.validation?.subjectAltNames ?? [];
  for (const name of names) {
    if (name.type === 'URI') {
      delete name.hostname;
      name.uri ||= 'spiffe://cluster.local/ns/default/sa/echo';
    } else {
      delete name.uri;
      name.hostname ||= 'echo.example.com';
    }
  }
}

/** Required fields whose names are optional elsewhere. */
const required = new Set(['gateways:spec.listeners.port', 'backendTlsPolicies:spec.validation.subjectAltNames.hostname', 'backendTlsPolicies:spec.validation.hostname']);

export class SnapshotMutator {
  /** Every value seen per field in the corpus, by kind and field path ("gateways:spec.listeners.port"). */
  private readonly byField = new Map<string, Json[]>();

  constructor(private readonly corpus: readonly Snapshot[]) {
    for (const snapshot of corpus) {
      for (const key of Object.keys(snapshot) as SnapshotKey[]) {
        for (const slot of slotsOf(snapshot[key] as unknown as Json)) {
          if (slot.fieldPath.length === 0) continue;
          const field = `${key}:${slot.fieldPath.join('.')}`;
          const values = this.byField.get(field) ?? [];
          if (values.length < 200 && (typeof slot.value !== 'object' || slot.value === null || JSON.stringify(slot.value).length < 2000)) values.push(slot.value);
          this.byField.set(field, values);
        }
      }
    }
  }

  /** Index of the base case, and a mutated merge of it with up to two others. */
  mutate(random: Random): { base: number; snapshot: Snapshot } {
    const base = randomInt(random, this.corpus.length);
    const snapshot = clone(this.corpus[base]!);
    for (let extra = randomInt(random, 3); extra > 0; extra--) this.mergeInto(snapshot, this.corpus[randomInt(random, this.corpus.length)]!, random);
    for (let edits = 1 + randomInt(random, 6); edits > 0; edits--) this.edit(snapshot, random);
    return { base, snapshot };
  }

  private mergeInto(target: Snapshot, source: Snapshot, random: Random): void {
    for (const key of Object.keys(source) as SnapshotKey[]) {
      const list = target[key] as unknown as KubeObject[];
      for (const object of source[key] as unknown as KubeObject[]) {
        if (random() < 0.5) continue;
        const taken = list.some((o) => o.metadata.name === object.metadata.name && o.metadata.namespace === object.metadata.namespace);
        if (!taken) list.push(clone(object));
      }
    }
  }

  private edit(snapshot: Snapshot, random: Random): void {
    const keys = (Object.keys(snapshot) as SnapshotKey[]).filter((key) => snapshot[key].length > 0);
    if (keys.length === 0) return;
    const key = pick(random, keys);
    const list = snapshot[key] as unknown as KubeObject[];
    const index = randomInt(random, list.length);
    const object = list[index]!;
    switch (randomInt(random, 10)) {
      case 0: // an object deleted
        list.splice(index, 1);
        return;
      case 1: { // an object copied under a new name (two Gateways, two routes on one parent)
        const copy = clone(object);
        copy.metadata.name = `${copy.metadata.name}-copy${randomInt(random, 100)}`;
        list.push(copy);
        return;
      }
      case 2: // an object moved to another namespace
        if (object.metadata.namespace !== undefined) object.metadata.namespace = pick(random, ['default', 'other', 'team-a']);
        return;
      default:
        this.editField(key, object as unknown as Json, random);
        if (key === 'gateways') keepListenerRules(object);
        if (key === 'httpRoutes') keepHttpRuleRules(object);
        if (key === 'backendTlsPolicies') keepSubjectAltNameRules(object);
    }
  }

  private editField(key: SnapshotKey, object: Json, random: Random): void {
    // An object's own kind and apiVersion are the informer's (a GRPCRoute list holds GRPCRoutes).
    const slots = slotsOf(object).filter((slot) => (slot.fieldPath[0] !== 'metadata' || ['namespace', 'labels', 'annotations', 'creationTimestamp'].includes(slot.fieldPath[1] ?? '')) && slot.fieldPath[0] !== 'kind' && slot.fieldPath[0] !== 'apiVersion');
    if (slots.length === 0) return;
    const slot = pick(random, slots);
    const field = slot.fieldPath.at(-1) ?? '';
    const choice = randomInt(random, 5);
    if (choice === 0 && Array.isArray(slot.parent) && slot.parent.length > 1) return setSlot(slot, undefined);
    if (choice === 1 && Array.isArray(slot.parent) && repeatable.has(field)) return void slot.parent.push(clone(slot.value));
    if (choice === 2 && !Array.isArray(slot.parent) && optional.has(field) && slot.fieldPath[0] !== 'metadata' && !required.has(`${key}:${slot.fieldPath.join('.')}`)) return setSlot(slot, undefined);
    this.replace(slot, `${key}:${slot.fieldPath.join('.')}`, field, random);
  }

  /** A value seen at the same field of the same kind, or a hostile one of its type. */
  private replace(slot: Slot, path: string, field: string, random: Random): void {
    const sameType = (v: Json) => typeof v === typeof slot.value && Array.isArray(v) === Array.isArray(slot.value) && (v === null) === (slot.value === null);
    // An array element takes values seen for the array's own field (hostnames' items).
    const seen = (this.byField.get(path) ?? []).flatMap((v) => (Array.isArray(v) && !Array.isArray(slot.value) ? v : [v]));
    // BackendTLSPolicy hostnames are precise (no wildcard): the hostile pools are not theirs.
    // Only listener and route hostnames may be wildcards; filter and policy hostnames are precise.
    const wildcardsAllowed = field !== 'hostname' || path === 'gateways:spec.listeners.hostname';
    const pool = random() < 0.3 && hostile[field] && wildcardsAllowed && !path.startsWith('backendTlsPolicies:') ? hostile[field] : seen;
    const candidates = pool.filter(sameType);
    if (candidates.length > 0) setSlot(slot, clone(pick(random, candidates)));
  }
}
