// Choosing a backend and an endpoint. Built once per configuration.
//
// - HTTP and gRPC rules: smooth weighted round-robin over the rule's backends (nginx's
//   algorithm: deterministic, interleaved, exact over every sum(weights) picks), so a
//   rule with weights 1:1 alternates rather than drifting as random choice would. The
//   Gateway API asks for "proportion of requests" (HTTPBackendRef.weight docs); an
//   InvalidBackend keeps its share, which is answered 500.
// - Streams (TCP, passthrough): weighted random, since connections are few and long.
// - Endpoints of a backend: plain round-robin; a failed attempt moves to the next.

export interface Weighted<T> {
  value: T;
  weight: number;
}

/** nginx's smooth weighted round-robin (ngx_http_upstream_get_peer). Zero weights never win. */
export class SmoothWeightedRoundRobin<T> {
  private readonly items: { value: T; weight: number; current: number }[];
  private readonly total: number;

  constructor(items: readonly Weighted<T>[]) {
    this.items = items.filter((item) => item.weight > 0).map((item) => ({ value: item.value, weight: item.weight, current: 0 }));
    this.total = this.items.reduce((sum, item) => sum + item.weight, 0);
  }

  get size(): number {
    return this.items.length;
  }

  next(): T | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    if (items.length === 1) return items[0]!.value;
    let best = items[0]!;
    for (const item of items) {
      item.current += item.weight;
      if (item.current > best.current) best = item;
    }
    best.current -= this.total;
    return best.value;
  }
}

/** One pick with probability weight/sum(weights); undefined when every weight is zero. */
export function pickWeightedRandom<T>(items: readonly Weighted<T>[], random: () => number = Math.random): T | undefined {
  let total = 0;
  for (const item of items) total += Math.max(0, item.weight);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const item of items) {
    if (item.weight <= 0) continue;
    point -= item.weight;
    if (point < 0) return item.value;
  }
  // Floating-point remainder: the last positive item.
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.weight > 0) return items[i]!.value;
  return undefined;
}

/** Round-robin start points over a fixed list; `attempts` yields each element at most once. */
export class RoundRobin<T> {
  private cursor = 0;

  constructor(readonly items: readonly T[]) {}

  /** Up to `max` distinct items, starting after the previous call's start. */
  attempts(max: number): T[] {
    const count = Math.min(max, this.items.length);
    if (count === 0) return [];
    const start = this.cursor % this.items.length;
    this.cursor = (start + 1) % this.items.length;
    const picked: T[] = [];
    for (let i = 0; i < count; i++) picked.push(this.items[(start + i) % this.items.length]!);
    return picked;
  }
}
