// An apply costs what changed: the primary sends workers a diff from the serving config
// (config-delta.ts) and compile reuses what it built for every IR object it sees again
// (config-state.ts). Pure functions and one real compile; the workers' side is in
// proxy-workers.test.ts.
import { expect } from 'chai';
import type { ProxyConfig } from '../../src/ir/types.js';
import { applyDiff, diffConfig, reuseUnchanged, toWire } from '../../src/proxy/config-delta.js';
import { compileConfig, listenerKey, SecureContextCache } from '../../src/proxy/config-state.js';
import { DEFAULT_PROXY_OPTIONS } from '../../src/proxy/proxy-options.js';
import { UpstreamRegistry } from '../../src/proxy/upstream-pools.js';
import { WorkerApplies } from '../../src/proxy/workers.js';
import type { Logger } from '../../src/lib/log.js';
import { config, httpBackend, httpRoute, listener, plainBlock, rule } from './proxy-harness.js';

const endpoint = (last: number) => ({ address: `10.0.0.${last}`, port: 8080 });
const route = (name: string, last: number, path = '/') =>
  httpRoute(name, 'web', [`${name}.example.com`], [rule({ matches: [{ path: { type: 'PathPrefix', value: path } }], backends: [httpBackend(`svc-${name}`, [endpoint(last)])] })]);
const web = (port: number, routes: ReturnType<typeof route>[]) => listener(`127.0.0.1:${port}`, '127.0.0.1', port, 'HTTP', [plainBlock('web', 'HTTP')], { httpRoutes: routes });
/** As the admin API holds a config: parsed from JSON. */
const parsed = (value: ProxyConfig): ProxyConfig => JSON.parse(JSON.stringify(value)) as ProxyConfig;
/** What a worker rebuilds from the primary's message. */
const overWire = (next: ProxyConfig, base: ProxyConfig) => applyDiff(toWire(diffConfig(next, base)), base, (piece) => JSON.parse(piece));
const newPieces = (next: ProxyConfig, base: ProxyConfig) => JSON.stringify(toWire(diffConfig(next, base))).match(/\\"source\\"|\\"id\\"/g)?.length ?? 0;

