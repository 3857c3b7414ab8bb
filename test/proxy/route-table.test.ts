import { expect } from 'chai';
import type { GrpcRoute, GrpcRouteMatch, HttpRoute, HttpRouteMatch, HttpRouteRule, Listener, ServerBlock, TcpRoute } from '../../src/ir/index.js';
import { buildRouteTable, compareRouteSources, matchRequest, selectTcpRoute, type RequestFacts, type RouteMatchResult } from '../../src/proxy/route-table.js';

// ---------------------------------------------------------------------------------
// Builders: a route's backend name is what a row expects to win.

const OLD = '2024-01-01T00:00:00Z';
const NEW = '2024-06-01T00:00:00Z';

function rule(backend: string, ...matches: HttpRouteMatch[]): HttpRouteRule {
  return { matches, filters: [], backends: [{ kind: 'Resolved', name: backend, weight: 1, protocol: 'HTTP/1.1', endpoints: [] }] };
}

interface RouteOptions {
  hostnames?: string[];
  created?: string;
  namespace?: string;
  block?: string;
}

function route(name: string, options: RouteOptions, ...rules: HttpRouteRule[]): HttpRoute {
  return {
    source: { kind: 'HTTPRoute', namespace: options.namespace ?? 'default', name, creationTimestamp: options.created ?? OLD },
    serverBlock: options.block ?? 'all',
    hostnames: options.hostnames ?? [],
    rules,
  };
}

/** One route with one rule with one match, named after its backend. */
function simple(backend: string, match: HttpRouteMatch, options: RouteOptions = {}): HttpRoute {
  return route(backend, options, rule(backend, match));
}

function grpcRoute(name: string, options: RouteOptions, ...matches: GrpcRouteMatch[]): GrpcRoute {
  return {
    source: { kind: 'GRPCRoute', namespace: options.namespace ?? 'default', name, creationTimestamp: options.created ?? OLD },
    serverBlock: options.block ?? 'all',
    hostnames: options.hostnames ?? [],
    rules: [{ matches, filters: [], backends: [{ kind: 'Resolved', name, weight: 1, protocol: 'HTTP/2', endpoints: [] }] }],
  };
}

const CATCH_ALL: ServerBlock = { id: 'all', protocol: 'HTTP', sources: [] };

function httpListener(httpRoutes: HttpRoute[], grpcRoutes: GrpcRoute[] = [], serverBlocks: ServerBlock[] = [CATCH_ALL]): Listener {
  return { name: 'test:80', address: '127.0.0.1', port: 80, protocol: 'HTTP', serverBlocks, httpRoutes, grpcRoutes, tcpRoutes: [], tlsPassthrough: [] };
}

function request(path: string, more: Partial<RequestFacts> = {}): RequestFacts {
  const [pathOnly, query] = path.split('?');
  return { host: 'example.com', method: 'GET', headers: {}, path: pathOnly!, ...(query === undefined ? {} : { query }), ...more };
}

/** The winning backend's name, or the kind of non-answer. */
function outcome(result: RouteMatchResult): string {
  switch (result.kind) {
    case 'http':
    case 'grpc':
      return result.rule.backends[0]!.name;
    case 'no-match':
      return `no-match:${result.reason}`;
    case 'misdirected':
      return `misdirected:${result.connectionServerBlock}->${result.requestServerBlock}`;
  }
}

function route1(listener: Listener, facts: RequestFacts): string {
  return outcome(matchRequest(buildRouteTable(listener), facts));
}

const prefix = (value: string): HttpRouteMatch => ({ path: { type: 'PathPrefix', value } });
const exact = (value: string): HttpRouteMatch => ({ path: { type: 'Exact', value } });
const regex = (value: string): HttpRouteMatch => ({ path: { type: 'RegularExpression', value } });
const header = (name: string, value: string) => ({ type: 'Exact' as const, name, value });
const query = (name: string, value: string) => ({ type: 'Exact' as const, name, value });

