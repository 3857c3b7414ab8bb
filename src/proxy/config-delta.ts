// What changed between the serving config and the next one, so that an apply costs what
// changed, not what exists. At 1,000 routes a route apply or a Secret change rewrote the
// whole 1 MB+ document: every worker parsed it and recompiled every route table and plan
// (session 10's bench: 34 of a change's ~120 ms). Now the primary, which parses and
// validates the PUT body anyway, compares it with the serving config and sends each
// worker only the new pieces plus "keep element i" for the rest; the worker rebuilds the
// config from its own committed objects, and compile (config-state.ts) reuses what it
// compiled for every object it sees again.
//
// Granularity: a whole listener, or one element of its arrays (a server block, a route).
// Elements are matched by their identity — a block's id, a route's source and block —
// and reused only when JSON-equal (sameParsedJson), so a reused element is exactly what the
// PUT said.
import type { Listener, ProxyConfig } from '../ir/types.js';
import { sameParsedJson } from '../lib/same-json.js';
import { listenerKey } from './config-state.js';

const ARRAY_FIELDS = ['serverBlocks', 'httpRoutes', 'grpcRoutes', 'tcpRoutes', 'tlsPassthrough'] as const;
type ArrayField = (typeof ARRAY_FIELDS)[number];
type Element = Listener[ArrayField][number];

/** One array of a changed listener: an index into the base listener's array, or a new element. */
type ElementsDiff<T> = (number | T)[];

/** One listener of the next config: an index of the base's listener kept whole, or rebuilt from pieces. */
type ListenerDiff<T> =
  | number
  | {
      base: number | undefined;
      /** name, address, port, protocol: everything but the arrays. */
      fields: Omit<Listener, ArrayField>;
      /** Per array: its pieces, or the base listener's whole array (the number -1). */
      arrays: Record<ArrayField, ElementsDiff<T> | -1>;
    };

export interface ConfigDiff<T> {
  version: string;
  listeners: ListenerDiff<T>[];
}

/** What the primary sends a worker whose committed config is `base`: new elements as JSON text. */
export type WireDiff = ConfigDiff<string>;

/**
 * Compares `next` with `base` (both validated): every listener and array element of
 * `next` that `base` has JSON-equal becomes an index into `base`.
 */
export function diffConfig(next: ProxyConfig, base: ProxyConfig): ConfigDiff<Element> {
  const baseIndex = new Map<string, number>();
  base.listeners.forEach((listener, index) => baseIndex.set(listenerKey(listener), index));
  const listeners = next.listeners.map((listener): ListenerDiff<Element> => {
    const index = baseIndex.get(listenerKey(listener));
    const previous = index === undefined ? undefined : base.listeners[index]!;
    if (index !== undefined && sameParsedJson(listener, previous)) return index;
    const arrays = {} as Record<ArrayField, ElementsDiff<Element> | -1>;
    for (const field of ARRAY_FIELDS) arrays[field] = diffElements(listener[field], previous?.[field] ?? []);
    return { base: index, fields: fieldsOf(listener), arrays };
  });
  return { version: next.version, listeners };
}

function diffElements(next: readonly Element[], base: readonly Element[]): ElementsDiff<Element> | -1 {
  if (base.length === 0) return [...next];
  const candidates = new Map<string, number[]>();
  base.forEach((element, index) => {
    const key = identityOf(element);
    const list = candidates.get(key);
    if (list) list.push(index);
    else candidates.set(key, [index]);
  });
  let kept = 0;
  const pieces = next.map((element, position): number | Element => {
    const list = candidates.get(identityOf(element));
    const found = list?.findIndex((index) => sameParsedJson(element, base[index]));
    if (list === undefined || found === undefined || found < 0) return element;
    const [index] = list.splice(found, 1) as [number];
    if (index === position) kept++;
    return index;
  });
  return kept === base.length && next.length === base.length ? -1 : pieces;
}

function fieldsOf(listener: Listener): Omit<Listener, ArrayField> {
  const fields: Partial<Listener> = { ...listener };
  for (const field of ARRAY_FIELDS) delete fields[field];
  return fields as Omit<Listener, ArrayField>;
}

/** What tells elements apart across configs: a block's id; a route's source and block. */
function identityOf(element: Element): string {
  if ('id' in element) return element.id;
  const { source } = element;
  return `${source.kind}/${source.namespace}/${source.name}|${element.serverBlock}`;
}

/** The diff as a worker is sent it: new elements as JSON text (the IPC channel copies strings as they are). */
export function toWire(diff: ConfigDiff<Element>): WireDiff {
  return mapNew(diff, (element) => JSON.stringify(element));
}

/**
 * Rebuilds the config a diff describes on top of `base`, taking `base`'s own objects for
 * everything kept — the identity compile uses to reuse what it built. `parse` turns a
 * new piece into an element.
 */
export function applyDiff<T>(diff: ConfigDiff<T>, base: ProxyConfig, parse: (piece: T) => Element): ProxyConfig {
  const listeners = diff.listeners.map((listener): Listener => {
    if (typeof listener === 'number') return at(base.listeners, listener);
    const previous = listener.base === undefined ? undefined : at(base.listeners, listener.base);
    const rebuilt = { ...listener.fields } as Listener;
    for (const field of ARRAY_FIELDS) {
      const pieces = listener.arrays[field];
      const from: readonly Element[] = previous?.[field] ?? [];
      (rebuilt as unknown as Record<ArrayField, Element[]>)[field] =
        pieces === -1 ? (from as Element[]) : pieces.map((piece) => (typeof piece === 'number' ? at(from, piece) : parse(piece)));
    }
    return rebuilt;
  });
  return { version: diff.version, listeners };
}

/** `next` made of `base`'s objects wherever they are JSON-equal (one process, no workers). */
export function reuseUnchanged(next: ProxyConfig, base: ProxyConfig | undefined): ProxyConfig {
  return base ? applyDiff(diffConfig(next, base), base, (element) => element) : next;
}

function mapNew<T, U>(diff: ConfigDiff<T>, map: (element: T) => U): ConfigDiff<U> {
  return {
    version: diff.version,
    listeners: diff.listeners.map((listener) => {
      if (typeof listener === 'number') return listener;
      const arrays = {} as Record<ArrayField, ElementsDiff<U> | -1>;
      for (const field of ARRAY_FIELDS) {
        const pieces = listener.arrays[field];
        arrays[field] = pieces === -1 ? -1 : pieces.map((piece) => (typeof piece === 'number' ? piece : map(piece)));
      }
      return { ...listener, arrays };
    }),
  };
}

/** A diff names an element the base does not have only if worker and primary disagree: a bug, said loudly. */
function at<T>(array: readonly T[], index: number): T {
  const element = array[index];
  if (element === undefined) throw new Error(`configuration diff refers to element ${index} of ${array.length}: the worker's committed config is not the primary's`);
  return element;
}