describe('proxy: config diff (what a PUT sends the workers)', () => {
  const base = parsed(config('v1', [web(8080, [route('a', 1), route('b', 2), route('c', 3)]), web(8081, [route('d', 4)])]));

  it('an unchanged listener is the base listener itself; nothing of it travels', () => {
    const next = parsed(config('v2', [web(8080, [route('a', 1), route('b', 2), route('c', 3)]), web(8081, [route('d', 4), route('e', 5)])]));
    const rebuilt = overWire(next, base);
    expect(rebuilt).to.deep.equal(next);
    expect(rebuilt.version).to.equal('v2');
    expect(rebuilt.listeners[0]).to.equal(base.listeners[0]);
    expect(rebuilt.listeners[1]!.httpRoutes[0]).to.equal(base.listeners[1]!.httpRoutes[0]);
    expect(rebuilt.listeners[1]!.serverBlocks, 'an array kept whole is the base array').to.equal(base.listeners[1]!.serverBlocks);
    expect(newPieces(next, base), 'only route e travels').to.equal(1);
  });

  it('a route added, one changed and one removed: only the added and the changed travel', () => {
    const next = parsed(config('v2', [web(8080, [route('a', 1), route('b', 9), route('x', 7)]), web(8081, [route('d', 4)])]));
    const rebuilt = overWire(next, base);
    expect(rebuilt).to.deep.equal(next);
    expect(rebuilt.listeners[0]!.httpRoutes[0]).to.equal(base.listeners[0]!.httpRoutes[0]);
    expect(rebuilt.listeners[0]!.httpRoutes[1]).not.to.equal(base.listeners[0]!.httpRoutes[1]);
    expect(rebuilt.listeners[1]).to.equal(base.listeners[1]);
    expect(newPieces(next, base)).to.equal(2);
  });

  it('elements are matched by identity, not position: reordered routes and two with the same source each take one base element', () => {
    const twice = parsed(config('v1', [web(8080, [route('a', 1, '/one'), route('a', 1, '/two'), route('b', 2)])]));
    const next = parsed(config('v2', [web(8080, [route('b', 2), route('a', 1, '/two'), route('a', 1, '/one')])]));
    const rebuilt = overWire(next, twice);
    expect(rebuilt).to.deep.equal(next);
    const [b, two, one] = rebuilt.listeners[0]!.httpRoutes;
    const [baseOne, baseTwo, baseB] = twice.listeners[0]!.httpRoutes;
    expect(b).to.equal(baseB);
    expect(two).to.equal(baseTwo);
    expect(one).to.equal(baseOne);
    expect(newPieces(next, twice)).to.equal(0);
  });

  it('a new listener and a listener moved to another port travel whole; a dropped one is gone', () => {
    const next = parsed(config('v2', [web(9090, [route('a', 1), route('b', 2), route('c', 3)]), web(8082, [route('f', 6)])]));
    const rebuilt = overWire(next, base);
    expect(rebuilt).to.deep.equal(next);
    expect(rebuilt.listeners.map(listenerKey)).to.deep.equal(['127.0.0.1|9090', '127.0.0.1|8082']);
    expect(newPieces(next, base)).to.equal(6); // three routes and a block on 9090, a route and a block on 8082
  });

  it('a worker whose committed config lacks what the diff names fails loudly instead of serving something else', () => {
    const next = parsed(config('v2', [web(8080, [route('a', 1), route('b', 2), route('c', 3), route('z', 8)]), web(8081, [route('d', 4)])]));
    const older = parsed(config('v0', [web(8080, [route('a', 1)])]));
    expect(() => applyDiff(toWire(diffConfig(next, base)), older, (piece) => JSON.parse(piece))).to.throw(/refers to element 1 of 1: the worker's committed config is not the primary's/);
  });

  it('one process without workers: reuseUnchanged gives the same result, and the first config as it is', () => {
    const next = parsed(config('v2', [web(8080, [route('a', 1), route('b', 9)]), web(8081, [route('d', 4)])]));
    const rebuilt = reuseUnchanged(next, base);
    expect(rebuilt).to.deep.equal(next);
    expect(rebuilt.listeners[1]).to.equal(base.listeners[1]);
    expect(reuseUnchanged(next, undefined)).to.equal(next);
  });
});

describe('proxy: compile reuses what the serving config built', () => {
  const deps = () => ({ contexts: new SecureContextCache(undefined), upstreams: new UpstreamRegistry(DEFAULT_PROXY_OPTIONS), options: DEFAULT_PROXY_OPTIONS });
  const v1 = parsed(config('v1', [web(8080, [route('a', 1), route('b', 2)]), web(8081, [route('d', 4)])]));
  const v2 = parsed(config('v2', [web(8080, [route('a', 1), route('b', 3)]), web(8081, [route('d', 4)])]));

  it('an unchanged listener keeps its route table and plans; a changed one reuses the plans of its unchanged rules', () => {
    const dependencies = deps();
    const first = compileConfig(v1, dependencies);
    const next = reuseUnchanged(v2, first.ir);
    const second = compileConfig(next, dependencies, first);
    const [oldWeb, oldOther] = [first.listeners.get('127.0.0.1|8080')!, first.listeners.get('127.0.0.1|8081')!];
    const [newWeb, newOther] = [second.listeners.get('127.0.0.1|8080')!, second.listeners.get('127.0.0.1|8081')!];
    expect(newOther.routeTable).to.equal(oldOther.routeTable);
    expect(newOther.generation).to.equal(second.generation);
    expect(newWeb.routeTable).not.to.equal(oldWeb.routeTable);
    const [ruleA, ruleB] = next.listeners[0]!.httpRoutes.map((r) => r.rules[0]!);
    expect(newWeb.httpPlan(ruleA!)).to.equal(oldWeb.httpPlan(ruleA!));
    expect(newWeb.httpPlan(ruleB!)?.rule.backends[0]).to.deep.include({ endpoints: [endpoint(3)] });
    expect(second.reuse).to.deep.equal({ listeners: 1, rulePlans: 1, compiledRulePlans: 1 });
    // A config parsed afresh shares no object: everything is compiled again.
    expect(compileConfig(v2, dependencies, first).reuse).to.deep.equal({ listeners: 0, rulePlans: 0, compiledRulePlans: 3 });
  });

  it('upstream pools of reused plans outlive the generation that made them and go with the last one using them', () => {
    const dependencies = deps();
    const first = compileConfig(v1, dependencies);
    expect(dependencies.upstreams.size).to.equal(3);
    const second = compileConfig(reuseUnchanged(v2, first.ir), dependencies, first);
    expect(dependencies.upstreams.size, '10.0.0.1, .2, .3 and .4').to.equal(4);
    first.generation.retire(); // no connection holds it: disposed now
    expect(dependencies.upstreams.size, '10.0.0.2 went with v1; .1 and .4 are v2s too').to.equal(3);
    second.generation.retire();
    expect(dependencies.upstreams.size).to.equal(0);
  });

  it('a retired config lends nothing: its pools may be closed already', () => {
    const dependencies = deps();
    const first = compileConfig(v1, dependencies);
    const next = reuseUnchanged(v2, first.ir);
    first.generation.retire();
    const second = compileConfig(next, dependencies, first);
    expect(second.reuse).to.deep.equal({ listeners: 0, rulePlans: 0, compiledRulePlans: 3 });
    expect(dependencies.upstreams.size).to.equal(3);
  });
});