// ---------------------------------------------------------------------------------

describe('route table: HTTPRoute precedence (HTTPRouteRule.matches docs, continuing on ties)', function () {
  interface Row {
    name: string;
    routes: HttpRoute[];
    request: RequestFacts;
    winner: string;
  }
  // Losers are older and listed first wherever possible, so neither age nor IR order explains a win.
  const rows: Row[] = [
    {
      name: '"Exact" path match beats "Prefix" path match',
      routes: [simple('prefix', prefix('/foo')), simple('exact', exact('/foo'), { created: NEW })],
      request: request('/foo'),
      winner: 'exact',
    },
    {
      name: '"Prefix" path match with largest number of characters',
      routes: [simple('short', prefix('/foo')), simple('long', prefix('/foo/bar'), { created: NEW })],
      request: request('/foo/bar/baz'),
      winner: 'long',
    },
    {
      name: 'RegularExpression (implementation-specific): below "Exact"',
      routes: [simple('regex', regex('/fo+')), simple('exact', exact('/foo'), { created: NEW })],
      request: request('/foo'),
      winner: 'exact',
    },
    {
      name: 'RegularExpression (implementation-specific): above every "Prefix", even a longer one',
      routes: [simple('prefix', prefix('/foo/bar/baz')), simple('regex', regex('/foo/.*'), { created: NEW })],
      request: request('/foo/bar/baz'),
      winner: 'regex',
    },
    {
      name: 'RegularExpression: the longer pattern among regexes',
      routes: [simple('short', regex('/.*')), simple('long', regex('/foo/.*'), { created: NEW })],
      request: request('/foo/x'),
      winner: 'long',
    },
    {
      name: '"Method match" beats no method match',
      routes: [simple('any', prefix('/foo')), simple('get', { ...prefix('/foo'), method: 'GET' }, { created: NEW })],
      request: request('/foo'),
      winner: 'get',
    },
    {
      name: '"Largest number of header matches"',
      routes: [simple('one', { headers: [header('a', '1')] }), simple('two', { headers: [header('a', '1'), header('b', '2')] }, { created: NEW })],
      request: request('/', { headers: { a: '1', b: '2' } }),
      winner: 'two',
    },
    {
      name: '"Largest number of query param matches"',
      routes: [simple('one', { queryParams: [query('a', '1')] }), simple('two', { queryParams: [query('a', '1'), query('b', '2')] }, { created: NEW })],
      request: request('/?a=1&b=2'),
      winner: 'two',
    },
    {
      name: 'path before method: a longer prefix beats a method match',
      routes: [simple('method', { ...prefix('/foo'), method: 'GET' }), simple('path', prefix('/foo/bar'), { created: NEW })],
      request: request('/foo/bar'),
      winner: 'path',
    },
    {
      name: 'method before headers: a method match beats two header matches',
      routes: [simple('headers', { headers: [header('a', '1'), header('b', '2')] }), simple('method', { method: 'GET' }, { created: NEW })],
      request: request('/', { headers: { a: '1', b: '2' } }),
      winner: 'method',
    },
    {
      name: 'headers before query params: one header match beats two query matches',
      routes: [simple('query', { queryParams: [query('a', '1'), query('b', '2')] }), simple('header', { headers: [header('h', '1')] }, { created: NEW })],
      request: request('/?a=1&b=2', { headers: { h: '1' } }),
      winner: 'header',
    },
    {
      name: 'hostname on a tie: "Characters in a matching non-wildcard hostname" (exact beats wildcard)',
      routes: [simple('wildcard', prefix('/'), { hostnames: ['*.example.com'] }), simple('exact', prefix('/'), { hostnames: ['foo.example.com'], created: NEW })],
      request: request('/', { host: 'foo.example.com' }),
      winner: 'exact',
    },
    {
      name: 'hostname on a tie: "Characters in a matching hostname" (the more specific wildcard)',
      routes: [simple('wide', prefix('/'), { hostnames: ['*.example.com'] }), simple('narrow', prefix('/'), { hostnames: ['*.bar.example.com'], created: NEW })],
      request: request('/', { host: 'x.bar.example.com' }),
      winner: 'narrow',
    },
    {
      name: 'hostname on a tie: a listed hostname beats a route without hostnames',
      routes: [simple('any-host', prefix('/')), simple('listed', prefix('/'), { hostnames: ['*.example.com'], created: NEW })],
      request: request('/', { host: 'foo.example.com' }),
      winner: 'listed',
    },
    {
      name: 'ties across routes: "The oldest Route based on creation timestamp"',
      routes: [simple('newer', prefix('/'), { created: NEW, namespace: 'a' }), simple('older', prefix('/'), { created: OLD, namespace: 'z' })],
      request: request('/x'),
      winner: 'older',
    },
    {
      name: 'ties across routes, same timestamp: "first in alphabetical order by {namespace}/{name}"',
      routes: [simple('a', prefix('/'), { namespace: 'b' }), simple('z', prefix('/'), { namespace: 'a' })],
      request: request('/x'),
      winner: 'z',
    },
    {
      name: 'ties within a route: "the FIRST matching rule (in list order)"',
      routes: [route('r', {}, rule('first', prefix('/')), rule('second', prefix('/')))],
      request: request('/x'),
      winner: 'first',
    },
    {
      name: 'a rule competes with its best match ("Each match is independent")',
      routes: [simple('prefix', prefix('/foo')), route('multi', { created: NEW }, rule('multi', prefix('/'), exact('/foo')))],
      request: request('/foo'),
      winner: 'multi',
    },
    {
      name: 'a rule without matches is PathPrefix "/" (the API default)',
      routes: [route('default', {}, rule('default')), simple('specific', prefix('/foo'), { created: NEW })],
      request: request('/foo/x'),
      winner: 'specific',
    },
    {
      name: 'a rule without matches takes what nothing else does',
      routes: [route('default', {}, rule('default')), simple('specific', prefix('/foo'), { created: NEW })],
      request: request('/elsewhere'),
      winner: 'default',
    },
    {
      name: 'only the first header match of a name counts ("Subsequent entries ... MUST be ignored")',
      routes: [simple('dup', { headers: [header('x', '1'), header('X', '2')] }), simple('two', { headers: [header('x', '1'), header('y', '1')] }, { created: NEW })],
      request: request('/', { headers: { x: '1', y: '1' } }),
      winner: 'two',
    },
    {
      name: 'an ignored duplicate header match does not block the match',
      routes: [simple('dup', { headers: [header('x', '1'), header('X', '2')] })],
      request: request('/', { headers: { x: '1' } }),
      winner: 'dup',
    },
  ];

  for (const row of rows) {
    it(`${row.name} → ${row.winner}`, function () {
      expect(route1(httpListener(row.routes), row.request)).to.equal(row.winner);
    });
  }
});

