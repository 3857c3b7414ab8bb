// The proxies under test, configured alike: Portcullis, nginx and HAProxy, each with one
// worker pinned to the proxy core, the same certificates (RSA-2048 and ECDSA P-256
// leaves for `localhost`, so load tools send that SNI without /etc/hosts entries), the
// same backend, and three ports each:
//
//   rsa          HTTPS terminated with the RSA certificate, HTTP/1.1 and h2 → backend HTTP/1.1
//   ecdsa        the same with the ECDSA certificate
//   passthrough  TLS routed by SNI `localhost` to the backend's own TLS port, untouched
//
// The backend (nginx when installed, else bench/backend.ts) is pinned with the load.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProxyConfig } from '../../src/ir/types.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import { freePort } from '../../src/lib/process.js';
import { NGINX_STREAM_MODULE, pinned, processTree, startServer, waitForOutput, waitForPort, type CorePlan, type Server, type Tools } from './system.js';

export const BODY = 'Running on Pod bench.\n';
export const BULK_BYTES = 16 * 1024 * 1024;
export const SNI = 'localhost';

/**
 * 'Portcullis baseline': another build of ours, run beside the peers for a before/after
 * comparison (`npm run bench -- --baseline`). 'Node floor': bench/node-floor.ts, a reference
 * for what any Node proxy costs (never a peer in ratios).
 */
export type ProxyName = 'Portcullis' | 'Portcullis baseline' | 'Node floor' | 'nginx' | 'HAProxy';
export const PEERS: readonly ProxyName[] = ['nginx', 'HAProxy'];

export interface Ports {
  rsa: number;
  ecdsa: number;
  passthrough: number;
}

export interface ProxyUnderTest {
  name: ProxyName;
  ports: Ports;
  /** Whether it serves passthrough (nginx needs its stream module). */
  passthrough: boolean;
  /** The processes whose CPU time counts (the whole tree: nginx master and worker). */
  pids(): number[];
  /** The command line and the configuration, for RESULTS.md. */
  command: string;
  configText: string;
  stop(): Promise<void>;
}

export interface Fixture {
  dir: string;
  ca: CertificateAuthority;
  rsa: KeyMaterial & { certFile: string; keyFile: string; combinedFile: string };
  ecdsa: KeyMaterial & { certFile: string; keyFile: string; combinedFile: string };
  backendTls: KeyMaterial & { certFile: string; keyFile: string };
  caFile: string;
  backend: { httpPort: number; tlsPort: number; kind: 'nginx' | 'node'; server: Server };
  cores: CorePlan;
  tools: Tools;
}

async function leaf(dir: string, ca: CertificateAuthority, name: string, algorithm: 'rsa-2048' | 'ecdsa-p256') {
  const material = await issueCertificate(ca, { commonName: SNI, dnsNames: [SNI], algorithm });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const combinedFile = join(dir, `${name}.pem`);
  writeFileSync(certFile, material.certPem);
  writeFileSync(keyFile, material.keyPem, { mode: 0o600 });
  writeFileSync(combinedFile, material.certPem + material.keyPem, { mode: 0o600 });
  return { ...material, certFile, keyFile, combinedFile };
}

