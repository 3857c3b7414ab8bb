// A valid ProxyConfig that exercises every part of the IR: the reference guide's
// scenarios (HTTPS termination of demo.example.com with a PathPrefix /echo route,
// passthrough of demo.example.com on 8899), plus HTTP, gRPC, TCP, filters, upstream
// TLS. Each call returns a fresh copy for a test to break.
import type { ProxyConfig, TlsCertificate } from '../../src/ir/index.js';
import type { TestPki } from './pki.js';

export const CREATED = '2024-05-01T10:00:00Z';

export function certificatesOf(pki: TestPki): TlsCertificate[] {
  return [
    { id: 'default/demo.example.com', source: 'Secret default/demo.example.com', keyType: 'RSA', certificateChainPem: pki.rsa.certPem, privateKeyPem: pki.rsa.keyPem },
    { id: 'default/demo.example.com-ecdsa', source: 'Secret default/demo.example.com-ecdsa', keyType: 'ECDSA', certificateChainPem: pki.ecdsa.certPem, privateKeyPem: pki.ecdsa.keyPem },
  ];
}

export function validConfig(pki: TestPki): ProxyConfig {
  return {
    version: 'sha256:0123abcd',
    listeners: [
      {
        name: '127.0.10.1:80',
        address: '127.0.10.1',
        port: 80,
        protocol: 'HTTP',
        serverBlocks: [{ id: 'gateway/default/kong/proxy', protocol: 'HTTP', sources: ['Gateway default/kong listener proxy'] }],
        httpRoutes: [
          {
            source: { kind: 'HTTPRoute', namespace: 'default', name: 'www', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/kong/proxy',
            hostnames: ['www.example.com', '*.apps.example.com'],
            rules: [
              {
                name: 'everything',
                matches: [
                  { path: { type: 'Exact', value: '/exact' } },
                  { path: { type: 'PathPrefix', value: '/prefix/' }, method: 'GET' },
                  { path: { type: 'RegularExpression', value: '/items/[0-9]+' } },
                  { headers: [{ type: 'Exact', name: 'X-Version', value: 'v2' }, { type: 'RegularExpression', name: 'user-agent', value: 'curl/.*' }] },
                  { queryParams: [{ type: 'Exact', name: 'debug', value: '1' }, { type: 'RegularExpression', name: 'id', value: '[a-f0-9]{8}' }] },
                ],
                filters: [
                  { type: 'RequestHeaderModifier', set: [{ name: 'X-Gateway', value: 'portcullis' }], add: [{ name: 'X-Trace', value: 'a,b' }], remove: ['X-Internal'] },
                  { type: 'ResponseHeaderModifier', set: [{ name: 'Cache-Control', value: 'no-store' }] },
                  {
                    type: 'CORS',
                    allowOrigins: ['https://www.foo.com', 'https://*.bar.com:8443', 'http://*'],
                    allowCredentials: true,
                    allowMethods: ['GET', 'PUT'],
                    allowHeaders: ['x-header-1'],
                    exposeHeaders: ['*'],
                    maxAgeSeconds: 3600,
                  },
                  { type: 'RequestMirror', backend: { kind: 'Resolved', name: 'Service default/shadow port 80', weight: 1, protocol: 'HTTP/1.1', endpoints: [{ address: '10.244.0.9', port: 80 }] } },
                  { type: 'RequestMirror', backend: { kind: 'Invalid', name: 'Service default/gone port 80', weight: 1, reason: 'Service default/gone not found' }, share: { numerator: 1, denominator: 3 } },
                ],
                backends: [
                  { kind: 'Resolved', name: 'Service default/echo port 1027', weight: 90, protocol: 'HTTP/1.1', endpoints: [{ address: '10.244.0.5', port: 1027 }, { address: 'fd00::5', port: 1027 }] },
                  { kind: 'Invalid', name: 'Service default/missing port 80', weight: 10, reason: 'Service default/missing not found' },
                ],
                timeouts: { requestMs: 10_000, backendRequestMs: 5_000 },
                retry: { codes: [500, 503], attempts: 2, backoffMs: 100 },
              },
              {
                matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
                filters: [{ type: 'URLRewrite', hostname: 'new.example.com', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } }],
                backends: [{ kind: 'Resolved', name: 'Service default/echo port 1027', weight: 1, protocol: 'HTTP/1.1', endpoints: [] }],
              },
              {
                matches: [{ path: { type: 'Exact', value: '/moved' } }],
                filters: [{ type: 'RequestRedirect', scheme: 'https', hostname: 'www.example.com', port: 443, statusCode: 301, path: { type: 'ReplaceFullPath', replaceFullPath: '/new-home' } }],
                backends: [],
              },
              {
                matches: [{ path: { type: 'PathPrefix', value: '/broken' } }],
                filters: [],
                backends: [{ kind: 'Invalid', name: 'Service other/api port 80', weight: 1, reason: 'ReferenceGrant missing' }],
                invalidBackendResponse: { status: 500, reason: 'every backendRef is invalid' },
              },
            ],
          },
        ],
        grpcRoutes: [
          {
            source: { kind: 'GRPCRoute', namespace: 'default', name: 'grpc', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/kong/proxy',
            hostnames: ['grpc.example.com'],
            rules: [
              {
                matches: [
                  { method: { type: 'Exact', service: 'grpcecho.Echo', method: 'Echo' }, headers: [{ type: 'Exact', name: 'x-tenant', value: 'a' }] },
                  { method: { type: 'RegularExpression', service: 'grpcecho\\..*' } },
                ],
                filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-via', value: 'portcullis' }] }],
                backends: [{ kind: 'Resolved', name: 'Service default/grpc-echo port 9000', weight: 1, protocol: 'HTTP/2', endpoints: [{ address: '10.244.0.6', port: 9000 }] }],
              },
              { matches: [], filters: [], backends: [], invalidBackendResponse: { grpcStatus: 14, reason: 'Service default/gone not found' } },
            ],
          },
        ],
        tcpRoutes: [],
        tlsPassthrough: [],
      },
      {
        name: '127.0.10.1:443',
        address: '127.0.10.1',
        port: 443,
        protocol: 'HTTPS',
        serverBlocks: [
          {
            id: 'gateway/default/kong/https',
            protocol: 'HTTPS',
            hostname: 'demo.example.com',
            tls: { mode: 'Terminate', certificates: certificatesOf(pki), alpnProtocols: ['h2', 'http/1.1'] },
            sources: ['Gateway default/kong listener https'],
          },
          {
            id: 'gateway/default/kong/wildcard',
            protocol: 'HTTPS',
            hostname: '*.example.com',
            tls: { mode: 'Terminate', certificates: certificatesOf(pki).slice(1), clientValidation: { caCertificatesPem: pki.ecdsa.certPem, mode: 'AllowValidOnly' } },
            sources: ['Gateway default/kong listener wildcard'],
          },
        ],
        httpRoutes: [
          {
            source: { kind: 'HTTPRoute', namespace: 'default', name: 'demo-example', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/kong/https',
            hostnames: ['demo.example.com'],
            rules: [
              {
                matches: [{ path: { type: 'PathPrefix', value: '/echo' } }],
                filters: [],
                backends: [
                  {
                    kind: 'Resolved',
                    name: 'Service default/echo port 1027',
                    weight: 1,
                    protocol: 'HTTP/2',
                    endpoints: [{ address: '10.244.0.5', port: 1027 }],
                    tls: {
                      serverName: 'echo.default.svc',
                      trust: { kind: 'CaBundle', caCertificatesPem: pki.rsa.certPem },
                      subjectAltNames: [{ type: 'Hostname', hostname: 'echo.default.svc' }, { type: 'URI', uri: 'spiffe://cluster.local/ns/default/sa/echo' }],
                      clientCertificate: certificatesOf(pki)[1]!,
                    },
                  },
                ],
              },
            ],
          },
          {
            source: { kind: 'Ingress', namespace: 'default', name: 'demo-example-com', creationTimestamp: '2024-05-01T10:00:00.5+02:00' },
            serverBlock: 'gateway/default/kong/wildcard',
            hostnames: ['*.example.com'],
            rules: [
              {
                matches: [{ path: { type: 'PathPrefix', value: '/' } }],
                filters: [],
                backends: [{ kind: 'Resolved', name: 'Service default/echo port 1027', weight: 1, protocol: 'HTTP/1.1', endpoints: [{ address: '10.244.0.5', port: 1027 }], tls: { serverName: 'echo.default.svc', trust: { kind: 'System' } } }],
              },
            ],
          },
        ],
        grpcRoutes: [],
        tcpRoutes: [],
        tlsPassthrough: [],
      },
      {
        name: '127.0.10.2:8899',
        address: '127.0.10.2',
        port: 8899,
        protocol: 'TLS',
        serverBlocks: [
          { id: 'gateway/default/example-gateway-passthrough/https', protocol: 'TLS', hostname: 'demo.example.com', tls: { mode: 'Passthrough' }, sources: ['Gateway default/example-gateway-passthrough listener https'] },
          { id: 'gateway/default/example-gateway-passthrough/tcp-over-tls', protocol: 'TLS', hostname: 'tcp.example.com', tls: { mode: 'Terminate', certificates: certificatesOf(pki).slice(0, 1) }, sources: [] },
        ],
        httpRoutes: [],
        grpcRoutes: [],
        tcpRoutes: [
          {
            source: { kind: 'TCPRoute', namespace: 'default', name: 'tcp-echo', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/example-gateway-passthrough/tcp-over-tls',
            hostnames: [],
            backends: [{ kind: 'Resolved', name: 'Service default/echo port 1025', weight: 1, endpoints: [{ address: '10.244.0.5', port: 1025 }] }],
          },
        ],
        tlsPassthrough: [
          {
            source: { kind: 'TLSRoute', namespace: 'default', name: 'demo-example-passthrough', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/example-gateway-passthrough/https',
            hostnames: ['demo.example.com'],
            backends: [{ kind: 'Resolved', name: 'Service default/tlsecho port 1030', weight: 1, endpoints: [{ address: '10.244.0.7', port: 1030 }], proxyProtocol: { version: 'V2' } }],
          },
        ],
      },
      {
        name: '[::1]:1025',
        address: '::1',
        port: 1025,
        protocol: 'TCP',
        serverBlocks: [{ id: 'gateway/default/tcp/echo', protocol: 'TCP', sources: ['Gateway default/tcp listener echo'] }],
        httpRoutes: [],
        grpcRoutes: [],
        tcpRoutes: [
          {
            source: { kind: 'TCPRoute', namespace: 'default', name: 'tcp', creationTimestamp: CREATED },
            serverBlock: 'gateway/default/tcp/echo',
            hostnames: [],
            backends: [{ kind: 'Resolved', name: 'Service default/echo port 1025', weight: 1, endpoints: [{ address: '10.244.0.5', port: 1025 }] }],
          },
        ],
        tlsPassthrough: [],
      },
    ],
  };
}