describe('route table: matching across routes (conformance HTTPRouteMatchingAcrossRoutes)', function () {
  // matching-part1: example.com, example.net; PathPrefix / or header version: one → v1.
  // matching-part2: *.com; PathPrefix /v2 or header version: two → v2.
  const listener = httpListener([
    route('matching-part1', { hostnames: ['example.com', 'example.net'] }, rule('infra-backend-v1', prefix('/'), { headers: [header('version', 'one')] })),
    route('matching-part2', { hostnames: ['*.com'] }, rule('infra-backend-v2', prefix('/v2'), { headers: [header('version', 'two')] })),
  ]);
  const rows: Array<[host: string, path: string, headers: Record<string, string>, backend: string]> = [
    ['example.com', '/', {}, 'infra-backend-v1'],
    ['example.com', '/example', {}, 'infra-backend-v1'],
    ['example.net', '/example', {}, 'infra-backend-v1'],
    ['example.com', '/example', { version: 'one' }, 'infra-backend-v1'],
    ['example.com', '/v2', {}, 'infra-backend-v2'],
    ['example.net', '/v2', {}, 'infra-backend-v1'],
    ['example.com', '/v2/example', {}, 'infra-backend-v2'],
    ['example.com', '/', { version: 'two' }, 'infra-backend-v2'],
  ];
  for (const [host, path, headers, backend] of rows) {
    it(`${host}${path} ${JSON.stringify(headers)} → ${backend}`, function () {
      expect(route1(listener, request(path, { host, headers }))).to.equal(backend);
    });
  }
});