export async function createFixture(dir: string, tools: Tools, cores: CorePlan): Promise<Fixture> {
  mkdirSync(dir, { recursive: true });
  // nginx workers drop root privileges: they must be able to read /bulk.
  chmodSync(dir, 0o755);
  const ca = await createCertificateAuthority('Portcullis bench CA');
  const caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, ca.certPem);
  const rsa = await leaf(dir, ca, 'rsa', 'rsa-2048');
  const ecdsa = await leaf(dir, ca, 'ecdsa', 'ecdsa-p256');
  const backendTls = await leaf(dir, ca, 'backend', 'ecdsa-p256');
  writeFileSync(join(dir, 'bulk'), Buffer.alloc(BULK_BYTES, 'x'), { mode: 0o644 });
  const httpPort = await freePort();
  const tlsPort = await freePort();
  let server: Server;
  let kind: 'nginx' | 'node';
  if (tools.nginx) {
    kind = 'nginx';
    const conf = join(dir, 'backend-nginx.conf');
    writeFileSync(conf, `
worker_processes 1;
daemon off;
pid ${dir}/backend-nginx.pid;
error_log ${dir}/backend-nginx.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${httpPort};
    location / { return 200 "${BODY.replace('\n', '\\n')}"; }
  }
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${backendTls.certFile};
    ssl_certificate_key ${backendTls.keyFile};
    location = /bulk { alias ${dir}/bulk; }
    location / { return 200 "${BODY.replace('\n', '\\n')}"; }
  }
}
`);
    server = startServer('backend nginx', ...pinned(cores.rest, 'nginx', ['-e', `${dir}/backend-nginx.error.log`, '-c', conf], tools.taskset));
  } else {
    kind = 'node';
    const script = fileURLToPath(new URL('../backend.js', import.meta.url));
    server = startServer('backend node', ...pinned(cores.rest, process.execPath, [script, '--http-port', String(httpPort), '--tls-port', String(tlsPort), '--cert', backendTls.certFile, '--key', backendTls.keyFile, '--bulk', join(dir, 'bulk')], tools.taskset));
  }
  await Promise.all([waitForPort(httpPort), waitForPort(tlsPort)]).catch((error: Error) => {
    throw new Error(`${error.message}\n${server.output()}`);
  });
  return { dir, ca, caFile, rsa, ecdsa, backendTls, backend: { httpPort, tlsPort, kind, server }, cores, tools };
}

async function threePorts(): Promise<Ports> {
  return { rsa: await freePort(), ecdsa: await freePort(), passthrough: await freePort() };
}

// ---------------------------------------------------------------------------------
// Portcullis

export function portcullisConfig(fixture: Fixture, ports: Ports): ProxyConfig {
  const source = (name: string) => ({ kind: 'HTTPRoute' as const, namespace: 'bench', name, creationTimestamp: '2024-01-01T00:00:00Z' });
  const backend = { kind: 'Resolved' as const, name: 'backend', weight: 1, protocol: 'HTTP/1.1' as const, endpoints: [{ address: '127.0.0.1', port: fixture.backend.httpPort }] };
  const terminating = (name: string, port: number, material: KeyMaterial, keyType: 'RSA' | 'ECDSA') => ({
    name, address: '127.0.0.1', port, protocol: 'HTTPS' as const,
    serverBlocks: [{ id: 'b', protocol: 'HTTPS' as const, tls: { mode: 'Terminate' as const, certificates: [{ id: name, source: 'bench', keyType, certificateChainPem: material.certPem, privateKeyPem: material.keyPem }] }, sources: ['bench'] }],
    httpRoutes: [{ source: source(name), serverBlock: 'b', hostnames: [], rules: [{ matches: [], filters: [], backends: [backend] }] }],
    grpcRoutes: [], tcpRoutes: [], tlsPassthrough: [],
  });
  return {
    version: 'bench',
    listeners: [
      terminating('rsa', ports.rsa, fixture.rsa, 'RSA'),
      terminating('ecdsa', ports.ecdsa, fixture.ecdsa, 'ECDSA'),
      {
        name: 'passthrough', address: '127.0.0.1', port: ports.passthrough, protocol: 'TLS',
        serverBlocks: [{ id: 'p', protocol: 'TLS', hostname: SNI, tls: { mode: 'Passthrough' }, sources: ['bench'] }],
        httpRoutes: [], grpcRoutes: [], tcpRoutes: [],
        tlsPassthrough: [{ source: { ...source('pass'), kind: 'TLSRoute' }, serverBlock: 'p', hostnames: [SNI], backends: [{ kind: 'Resolved', name: 'backend-tls', weight: 1, endpoints: [{ address: '127.0.0.1', port: fixture.backend.tlsPort }] }] }],
      },
    ],
  };
}

export function putConfig(adminPort: number, config: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: adminPort, method: 'PUT', path: '/config' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(config));
  });
}