describe('proxy: a worker applies a diff only on top of the base it names', () => {
  const v1 = parsed(config('v1', [web(8080, [route('a', 1)])]));
  const v2 = parsed(config('v2', [web(8080, [route('a', 1), route('b', 2)])]));
  const errors: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn() {}, error: (msg) => void errors.push(msg), child: () => log };
  const whole = (apply: number, value: ProxyConfig) => ({ type: 'prepare' as const, id: apply, apply, config: JSON.stringify(value) });
  const diff = (apply: number, base: number, value: ProxyConfig, from: ProxyConfig) => ({ type: 'prepare-diff' as const, id: apply, apply, base, diff: toWire(diffConfig(value, from)) });

  it('builds on the committed apply; a worker that missed it, or has not committed yet, asks for the whole', () => {
    const applies = new WorkerApplies(log);
    expect(applies.configOf(diff(1, 0, v2, v1), v1), 'nothing committed yet').to.equal(undefined);
    const first = applies.configOf(whole(1, v1), undefined)!;
    expect(first).to.deep.equal(v1);
    applies.prepared(1, true);
    applies.committed();
    const next = applies.configOf(diff(2, 1, v2, v1), first);
    expect(next).to.deep.equal(v2);
    expect(next!.listeners[0]!.httpRoutes[0]).to.equal(first.listeners[0]!.httpRoutes[0]);
    expect(applies.configOf(diff(3, 2, v1, v2), first), 'apply 2 was prepared, never committed').to.equal(undefined);
  });

  it('a prepare that failed or was rolled back leaves the base where it was', () => {
    const applies = new WorkerApplies(log);
    applies.configOf(whole(1, v1), undefined);
    applies.prepared(1, true);
    applies.committed();
    applies.prepared(2, false);
    applies.committed();
    applies.prepared(3, true);
    applies.rolledBack();
    applies.committed();
    expect(applies.configOf(diff(4, 1, v2, v1), v1)).to.deep.equal(v2);
    expect(applies.configOf(diff(4, 3, v2, v1), v1)).to.equal(undefined);
  });

  it('a diff that does not fit the committed config is refused with an error logged, not applied', () => {
    const applies = new WorkerApplies(log);
    applies.configOf(whole(1, v2), undefined);
    applies.prepared(1, true);
    applies.committed();
    const empty = parsed(config('v0', [web(8080, [])]));
    errors.length = 0;
    expect(applies.configOf(diff(2, 1, v2, v1), empty), 'route a is not in it').to.equal(undefined);
    expect(errors).to.deep.equal(['a configuration diff does not fit the committed configuration; asking for the whole']);
  });
});