describe('route table: match semantics', function () {
  const rows: Array<[name: string, match: HttpRouteMatch, facts: RequestFacts, matches: boolean]> = [
    ['PathPrefix "/abc" matches "/abc"', prefix('/abc'), request('/abc'), true],
    ['PathPrefix "/abc" matches "/abc/"', prefix('/abc'), request('/abc/'), true],
    ['PathPrefix "/abc" matches "/abc/def"', prefix('/abc'), request('/abc/def'), true],
    ['PathPrefix "/abc" does not match "/abcd" (path elements)', prefix('/abc'), request('/abcd'), false],
    ['PathPrefix "/abc/": a trailing "/" is ignored, so it matches "/abc"', prefix('/abc/'), request('/abc'), true],
    ['PathPrefix is case-sensitive', prefix('/abc'), request('/ABC'), false],
    ['PathPrefix "/" matches every path', prefix('/'), request('/anything/at/all'), true],
    ['Exact "/abc" does not match "/abc/"', exact('/abc'), request('/abc/'), false],
    ['Exact "/abc" does not match "/Abc"', exact('/abc'), request('/Abc'), false],
    ['RegularExpression matches the whole path', regex('/items/[0-9]+'), request('/items/12'), true],
    ['RegularExpression does not match a prefix of the path', regex('/items/[0-9]+'), request('/items/12/x'), false],
    ['header names are case-insensitive', { headers: [header('X-Version', 'v2')] }, request('/', { headers: { 'x-version': 'v2' } }), true],
    ['header values are case-sensitive', { headers: [header('x-version', 'v2')] }, request('/', { headers: { 'x-version': 'V2' } }), false],
    ['a missing header does not match', { headers: [header('x-version', 'v2')] }, request('/'), false],
    ['a repeated header is matched as its values joined by ", "', { headers: [header('x-list', 'a, b')] }, request('/', { headers: { 'x-list': ['a', 'b'] } }), true],
    ['a header RegularExpression matches the whole value', { headers: [{ type: 'RegularExpression', name: 'user-agent', value: 'curl/[0-9.]+' }] }, request('/', { headers: { 'user-agent': 'curl/8.5.0' } }), true],
    ['a query param matches its first value ("recommended ... the first value")', { queryParams: [query('id', '1')] }, request('/?id=1&id=2'), true],
    ['a repeated query param does not match on a later value', { queryParams: [query('id', '2')] }, request('/?id=1&id=2'), false],
    ['query values are percent-decoded', { queryParams: [query('q', 'a b')] }, request('/?q=a%20b'), true],
    ['query param names are exact (case-sensitive)', { queryParams: [query('ID', '1')] }, request('/?id=1'), false],
    ['a method match needs that method', { method: 'POST' }, request('/'), false],
    ['"MUST ignore any port value specified in the HTTP Host header"', {}, request('/', { host: 'example.com:8080' }), true],
  ];
  for (const [name, match, facts, matches] of rows) {
    it(`${name} → ${matches ? 'match' : 'no match'}`, function () {
      const result = route1(httpListener([simple('hit', match, { hostnames: ['example.com'] })]), facts);
      expect(result).to.equal(matches ? 'hit' : 'no-match:no-matching-rule');
    });
  }

  it('returns the matched route, rule and match for the proxy (ReplacePrefixMatch needs the prefix)', function () {
    const matched = simple('hit', prefix('/foo'));
    const result = matchRequest(buildRouteTable(httpListener([matched])), request('/foo/bar'));
    expect(result).to.deep.include({ kind: 'http', route: matched, rule: matched.rules[0], ruleIndex: 0, match: matched.rules[0]!.matches[0], serverBlock: CATCH_ALL });
  });

  it('"When no rules matching a request have been successfully attached": no-match (404)', function () {
    expect(route1(httpListener([]), request('/'))).to.equal('no-match:no-matching-rule');
  });
});