export const PROXY_MAIN = fileURLToPath(new URL('../../src/proxy/main.js', import.meta.url));

/** Starts `node dist/src/proxy/main.js` on the proxy core; resolves with its admin port. */
export async function startPortcullisProcess(cores: CorePlan, tools: Tools, options: { workers?: number; nodeArgs?: string[]; cwd?: string; main?: string } = {}): Promise<{ server: Server; adminPort: number; args: string[] }> {
  const args = [...(options.nodeArgs ?? []), options.main ?? PROXY_MAIN, '--admin', '127.0.0.1:0', '--workers', String(options.workers ?? 1)];
  const server = startServer('Portcullis', ...pinned(cores.proxy, process.execPath, args, tools.taskset), options.cwd ? { cwd: options.cwd } : {});
  const match = await waitForOutput(server, /"adminPort":(\d+)/);
  return { server, adminPort: Number(match[1]), args };
}

/** `main`: another build's dist/src/proxy/main.js, to compare two versions in one run. */
export async function startPortcullis(fixture: Fixture, nodeArgs: string[] = [], main?: string, name: 'Portcullis' | 'Portcullis baseline' = 'Portcullis'): Promise<ProxyUnderTest> {
  const ports = await threePorts();
  const { server, adminPort, args } = await startPortcullisProcess(fixture.cores, fixture.tools, { nodeArgs, cwd: fixture.dir, ...(main ? { main } : {}) });
  const answer = await putConfig(adminPort, portcullisConfig(fixture, ports));
  if (answer.status !== 200) {
    await server.stop();
    throw new Error(`Portcullis refused the bench configuration (${answer.status}): ${answer.body}`);
  }
  return {
    name, ports, passthrough: true,
    pids: () => processTree(server.child.pid!),
    command: `taskset -c ${fixture.cores.proxy} node ${args.join(' ').replace(PROXY_MAIN, 'dist/src/proxy/main.js')}, then PUT /config`,
    configText: JSON.stringify(portcullisConfig(fixture, ports), (key, value: unknown) => (key === 'privateKeyPem' || key === 'certificateChainPem' ? '[PEM]' : value), 1),
    // SIGTERM first so a --cpu-prof profile is written.
    stop: async () => {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, nodeArgs.length > 0 ? 1_500 : 50));
      await server.stop();
    },
  };
}

// ---------------------------------------------------------------------------------
// nginx

export async function startNginx(fixture: Fixture): Promise<ProxyUnderTest> {
  const ports = await threePorts();
  const dir = join(fixture.dir, 'nginx');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  const server = (port: number, material: Fixture['rsa']) => `
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${material.certFile};
    ssl_certificate_key ${material.keyFile};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }`;
  const passthrough = fixture.tools.nginxStream
    ? `
stream {
  map $ssl_preread_server_name $passthrough_upstream {
    ${SNI} 127.0.0.1:${fixture.backend.tlsPort};
  }
  server {
    listen 127.0.0.1:${ports.passthrough};
    ssl_preread on;
    proxy_pass $passthrough_upstream;
  }
}`
    : '';
  writeFileSync(conf, `
${fixture.tools.nginxStream ? `load_module ${NGINX_STREAM_MODULE};` : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 16000;
events { worker_connections 8000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  ssl_session_cache shared:SSL:10m;
  ssl_session_tickets on;
  upstream backend {
    server 127.0.0.1:${fixture.backend.httpPort};
    keepalive 128;
  }
${server(ports.rsa, fixture.rsa)}
${server(ports.ecdsa, fixture.ecdsa)}
}
${passthrough}
`);
  const args = ['-e', `${dir}/error.log`, '-c', conf];
  const started = startServer('nginx', ...pinned(fixture.cores.proxy, 'nginx', args, fixture.tools.taskset));
  await Promise.all([waitForPort(ports.rsa), waitForPort(ports.ecdsa), ...(fixture.tools.nginxStream ? [waitForPort(ports.passthrough)] : [])]).catch((error: Error) => {
    throw new Error(`${error.message}\n${started.output()}`);
  });
  return {
    name: 'nginx', ports, passthrough: fixture.tools.nginxStream,
    pids: () => processTree(started.child.pid!),
    command: `taskset -c ${fixture.cores.proxy} nginx ${args.join(' ')}`,
    configText: readFileSync(conf, 'utf8'),
    stop: () => started.stop(),
  };
}

