import { expect } from 'chai';
import {
  IrProblemCode,
  IrValidationError,
  MAX_REPORTED_PROBLEMS,
  assertValidConfig,
  validateConfig,
  type HttpRoute,
  type Listener,
  type ProxyConfig,
  type ServerBlock,
  type TlsTermination,
} from '../../src/ir/index.js';
import { CREATED, validConfig } from './fixtures.js';
import { keyMaterialLines, testPki, type TestPki } from './pki.js';

/** Writes a value the types forbid: the validator's whole point. */
function poke(target: object, key: string, value: unknown): void {
  (target as Record<string, unknown>)[key] = value;
}

const http = (c: ProxyConfig): Listener => c.listeners[0]!;
const https = (c: ProxyConfig): Listener => c.listeners[1]!;
const tls = (c: ProxyConfig): Listener => c.listeners[2]!;
const tcp = (c: ProxyConfig): Listener => c.listeners[3]!;
const httpRoute = (c: ProxyConfig): HttpRoute => http(c).httpRoutes[0]!;
const demoBlock = (c: ProxyConfig): ServerBlock => https(c).serverBlocks[0]!;
const demoTls = (c: ProxyConfig): TlsTermination => demoBlock(c).tls as TlsTermination;

interface ProblemRow {
  name: string;
  mutate: (config: ProxyConfig, pki: TestPki) => void;
  code: IrProblemCode;
  path: string;
}