describe('route table: server blocks, listener isolation and misdirected requests', function () {
  const cert = { id: 'c', source: 'Secret default/c', keyType: 'RSA' as const, certificateChainPem: '', privateKeyPem: '' };
  const foo: ServerBlock = { id: 'foo', protocol: 'HTTPS', hostname: 'foo.example.com', tls: { mode: 'Terminate', certificates: [cert] }, sources: [] };
  const wild: ServerBlock = { id: 'wild', protocol: 'HTTPS', hostname: '*.example.com', tls: { mode: 'Terminate', certificates: [cert] }, sources: [] };
  const mtls: ServerBlock = { id: 'mtls', protocol: 'HTTPS', hostname: 'mtls.example.com', tls: { mode: 'Terminate', certificates: [cert], clientValidation: { caCertificatesPem: '', mode: 'AllowValidOnly' } }, sources: [] };
  const pass: ServerBlock = { id: 'pass', protocol: 'TLS', hostname: 'pass.example.com', tls: { mode: 'Passthrough' }, sources: [] };
  const listener: Listener = {
    ...httpListener(
      [
        simple('wild-backend', prefix('/'), { block: 'wild', hostnames: ['*.example.com'] }),
        simple('foo-backend', prefix('/foo'), { block: 'foo', hostnames: ['foo.example.com'] }),
        simple('mtls-backend', prefix('/'), { block: 'mtls', hostnames: ['mtls.example.com'] }),
      ],
      [],
      [foo, wild, mtls, pass],
    ),
    protocol: 'TLS',
  };
  const table = buildRouteTable(listener);

  const rows: Array<[name: string, facts: RequestFacts, outcome: string]> = [
    ['the exact block serves its own routes', request('/foo', { host: 'foo.example.com' }), 'foo-backend'],
    ['listener isolation: the wildcard block\'s routes do not serve the exact block\'s host', request('/bar', { host: 'foo.example.com' }), 'no-match:no-matching-rule'],
    ['the wildcard block serves other subdomains', request('/bar', { host: 'bar.example.com' }), 'wild-backend'],
    ['a Host no block serves', request('/', { host: 'example.org' }), 'no-match:no-server-block'],
    ['SNI and Host agree (Host port ignored)', request('/foo', { host: 'foo.example.com:443', tls: { serverBlock: 'foo', serverName: 'foo.example.com' } }), 'foo-backend'],
    ['SNI picked one block, Host names another: 421', request('/', { host: 'bar.example.com', tls: { serverBlock: 'foo', serverName: 'foo.example.com' } }), 'misdirected:foo->wild'],
    ['no SNI (curl to the IP with -H Host): the Host decides', request('/', { host: 'bar.example.com', tls: { serverBlock: 'foo' } }), 'wild-backend'],
    ['no SNI, but the Host\'s block validates client certificates: 421', request('/', { host: 'mtls.example.com', tls: { serverBlock: 'foo' } }), 'misdirected:foo->mtls'],
    ['a Host naming a passthrough block over a terminated connection: 421', request('/', { host: 'pass.example.com', tls: { serverBlock: 'foo' } }), 'misdirected:foo->pass'],
    ['SNI sent, Host no block serves: 404, not 421', request('/', { host: 'example.org', tls: { serverBlock: 'foo', serverName: 'foo.example.com' } }), 'no-match:no-server-block'],
  ];
  for (const [name, facts, expected] of rows) {
    it(`${name} → ${expected}`, function () {
      expect(outcome(matchRequest(table, facts))).to.equal(expected);
    });
  }
});