// ---------------------------------------------------------------------------------
// HAProxy

export async function startHaproxy(fixture: Fixture): Promise<ProxyUnderTest> {
  const ports = await threePorts();
  const dir = join(fixture.dir, 'haproxy');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, `
global
  nbthread 1
  maxconn 8000
  tune.ssl.cachesize 100000

defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option http-keep-alive

frontend rsa
  bind 127.0.0.1:${ports.rsa} ssl crt ${fixture.rsa.combinedFile} alpn h2,http/1.1
  default_backend backend

frontend ecdsa
  bind 127.0.0.1:${ports.ecdsa} ssl crt ${fixture.ecdsa.combinedFile} alpn h2,http/1.1
  default_backend backend

backend backend
  http-reuse always
  server s1 127.0.0.1:${fixture.backend.httpPort}

frontend passthrough
  mode tcp
  bind 127.0.0.1:${ports.passthrough}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend backend_tls if { req_ssl_sni -i ${SNI} }

backend backend_tls
  mode tcp
  server s1 127.0.0.1:${fixture.backend.tlsPort}
`);
  const args = ['-db', '-f', conf];
  const started = startServer('HAProxy', ...pinned(fixture.cores.proxy, 'haproxy', args, fixture.tools.taskset));
  await Promise.all([waitForPort(ports.rsa), waitForPort(ports.ecdsa), waitForPort(ports.passthrough)]).catch((error: Error) => {
    throw new Error(`${error.message}\n${started.output()}`);
  });
  return {
    name: 'HAProxy', ports, passthrough: true,
    pids: () => processTree(started.child.pid!),
    command: `taskset -c ${fixture.cores.proxy} haproxy ${args.join(' ')}`,
    configText: readFileSync(conf, 'utf8'),
    stop: () => started.stop(),
  };
}

// ---------------------------------------------------------------------------------
// The Node floor (bench/node-floor.ts)

export async function startNodeFloor(fixture: Fixture): Promise<ProxyUnderTest> {
  const ports = await threePorts();
  const script = fileURLToPath(new URL('../node-floor.js', import.meta.url));
  const args = [
    script, '--rsa-port', String(ports.rsa), '--ecdsa-port', String(ports.ecdsa), '--passthrough-port', String(ports.passthrough),
    '--rsa-cert', fixture.rsa.certFile, '--rsa-key', fixture.rsa.keyFile, '--ecdsa-cert', fixture.ecdsa.certFile, '--ecdsa-key', fixture.ecdsa.keyFile,
    '--backend-port', String(fixture.backend.httpPort), '--backend-tls-port', String(fixture.backend.tlsPort),
  ];
  const started = startServer('Node floor', ...pinned(fixture.cores.proxy, process.execPath, args, fixture.tools.taskset));
  await Promise.all([waitForPort(ports.rsa), waitForPort(ports.ecdsa), waitForPort(ports.passthrough)]).catch((error: Error) => {
    throw new Error(`${error.message}\n${started.output()}`);
  });
  return {
    name: 'Node floor', ports, passthrough: true,
    pids: () => processTree(started.child.pid!),
    command: `taskset -c ${fixture.cores.proxy} node ${args.join(' ').replace(script, 'dist/bench/node-floor.js')}`,
    configText: 'no configuration: each TLS connection terminated and relayed to the backend; HTTP/2 streams sent as HTTP/1.1 requests on pooled backend connections (request line and Host out, status and Content-Length in); on the passthrough port each connection relayed untouched to its TLS port (bench/node-floor.ts)',
    stop: () => started.stop(),
  };
}