const rows: ProblemRow[] = [
  // Shape
  { name: 'a value of the wrong JSON type', mutate: (c) => poke(c, 'listeners', {}), code: 'TYPE_MISMATCH', path: '/listeners' },
  { name: 'a required field missing (version)', mutate: (c) => poke(c, 'version', undefined), code: 'MISSING_FIELD', path: '/version' },
  { name: 'a field the IR does not define (a typo)', mutate: (c) => poke(http(c), 'adress', '127.0.0.1'), code: 'UNKNOWN_FIELD', path: '/listeners/0/adress' },
  { name: 'an empty version', mutate: (c) => poke(c, 'version', ''), code: 'EMPTY_VALUE', path: '/version' },
  { name: 'a listener protocol outside HTTP, HTTPS, TLS, TCP', mutate: (c) => poke(http(c), 'protocol', 'UDP'), code: 'INVALID_ENUM', path: '/listeners/0/protocol' },
  { name: 'a method outside the Gateway API HTTPMethod enum', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[1]!, 'method', 'get'), code: 'INVALID_ENUM', path: '/listeners/0/httpRoutes/0/rules/0/matches/1/method' },
  // Network
  { name: 'port 0 (ports are 1–65535)', mutate: (c) => poke(http(c), 'port', 0), code: 'INVALID_PORT', path: '/listeners/0/port' },
  { name: 'port 65536', mutate: (c) => poke(http(c), 'port', 65536), code: 'INVALID_PORT', path: '/listeners/0/port' },
  { name: 'a fractional port', mutate: (c) => poke(http(c), 'port', 80.5), code: 'INVALID_PORT', path: '/listeners/0/port' },
  { name: 'an endpoint port out of range', mutate: (c) => poke((tcp(c).tcpRoutes[0]!.backends[0] as { endpoints: object[] }).endpoints[0]!, 'port', 70000), code: 'INVALID_PORT', path: '/listeners/3/tcpRoutes/0/backends/0/endpoints/0/port' },
  { name: 'a listener address that is a name, not an IP', mutate: (c) => poke(http(c), 'address', 'localhost'), code: 'INVALID_IP_ADDRESS', path: '/listeners/0/address' },
  { name: 'an endpoint address that is not an IP', mutate: (c) => poke((httpRoute(c).rules[0]!.backends[0] as { endpoints: object[] }).endpoints[0]!, 'address', '10.244.0.256'), code: 'INVALID_IP_ADDRESS', path: '/listeners/0/httpRoutes/0/rules/0/backends/0/endpoints/0/address' },
  {
    name: 'two listeners on the same address:port (they must be merged)',
    mutate: (c) => { poke(tcp(c), 'address', '127.0.10.1'); poke(tcp(c), 'port', 443); },
    code: 'DUPLICATE_LISTENER',
    path: '/listeners/3',
  },
  {
    name: 'the same IPv6 address written two ways',
    mutate: (c) => { poke(http(c), 'address', '0:0:0:0:0:0:0:1'); poke(http(c), 'port', 1025); },
    code: 'DUPLICATE_LISTENER',
    path: '/listeners/3',
  },
  {
    name: 'a listener on the unspecified address overlapping another on its port',
    mutate: (c) => { poke(tcp(c), 'address', '0.0.0.0'); poke(tcp(c), 'port', 80); },
    code: 'DUPLICATE_LISTENER',
    path: '/listeners/3',
  },
  // Structure
  { name: 'two listeners with one name', mutate: (c) => poke(https(c), 'name', http(c).name), code: 'DUPLICATE_ID', path: '/listeners/1/name' },
  { name: 'two server blocks with one id', mutate: (c) => poke(https(c).serverBlocks[1]!, 'id', demoBlock(c).id), code: 'DUPLICATE_ID', path: '/listeners/1/serverBlocks/1/id' },
  { name: 'two certificates of a block with one id', mutate: (c) => poke(demoTls(c).certificates[1]!, 'id', demoTls(c).certificates[0]!.id), code: 'DUPLICATE_ID', path: '/listeners/1/serverBlocks/0/tls/certificates/1/id' },
  { name: 'two server blocks for one hostname', mutate: (c) => poke(https(c).serverBlocks[1]!, 'hostname', 'demo.example.com'), code: 'DUPLICATE_HOSTNAME', path: '/listeners/1/serverBlocks/1/hostname' },
  {
    name: 'two catch-all server blocks',
    mutate: (c) => http(c).serverBlocks.push({ id: 'second', protocol: 'HTTP', sources: [] }),
    code: 'DUPLICATE_HOSTNAME',
    path: '/listeners/0/serverBlocks/1',
  },
  { name: 'a route naming a server block its listener lacks', mutate: (c) => poke(httpRoute(c), 'serverBlock', 'gateway/default/kong/nope'), code: 'UNKNOWN_SERVER_BLOCK', path: '/listeners/0/httpRoutes/0/serverBlock' },
  { name: 'a TLS block on an HTTPS listener', mutate: (c) => poke(demoBlock(c), 'protocol', 'TLS'), code: 'PROTOCOL_MISMATCH', path: '/listeners/1/serverBlocks/0/protocol' },
  { name: 'TLS settings on a plaintext HTTP block', mutate: (c) => poke(http(c).serverBlocks[0]!, 'tls', { mode: 'Passthrough' }), code: 'PROTOCOL_MISMATCH', path: '/listeners/0/serverBlocks/0/tls' },
  { name: 'an HTTPS block without TLS settings', mutate: (c) => poke(demoBlock(c), 'tls', undefined), code: 'PROTOCOL_MISMATCH', path: '/listeners/1/serverBlocks/0/tls' },
  { name: 'an HTTPS block in Passthrough mode', mutate: (c) => poke(https(c).serverBlocks[1]!, 'tls', { mode: 'Passthrough' }), code: 'PROTOCOL_MISMATCH', path: '/listeners/1/serverBlocks/1/tls/mode' },
  { name: 'a TCP listener with two blocks', mutate: (c) => tcp(c).serverBlocks.push({ id: 'two', protocol: 'TCP', sources: [], hostname: 'a.example.com' }), code: 'PROTOCOL_MISMATCH', path: '/listeners/3/serverBlocks' },
  { name: 'a TCP block with a hostname (plain TCP has none)', mutate: (c) => poke(tcp(c).serverBlocks[0]!, 'hostname', 'tcp.example.com'), code: 'PROTOCOL_MISMATCH', path: '/listeners/3/serverBlocks/0/hostname' },
  {
    name: 'an HTTP route on a passthrough block',
    mutate: (c) => tls(c).httpRoutes.push({ ...structuredClone(httpRoute(c)), serverBlock: 'gateway/default/example-gateway-passthrough/https', hostnames: [] }),
    code: 'ROUTE_NOT_ALLOWED',
    path: '/listeners/2/httpRoutes/0/serverBlock',
  },
  {
    name: 'a passthrough route on a Terminate block',
    mutate: (c) => poke(tls(c).tlsPassthrough[0]!, 'serverBlock', 'gateway/default/example-gateway-passthrough/tcp-over-tls'),
    code: 'ROUTE_NOT_ALLOWED',
    path: '/listeners/2/tlsPassthrough/0/serverBlock',
  },
  { name: 'an HTTPRoute and a GRPCRoute serving intersecting hostnames on one block', mutate: (c) => poke(http(c).grpcRoutes[0]!, 'hostnames', ['api.apps.example.com']), code: 'HTTP_GRPC_HOSTNAME_CONFLICT', path: '/listeners/0/grpcRoutes/0/hostnames' },
  // Names and values
  { name: 'an upper-case hostname (the IR stores them normalized)', mutate: (c) => poke(demoBlock(c), 'hostname', 'Demo.example.com'), code: 'INVALID_HOSTNAME', path: '/listeners/1/serverBlocks/0/hostname' },
  { name: 'a hostname with a trailing dot', mutate: (c) => poke(demoBlock(c), 'hostname', 'demo.example.com.'), code: 'INVALID_HOSTNAME', path: '/listeners/1/serverBlocks/0/hostname' },
  { name: 'a wildcard label that is not the first label alone', mutate: (c) => poke(httpRoute(c), 'hostnames', ['foo.*.example.com']), code: 'INVALID_HOSTNAME', path: '/listeners/0/httpRoutes/0/hostnames/0' },
  { name: 'an IP address as hostname ("IPs are not allowed")', mutate: (c) => poke(httpRoute(c), 'hostnames', ['10.0.0.1']), code: 'INVALID_HOSTNAME', path: '/listeners/0/httpRoutes/0/hostnames/0' },
  { name: 'a label with an underscore (not RFC 1123)', mutate: (c) => poke(httpRoute(c), 'hostnames', ['my_app.example.com']), code: 'INVALID_HOSTNAME', path: '/listeners/0/httpRoutes/0/hostnames/0' },
  { name: 'a wildcard as upstream SNI (must be precise)', mutate: (c) => poke((https(c).httpRoutes[0]!.rules[0]!.backends[0] as { tls: object }).tls, 'serverName', '*.default.svc'), code: 'INVALID_HOSTNAME', path: '/listeners/1/httpRoutes/0/rules/0/backends/0/tls/serverName' },
  { name: 'a route hostname its server block does not serve', mutate: (c) => poke(https(c).httpRoutes[0]!, 'hostnames', ['other.example.com']), code: 'HOSTNAME_OUTSIDE_SERVER_BLOCK', path: '/listeners/1/httpRoutes/0/hostnames/0' },
  { name: 'a route wildcard wider than its block', mutate: (c) => poke(https(c).httpRoutes[1]!, 'hostnames', ['*.com']), code: 'HOSTNAME_OUTSIDE_SERVER_BLOCK', path: '/listeners/1/httpRoutes/1/hostnames/0' },
  { name: 'an SNI hostname on a plain TCP route', mutate: (c) => poke(tcp(c).tcpRoutes[0]!, 'hostnames', ['a.example.com']), code: 'HOSTNAME_OUTSIDE_SERVER_BLOCK', path: '/listeners/3/tcpRoutes/0/hostnames' },
  { name: 'a path regex that does not compile', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[2]!.path!, 'value', '/items/(['), code: 'INVALID_REGEX', path: '/listeners/0/httpRoutes/0/rules/0/matches/2/path/value' },
  { name: 'a header regex with a backreference (outside the RE2-like dialect)', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[3]!.headers![1]!, 'value', '(a)\\1'), code: 'INVALID_REGEX', path: '/listeners/0/httpRoutes/0/rules/0/matches/3/headers/1/value' },
  { name: 'a query regex with lookahead', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[4]!.queryParams![1]!, 'value', '(?=x)x'), code: 'INVALID_REGEX', path: '/listeners/0/httpRoutes/0/rules/0/matches/4/queryParams/1/value' },
  { name: 'a gRPC service regex that does not compile', mutate: (c) => poke(http(c).grpcRoutes[0]!.rules[0]!.matches[1]!.method!, 'service', '*grpc'), code: 'INVALID_REGEX', path: '/listeners/0/grpcRoutes/0/rules/0/matches/1/method/service' },
  { name: 'an Exact path not starting with "/"', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[0]!.path!, 'value', 'exact'), code: 'INVALID_PATH', path: '/listeners/0/httpRoutes/0/rules/0/matches/0/path/value' },
  { name: 'a PathPrefix with "//"', mutate: (c) => poke(httpRoute(c).rules[1]!.matches[0]!.path!, 'value', '/a//b'), code: 'INVALID_PATH', path: '/listeners/0/httpRoutes/0/rules/1/matches/0/path/value' },
  { name: 'a redirect path with CR LF (header injection)', mutate: (c) => poke((httpRoute(c).rules[2]!.filters[0] as { path: object }).path, 'replaceFullPath', '/x\r\nSet-Cookie: a=b'), code: 'INVALID_PATH', path: '/listeners/0/httpRoutes/0/rules/2/filters/0/path/replaceFullPath' },
  { name: 'a header match name that is not a token', mutate: (c) => poke(httpRoute(c).rules[0]!.matches[3]!.headers![0]!, 'name', 'X Version'), code: 'INVALID_HEADER_NAME', path: '/listeners/0/httpRoutes/0/rules/0/matches/3/headers/0/name' },
  {
    name: 'two actions on one header name ("Only one action for a given header name is permitted")',
    mutate: (c) => poke(httpRoute(c).rules[0]!.filters[0]!, 'remove', ['x-gateway']),
    code: 'INVALID_HEADER_NAME',
    path: '/listeners/0/httpRoutes/0/rules/0/filters/0/remove/0',
  },
  { name: 'a header value with CR LF', mutate: (c) => poke((httpRoute(c).rules[0]!.filters[0] as { set: object[] }).set[0]!, 'value', 'a\r\nX-Evil: 1'), code: 'INVALID_HEADER_VALUE', path: '/listeners/0/httpRoutes/0/rules/0/filters/0/set/0/value' },
  { name: 'an Exact gRPC service name with a space', mutate: (c) => poke(http(c).grpcRoutes[0]!.rules[0]!.matches[0]!.method!, 'service', 'grpcecho Echo'), code: 'INVALID_GRPC_NAME', path: '/listeners/0/grpcRoutes/0/rules/0/matches/0/method/service' },
  { name: 'a redirect as a backendRef filter (only header modifiers)', mutate: (c) => poke(httpRoute(c).rules[0]!.backends[0]!, 'filters', [{ type: 'RequestRedirect', statusCode: 302 }]), code: 'INVALID_ENUM', path: '/listeners/0/httpRoutes/0/rules/0/backends/0/filters/0/type' },
  { name: 'filters on a stream backend (TCPRoute)', mutate: (c) => poke(tcp(c).tcpRoutes[0]!.backends[0]!, 'filters', []), code: 'UNKNOWN_FIELD', path: '/listeners/3/tcpRoutes/0/backends/0/filters' },
  { name: 'a negative weight', mutate: (c) => poke(httpRoute(c).rules[0]!.backends[0]!, 'weight', -1), code: 'INVALID_WEIGHT', path: '/listeners/0/httpRoutes/0/rules/0/backends/0/weight' },
  { name: 'a fractional weight', mutate: (c) => poke(tls(c).tlsPassthrough[0]!.backends[0]!, 'weight', 0.5), code: 'INVALID_WEIGHT', path: '/listeners/2/tlsPassthrough/0/backends/0/weight' },
  { name: 'a redirect status outside 301, 302, 303, 307, 308', mutate: (c) => poke(httpRoute(c).rules[2]!.filters[0]!, 'statusCode', 304), code: 'INVALID_STATUS_CODE', path: '/listeners/0/httpRoutes/0/rules/2/filters/0/statusCode' },
  { name: 'an invalidBackendResponse that is not an error status', mutate: (c) => poke(httpRoute(c).rules[3]!.invalidBackendResponse!, 'status', 200), code: 'INVALID_STATUS_CODE', path: '/listeners/0/httpRoutes/0/rules/3/invalidBackendResponse/status' },
  { name: 'a gRPC status outside 1–16', mutate: (c) => poke(http(c).grpcRoutes[0]!.rules[1]!.invalidBackendResponse!, 'grpcStatus', 0), code: 'INVALID_STATUS_CODE', path: '/listeners/0/grpcRoutes/0/rules/1/invalidBackendResponse/grpcStatus' },
  { name: 'a negative timeout', mutate: (c) => poke(httpRoute(c).rules[0]!.timeouts!, 'requestMs', -5), code: 'INVALID_TIMEOUT', path: '/listeners/0/httpRoutes/0/rules/0/timeouts/requestMs' },
  { name: '"backendRequest timeout cannot be longer than request timeout"', mutate: (c) => poke(httpRoute(c).rules[0]!.timeouts!, 'backendRequestMs', 20_000), code: 'INVALID_TIMEOUT', path: '/listeners/0/httpRoutes/0/rules/0/timeouts/backendRequestMs' },
  { name: 'a CORS origin with a path', mutate: (c) => poke(httpRoute(c).rules[0]!.filters[2]!, 'allowOrigins', ['https://www.foo.com/app']), code: 'INVALID_CORS', path: '/listeners/0/httpRoutes/0/rules/0/filters/2/allowOrigins/0' },
  { name: 'a CORS "*" beside other methods (HTTPCORSFilter validation)', mutate: (c) => poke(httpRoute(c).rules[0]!.filters[2]!, 'allowMethods', ['*', 'GET']), code: 'INVALID_CORS', path: '/listeners/0/httpRoutes/0/rules/0/filters/2/allowMethods' },
  { name: 'a CORS maxAge of 0', mutate: (c) => poke(httpRoute(c).rules[0]!.filters[2]!, 'maxAgeSeconds', 0), code: 'INVALID_CORS', path: '/listeners/0/httpRoutes/0/rules/0/filters/2/maxAgeSeconds' },
  { name: 'a mirror share above 1', mutate: (c) => poke(httpRoute(c).rules[0]!.filters[4]!, 'share', { numerator: 4, denominator: 3 }), code: 'INVALID_MIRROR_SHARE', path: '/listeners/0/httpRoutes/0/rules/0/filters/4/share/numerator' },
  { name: 'a mirror to a backend without protocol', mutate: (c) => delete (httpRoute(c).rules[0]!.filters[3] as { backend: { protocol?: string } }).backend.protocol, code: 'MISSING_FIELD', path: '/listeners/0/httpRoutes/0/rules/0/filters/3/backend/protocol' },
  { name: 'a retry with 0 attempts', mutate: (c) => poke(httpRoute(c).rules[0]!.retry!, 'attempts', 0), code: 'INVALID_RETRY', path: '/listeners/0/httpRoutes/0/rules/0/retry/attempts' },
  { name: 'a retry on a 2xx status', mutate: (c) => poke(httpRoute(c).rules[0]!.retry!, 'codes', [200]), code: 'INVALID_STATUS_CODE', path: '/listeners/0/httpRoutes/0/rules/0/retry/codes/0' },
  { name: 'a creationTimestamp that is not RFC 3339', mutate: (c) => poke(httpRoute(c).source, 'creationTimestamp', 'yesterday'), code: 'INVALID_TIMESTAMP', path: '/listeners/0/httpRoutes/0/source/creationTimestamp' },
  { name: 'an empty ALPN protocol id', mutate: (c) => poke(demoTls(c), 'alpnProtocols', ['h2', '']), code: 'INVALID_ALPN', path: '/listeners/1/serverBlocks/0/tls/alpnProtocols/1' },
  {
    name: 'a URI SAN without scheme',
    mutate: (c) => poke((https(c).httpRoutes[0]!.rules[0]!.backends[0] as { tls: { subjectAltNames: object[] } }).tls.subjectAltNames[1]!, 'uri', 'cluster.local/ns/default'),
    code: 'INVALID_SUBJECT_ALT_NAME',
    path: '/listeners/1/httpRoutes/0/rules/0/backends/0/tls/subjectAltNames/1/uri',
  },
  // Rules
  {
    name: 'RequestRedirect and URLRewrite in one rule',
    mutate: (c) => httpRoute(c).rules[1]!.filters.push({ type: 'RequestRedirect', statusCode: 302 }),
    code: 'INCOMPATIBLE_FILTERS',
    path: '/listeners/0/httpRoutes/0/rules/1/filters/0',
  },
  {
    name: 'a filter type repeated in one rule',
    mutate: (c) => httpRoute(c).rules[0]!.filters.push({ type: 'ResponseHeaderModifier', remove: ['server'] }),
    code: 'INCOMPATIBLE_FILTERS',
    path: '/listeners/0/httpRoutes/0/rules/0/filters/5',
  },
  {
    name: '"RequestRedirect filter must not be used together with backendRefs"',
    mutate: (c) => httpRoute(c).rules[2]!.backends.push({ kind: 'Resolved', name: 'x', weight: 1, protocol: 'HTTP/1.1', endpoints: [] }),
    code: 'INCOMPATIBLE_FILTERS',
    path: '/listeners/0/httpRoutes/0/rules/2/filters',
  },
  {
    name: 'ReplacePrefixMatch without exactly one PathPrefix match',
    mutate: (c) => httpRoute(c).rules[1]!.matches.push({ path: { type: 'Exact', value: '/older' } }),
    code: 'REPLACE_PREFIX_NEEDS_PATH_PREFIX',
    path: '/listeners/0/httpRoutes/0/rules/1/filters/0/path',
  },
  { name: 'a rule with no backends, no redirect and no invalidBackendResponse', mutate: (c) => poke(httpRoute(c).rules[1]!, 'backends', []), code: 'MISSING_ACTION', path: '/listeners/0/httpRoutes/0/rules/1' },
  { name: 'a rule whose backend weights are all 0 without invalidBackendResponse', mutate: (c) => poke(httpRoute(c).rules[1]!.backends[0]!, 'weight', 0), code: 'MISSING_ACTION', path: '/listeners/0/httpRoutes/0/rules/1' },
  { name: 'a gRPC rule with no backends and no invalidBackendResponse', mutate: (c) => poke(http(c).grpcRoutes[0]!.rules[1]!, 'invalidBackendResponse', undefined), code: 'MISSING_ACTION', path: '/listeners/0/grpcRoutes/0/rules/1' },
  {
    name: 'upstream TLS on a passthrough backend',
    mutate: (c) => poke(tls(c).tlsPassthrough[0]!.backends[0]!, 'tls', { serverName: 'tlsecho.default.svc', trust: { kind: 'System' } }),
    code: 'TLS_NOT_ALLOWED',
    path: '/listeners/2/tlsPassthrough/0/backends/0/tls',
  },
  {
    name: 'PROXY protocol on an HTTP backend',
    mutate: (c) => poke(httpRoute(c).rules[1]!.backends[0]!, 'proxyProtocol', { version: 'V2' }),
    code: 'PROXY_PROTOCOL_NOT_ALLOWED',
    path: '/listeners/0/httpRoutes/0/rules/1/backends/0/proxyProtocol',
  },
  { name: 'a PROXY protocol version other than V2', mutate: (c) => poke(tls(c).tlsPassthrough[0]!.backends[0]!, 'proxyProtocol', { version: 'V1' }), code: 'INVALID_ENUM', path: '/listeners/2/tlsPassthrough/0/backends/0/proxyProtocol/version' },
  // Certificates
  { name: 'a Terminate block without certificates', mutate: (c) => poke(demoTls(c), 'certificates', []), code: 'MISSING_CERTIFICATE', path: '/listeners/1/serverBlocks/0/tls/certificates' },
  { name: 'a certificate chain with no PEM block', mutate: (c) => poke(demoTls(c).certificates[0]!, 'certificateChainPem', 'not a certificate'), code: 'INVALID_PEM', path: '/listeners/1/serverBlocks/0/tls/certificates/0/certificateChainPem' },
  { name: 'an encrypted private key (no passphrase to open it)', mutate: (c, pki) => poke(demoTls(c).certificates[1]!, 'privateKeyPem', pki.encryptedKeyPem), code: 'INVALID_PEM', path: '/listeners/1/serverBlocks/0/tls/certificates/1/privateKeyPem' },
  { name: 'a CA bundle with no PEM block', mutate: (c) => poke((https(c).serverBlocks[1]!.tls as TlsTermination).clientValidation!, 'caCertificatesPem', ''), code: 'INVALID_PEM', path: '/listeners/1/serverBlocks/1/tls/clientValidation/caCertificatesPem' },
  {
    name: 'a PEM certificate block that is not X.509',
    mutate: (c) => poke(demoTls(c).certificates[0]!, 'certificateChainPem', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'),
    code: 'INVALID_CERTIFICATE',
    path: '/listeners/1/serverBlocks/0/tls/certificates/0/certificateChainPem',
  },
  {
    name: 'a PEM private key block that does not parse',
    mutate: (c) => poke(demoTls(c).certificates[0]!, 'privateKeyPem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n'),
    code: 'INVALID_PRIVATE_KEY',
    path: '/listeners/1/serverBlocks/0/tls/certificates/0/privateKeyPem',
  },
  { name: 'a private key that is not the certificate\'s', mutate: (c, pki) => poke(demoTls(c).certificates[1]!, 'privateKeyPem', pki.strayEcdsaKeyPem), code: 'KEY_CERTIFICATE_MISMATCH', path: '/listeners/1/serverBlocks/0/tls/certificates/1/privateKeyPem' },
  { name: 'an RSA certificate given an ECDSA key', mutate: (c, pki) => poke(demoTls(c).certificates[0]!, 'privateKeyPem', pki.ecdsa.keyPem), code: 'KEY_CERTIFICATE_MISMATCH', path: '/listeners/1/serverBlocks/0/tls/certificates/0/privateKeyPem' },
  { name: 'keyType RSA for an ECDSA key', mutate: (c) => poke(demoTls(c).certificates[1]!, 'keyType', 'RSA'), code: 'KEY_TYPE_MISMATCH', path: '/listeners/1/serverBlocks/0/tls/certificates/1/keyType' },
];