describe('route table: GRPCRoute precedence (GRPCRouteRule.matches docs)', function () {
  const call = (host: string, service: string, method: string, headers: Record<string, string> = {}) =>
    request(`/${service}/${method}`, { host, method: 'POST', headers: { 'content-type': 'application/grpc', ...headers } });
  const echo = (service?: string, method?: string, headers: ReturnType<typeof header>[] = []): GrpcRouteMatch => ({
    method: { type: 'Exact', ...(service ? { service } : {}), ...(method ? { method } : {}) },
    ...(headers.length > 0 ? { headers } : {}),
  });

  const rows: Array<[name: string, routes: GrpcRoute[], facts: RequestFacts, winner: string]> = [
    [
      '"Characters in a matching non-wildcard hostname" comes first for gRPC (unlike HTTPRoute)',
      [grpcRoute('wildcard-long-service', { hostnames: ['*.example.com'] }, echo('pkg.EchoService', 'Echo')), grpcRoute('exact-host', { hostnames: ['grpc.example.com'], created: NEW }, echo(undefined, 'Echo'))],
      call('grpc.example.com', 'pkg.EchoService', 'Echo'),
      'exact-host',
    ],
    [
      '"Characters in a matching hostname" (the more specific wildcard)',
      [grpcRoute('wide', { hostnames: ['*.example.com'] }, echo('pkg.Echo')), grpcRoute('narrow', { hostnames: ['*.grpc.example.com'], created: NEW }, echo())],
      call('a.grpc.example.com', 'pkg.Echo', 'Echo'),
      'narrow',
    ],
    [
      '"Characters in a matching service"',
      [grpcRoute('method-only', {}, echo(undefined, 'Echo')), grpcRoute('service', { created: NEW }, echo('pkg.Echo'))],
      call('example.com', 'pkg.Echo', 'Echo'),
      'service',
    ],
    [
      '"Characters in a matching method"',
      [grpcRoute('service', {}, echo('pkg.Echo')), grpcRoute('service-and-method', { created: NEW }, echo('pkg.Echo', 'Echo'))],
      call('example.com', 'pkg.Echo', 'Echo'),
      'service-and-method',
    ],
    [
      '"Header matches"',
      [grpcRoute('plain', {}, echo('pkg.Echo', 'Echo')), grpcRoute('with-header', { created: NEW }, echo('pkg.Echo', 'Echo', [header('x-tenant', 'a')]))],
      call('example.com', 'pkg.Echo', 'Echo', { 'x-tenant': 'a' }),
      'with-header',
    ],
    [
      '"The oldest Route based on creation timestamp"',
      [grpcRoute('newer', { created: NEW }, echo('pkg.Echo')), grpcRoute('older', {}, echo('pkg.Echo'))],
      call('example.com', 'pkg.Echo', 'Echo'),
      'older',
    ],
    [
      '"If no matches are specified, the implementation MUST match every gRPC request"',
      [grpcRoute('everything', {})],
      call('example.com', 'any.Service', 'Any'),
      'everything',
    ],
    [
      'a RegularExpression service matches the whole service name',
      [grpcRoute('regex', {}, { method: { type: 'RegularExpression', service: 'pkg\\.E.*' } })],
      call('example.com', 'pkg.Echo', 'Echo'),
      'regex',
    ],
    [
      'a method matcher does not match a path that is not /service/method',
      [grpcRoute('echo', {}, echo('pkg.Echo', 'Echo'))],
      request('/pkg.Echo/Echo/extra', { method: 'POST' }),
      'no-match:no-matching-rule',
    ],
  ];
  for (const [name, routes, facts, winner] of rows) {
    it(`${name} → ${winner}`, function () {
      expect(route1(httpListener([], routes), facts)).to.equal(winner);
    });
  }

  it('the Host selects the route kind: gRPC routes for gRPC hostnames, HTTP routes for the rest', function () {
    const listener = httpListener([simple('web', prefix('/'), { hostnames: ['www.example.com'] })], [grpcRoute('grpc', { hostnames: ['grpc.example.com'] }, echo('pkg.Echo'))]);
    const table = buildRouteTable(listener);
    expect(outcome(matchRequest(table, call('grpc.example.com', 'pkg.Echo', 'Echo')))).to.equal('grpc');
    expect(outcome(matchRequest(table, request('/index.html', { host: 'www.example.com' })))).to.equal('web');
    // "Merging MUST not be done between GRPCRoutes and HTTPRoutes": no fallback to HTTP routes.
    expect(outcome(matchRequest(table, request('/index.html', { host: 'grpc.example.com' })))).to.equal('no-match:no-matching-rule');
    expect(matchRequest(table, call('grpc.example.com', 'pkg.Echo', 'Echo')).kind).to.equal('grpc');
  });
});

