// How long PUT /config takes for a large configuration: N HTTPS server blocks, each with
// its own ECDSA certificate and an HTTPRoute of 3 rules, on one listener. Measured from
// the request to the 200 answer (validation, compile, SecureContexts, bind), first with
// new certificates, then re-applied with the same certificates (SecureContext cache).
//
//   npx tsc -p . && node dist/bench/proxy-config-apply.js [--blocks 1000] [--workers 1]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCertificateAuthority, issueCertificate } from '../src/lib/certs.js';

const { values } = parseArgs({ options: { blocks: { type: 'string', default: '1000' }, workers: { type: 'string', default: '1' } } });
const blocks = Number(values.blocks);

const ca = await createCertificateAuthority('bench CA');
const certificates = await Promise.all(
  Array.from({ length: blocks }, (_, i) => issueCertificate(ca, { commonName: `host-${i}.example.com`, dnsNames: [`host-${i}.example.com`], algorithm: 'ecdsa-p256' })),
);

function configOf(version: string, port: number): string {
  const source = (name: string) => ({ kind: 'HTTPRoute', namespace: 'bench', name, creationTimestamp: '2024-01-01T00:00:00Z' });
  const backend = { kind: 'Resolved', name: 'b', weight: 1, protocol: 'HTTP/1.1', endpoints: [{ address: '127.0.0.1', port: 9 }] };
  return JSON.stringify({
    version,
    listeners: [
      {
        name: 'https', address: '127.0.0.1', port, protocol: 'HTTPS',
        serverBlocks: certificates.map((c, i) => ({
          id: `b${i}`, protocol: 'HTTPS', hostname: `host-${i}.example.com`, sources: ['bench'],
          tls: { mode: 'Terminate', certificates: [{ id: `c${i}`, source: 'bench', keyType: 'ECDSA', certificateChainPem: c.certPem, privateKeyPem: c.keyPem }] },
        })),
        httpRoutes: certificates.map((_c, i) => ({
          source: source(`r${i}`), serverBlock: `b${i}`, hostnames: [],
          rules: ['/a', '/b', '/c'].map((prefix) => ({ matches: [{ path: { type: 'PathPrefix', value: prefix } }], filters: [], backends: [backend] })),
        })),
        grpcRoutes: [], tcpRoutes: [], tlsPassthrough: [],
      },
    ],
  });
}

const proxy = spawn(process.execPath, [fileURLToPath(new URL('../src/proxy/main.js', import.meta.url)), '--admin', '127.0.0.1:0', '--workers', String(values.workers)], { stdio: ['ignore', 'ignore', 'pipe'] });
const adminPort = await new Promise<number>((resolve) => {
  let text = '';
  proxy.stderr!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const match = /"adminPort":(\d+)/.exec(text);
    if (match) resolve(Number(match[1]));
  });
});

async function put(body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: adminPort, method: 'PUT', path: '/config' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
  return { status, ms: performance.now() - started };
}

const port = 20_000 + Math.floor(Math.random() * 20_000);
const first = configOf('v1', port);
console.log(`${blocks} HTTPS blocks, ${blocks} certificates, ${blocks * 3} rules; body ${(first.length / 1024 / 1024).toFixed(1)} MiB; workers ${values.workers}`);
const a = await put(first);
console.log(`PUT with new certificates:      ${a.status} in ${a.ms.toFixed(0)} ms`);
const b = await put(configOf('v2', port));
console.log(`PUT, same certificates (cached): ${b.status} in ${b.ms.toFixed(0)} ms`);
const c = await put(configOf('v3', port));
console.log(`PUT, same certificates (cached): ${c.status} in ${c.ms.toFixed(0)} ms`);
proxy.kill('SIGKILL');