describe('IR validateConfig', function () {
  let pki: TestPki;
  let secretLines: string[];

  before(function () {
    this.timeout(30_000);
    pki = testPki();
    secretLines = keyMaterialLines(pki);
  });

  function expectProblem(value: unknown, code: IrProblemCode, path: string) {
    const result = validateConfig(value);
    if (result.ok) expect.fail(`expected problem ${code} at ${path}, but the config was accepted`);
    const found = result.problems.find((p) => p.code === code && p.path === path);
    const seen = result.problems.map((p) => `${p.code} at ${p.path}: ${p.message}`).join('\n  ');
    expect(found, `expected ${code} at ${path}; got:\n  ${seen}`).to.not.equal(undefined);
    expect(found!.message, 'a problem says what is wrong').to.have.length.greaterThan(10);
    const body = JSON.stringify(result.problems);
    for (const line of secretLines) expect(body, 'no key material in problems').to.not.include(line);
    expect(body, 'no PEM key block in problems').to.not.include('PRIVATE KEY');
    return result.problems;
  }

  it('accepts the valid config (all four listener protocols, every route kind, filter and backend shape)', function () {
    const config = validConfig(pki);
    const result = validateConfig(config);
    if (!result.ok) expect.fail(`valid config rejected:\n  ${result.problems.map((p) => `${p.code} at ${p.path}: ${p.message}`).join('\n  ')}`);
    expect(result.config).to.equal(config);
  });

  it('accepts a config that survived JSON (what the admin API receives)', function () {
    expect(validateConfig(JSON.parse(JSON.stringify(validConfig(pki)))).ok).to.equal(true);
  });

  it('accepts an empty listener list (the proxy then listens nowhere)', function () {
    expect(validateConfig({ version: '1', listeners: [] })).to.deep.equal({ ok: true, config: { version: '1', listeners: [] } });
  });

  for (const row of rows) {
    it(`${row.code}: ${row.name}`, function () {
      const config = validConfig(pki);
      row.mutate(config, pki);
      expectProblem(config, row.code, row.path);
    });
  }

  it('parsed certificates and keys are reused across validations, problems are not: a bad key is reported every time, a cached key against another certificate still mismatches', function () {
    const codes = (config: ProxyConfig): string[] => {
      const result = validateConfig(config);
      return result.ok ? [] : result.problems.map((p) => p.code);
    };
    const bad = validConfig(pki);
    poke(demoTls(bad).certificates[0]!, 'privateKeyPem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    for (let pass = 0; pass < 2; pass++) expect(codes(structuredClone(bad)), `pass ${pass}`).to.deep.equal(['INVALID_PRIVATE_KEY']);
    expect(validateConfig(validConfig(pki)).ok).to.equal(true); // both keys and chains now cached
    const swapped = validConfig(pki);
    poke(demoTls(swapped).certificates[0]!, 'privateKeyPem', pki.ecdsa.keyPem);
    expect(codes(swapped)).to.include('KEY_CERTIFICATE_MISMATCH');
  });

  it('every problem code has a row (or a dedicated test)', function () {
    const covered = new Set<string>([...rows.map((r) => r.code), 'UNREADABLE_INPUT', 'TOO_MANY_PROBLEMS']);
    expect(Object.values(IrProblemCode).filter((code) => !covered.has(code))).to.deep.equal([]);
  });

  it('UNREADABLE_INPUT: a value whose getter throws is reported, not thrown', function () {
    const hostile = { listeners: [], get version(): string { throw new Error('boom'); } };
    expectProblem(hostile, 'UNREADABLE_INPUT', '');
  });

  it(`TOO_MANY_PROBLEMS: the list stops at ${MAX_REPORTED_PROBLEMS} and says so`, function () {
    const listeners = Array.from({ length: 300 }, () => ({}));
    const problems = expectProblem({ version: '1', listeners }, 'TOO_MANY_PROBLEMS', '');
    expect(problems).to.have.length(MAX_REPORTED_PROBLEMS + 1);
  });

  for (const [name, value] of [['null', null], ['a number', 42], ['an array', []], ['a string', 'listeners'], ['nested garbage', { version: 1, listeners: [null, 7, [], { serverBlocks: 'x', httpRoutes: [{ rules: [{ matches: [{ path: 3 }] }] }] }] }]] as const) {
    it(`returns problems, never throws, for ${name}`, function () {
      const result = validateConfig(value);
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.problems.every((p) => typeof p.code === 'string' && typeof p.path === 'string')).to.equal(true);
    });
  }

  it('reports every problem at once, not only the first', function () {
    const config = validConfig(pki);
    poke(http(config), 'port', 0);
    poke(demoBlock(config), 'hostname', 'Demo.example.com');
    poke(httpRoute(config).rules[0]!.backends[0]!, 'weight', -1);
    const result = validateConfig(config);
    expect(result.ok ? [] : result.problems.map((p) => p.code).sort()).to.deep.equal(['INVALID_HOSTNAME', 'INVALID_PORT', 'INVALID_WEIGHT']);
  });

  it('problems serialize as { code, path, message } for the 400 body', function () {
    const result = validateConfig({ version: '', listeners: [] });
    expect(JSON.parse(JSON.stringify(result))).to.deep.equal({ ok: false, problems: [{ code: 'EMPTY_VALUE', path: '/version', message: 'must not be empty' }] });
  });

  it('never echoes a private key pasted into the wrong field', function () {
    const config = validConfig(pki);
    poke(demoBlock(config), 'hostname', pki.rsa.keyPem);
    poke(http(config), 'protocol', pki.ecdsa.keyPem);
    expectProblem(config, 'INVALID_HOSTNAME', '/listeners/1/serverBlocks/0/hostname');
  });

  it('escapes "/" and "~" in pointer segments (RFC 6901)', function () {
    const result = validateConfig({ version: '1', listeners: [], 'a/b~c': true });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).to.deep.equal(['/a~1b~0c']);
  });

  it('assertValidConfig throws an IrValidationError listing the problems', function () {
    const config = validConfig(pki);
    poke(http(config), 'port', 0);
    expect(() => assertValidConfig(config)).to.throw(IrValidationError, /\/listeners\/0\/port/).with.property('code', 'IR_INVALID');
    expect(assertValidConfig(validConfig(pki)).version).to.equal('sha256:0123abcd');
  });

  it('takes a creationTimestamp with fraction and offset', function () {
    const config = validConfig(pki);
    poke(httpRoute(config).source, 'creationTimestamp', '2024-05-01T10:00:00.123456+05:30');
    expect(validateConfig(config).ok).to.equal(true);
    expect(CREATED).to.match(/Z$/);
  });
});