describe('route table: TCP routes', function () {
  function tcpRoute(name: string, serverBlock: string, hostnames: string[], created = OLD): TcpRoute {
    return {
      source: { kind: hostnames.length > 0 ? 'TLSRoute' : 'TCPRoute', namespace: 'default', name, creationTimestamp: created },
      serverBlock,
      hostnames,
      backends: [{ kind: 'Resolved', name, weight: 1, endpoints: [] }],
    };
  }
  const cert = { id: 'c', source: 's', keyType: 'RSA' as const, certificateChainPem: '', privateKeyPem: '' };
  const listener: Listener = {
    ...httpListener([], [], [
      { id: 'plain', protocol: 'TCP', sources: [] },
      { id: 'tls', protocol: 'TLS', hostname: '*.example.com', tls: { mode: 'Terminate', certificates: [cert] }, sources: [] },
    ]),
    protocol: 'TLS',
    tcpRoutes: [
      tcpRoute('plain-newer', 'plain', [], NEW),
      tcpRoute('plain-older', 'plain', []),
      tcpRoute('tls-wildcard', 'tls', ['*.example.com']),
      tcpRoute('tls-exact', 'tls', ['db.example.com'], NEW),
      tcpRoute('tls-any', 'tls', []),
    ],
  };
  const table = buildRouteTable(listener);
  const rows: Array<[name: string, block: string, serverName: string | undefined, winner: string | undefined]> = [
    ['a plain TCP block: the oldest TCPRoute', 'plain', undefined, 'plain-older'],
    ['by SNI on a terminating TLS block: exact first', 'tls', 'db.example.com', 'tls-exact'],
    ['by SNI: then wildcard', 'tls', 'web.example.com', 'tls-wildcard'],
    ['without SNI: the route without hostnames', 'tls', undefined, 'tls-any'],
    ['an unknown block: none', 'nope', undefined, undefined],
  ];
  for (const [name, block, serverName, winner] of rows) {
    it(`${name} → ${winner}`, function () {
      expect(selectTcpRoute(table, block, serverName)?.value.source.name).to.equal(winner);
    });
  }
});

describe('compareRouteSources', function () {
  const source = (namespace: string, name: string, creationTimestamp: string) => ({ kind: 'HTTPRoute' as const, namespace, name, creationTimestamp });
  it('orders by creationTimestamp, then {namespace}/{name}', function () {
    const sorted = [source('b', 'a', OLD), source('a', 'z', NEW), source('a', 'z', OLD), source('a', 'b', '2023-12-31T23:59:59.999+00:00')].sort(compareRouteSources);
    expect(sorted.map((s) => `${s.namespace}/${s.name}@${s.creationTimestamp.slice(0, 4)}`)).to.deep.equal(['a/b@2023', 'a/z@2024', 'b/a@2024', 'a/z@2024']);
    expect(sorted[3]!.creationTimestamp).to.equal(NEW);
  });
});
