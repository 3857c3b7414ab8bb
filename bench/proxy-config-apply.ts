// How long PUT /config takes for a large configuration, and what the proxy's memory
// costs per certificate: N HTTPS server blocks, each with an HTTPRoute of 3 rules, on
// one listener — each block with its own ECDSA certificate, or all sharing one. Measured
// from the request to the 200 answer (validation, compile, SecureContexts, bind), first
// with new certificates, then re-applied with the same certificates (SecureContext
// cache); RSS of the proxy (one worker) after the apply.
//
//   npx tsc -p . && node dist/bench/proxy-config-apply.js [--blocks 1000]
//
// `npm run bench` calls measureProxyConfigApply for measurement 5.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createCertificateAuthority, issueCertificate, type KeyMaterial } from '../src/lib/certs.js';
import { freePort } from '../src/lib/process.js';
import { putConfig, startPortcullisProcess } from './lib/peers.js';
import { corePlan, detectTools, rssBytes } from './lib/system.js';

export interface ConfigApplyTiming {
  blocks: number;
  certificates: number;
  bodyBytes: number;
  /** PUT with certificates the proxy has not seen. */
  firstMs: number;
  /** The same configuration with a new version: SecureContexts come from the cache. */
  cachedMs: number;
  rssBytes: number;
}

function configOf(version: string, port: number, certificates: readonly KeyMaterial[], blocks: number): string {
  const source = (name: string) => ({ kind: 'HTTPRoute', namespace: 'bench', name, creationTimestamp: '2024-01-01T00:00:00Z' });
  const backend = { kind: 'Resolved', name: 'b', weight: 1, protocol: 'HTTP/1.1', endpoints: [{ address: '127.0.0.1', port: 9 }] };
  return JSON.stringify({
    version,
    listeners: [
      {
        name: 'https', address: '127.0.0.1', port, protocol: 'HTTPS',
        serverBlocks: Array.from({ length: blocks }, (_, i) => {
          const c = certificates[i % certificates.length]!;
          return { id: `b${i}`, protocol: 'HTTPS', hostname: `host-${i}.example.com`, sources: ['bench'], tls: { mode: 'Terminate', certificates: [{ id: `c${i}`, source: 'bench', keyType: 'ECDSA', certificateChainPem: c.certPem, privateKeyPem: c.keyPem }] } };
        }),
        httpRoutes: Array.from({ length: blocks }, (_, i) => ({
          source: source(`r${i}`), serverBlock: `b${i}`, hostnames: [],
          rules: ['/a', '/b', '/c'].map((prefix) => ({ matches: [{ path: { type: 'PathPrefix', value: prefix } }], filters: [], backends: [backend] })),
        })),
        grpcRoutes: [], tcpRoutes: [], tlsPassthrough: [],
      },
    ],
  });
}

/** Starts a proxy (one worker), applies the configuration twice, reads its RSS, stops it. `nodeArgs`: e.g. --cpu-prof. */
export async function measureProxyConfigApply(blocks: number, distinctCertificates: boolean, nodeArgs: string[] = []): Promise<ConfigApplyTiming> {
  const ca = await createCertificateAuthority('bench CA');
  const count = distinctCertificates ? blocks : 1;
  const certificates = await Promise.all(Array.from({ length: count }, (_, i) => issueCertificate(ca, { commonName: `host-${i}.example.com`, dnsNames: [`host-${i}.example.com`], algorithm: 'ecdsa-p256' })));
  const tools = await detectTools();
  const { server, adminPort } = await startPortcullisProcess({ ...corePlan(), proxy: corePlan().rest }, tools, { nodeArgs });
  try {
    const port = await freePort();
    const timed = async (body: string) => {
      const started = performance.now();
      const answer = await putConfig(adminPort, JSON.parse(body));
      if (answer.status !== 200) throw new Error(`PUT /config answered ${answer.status}: ${answer.body.slice(0, 500)}`);
      return performance.now() - started;
    };
    const first = configOf('v1', port, certificates, blocks);
    const firstMs = await timed(first);
    const cachedMs = await timed(configOf('v2', port, certificates, blocks));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return { blocks, certificates: count, bodyBytes: first.length, firstMs, cachedMs, rssBytes: rssBytes(server.child.pid!) };
  } finally {
    if (nodeArgs.length > 0) {
      // SIGTERM first: the proxy exits on its own and writes its profile.
      server.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { blocks: { type: 'string', default: '1000' } } });
  const blocks = Number(values.blocks);
  for (const distinct of [true, false]) {
    const t = await measureProxyConfigApply(blocks, distinct);
    console.log(`${blocks} HTTPS blocks, ${t.certificates} certificate(s), ${blocks * 3} rules; body ${(t.bodyBytes / 2 ** 20).toFixed(1)} MiB: PUT ${t.firstMs.toFixed(0)} ms, again (cached) ${t.cachedMs.toFixed(0)} ms; RSS ${(t.rssBytes / 2 ** 20).toFixed(0)} MiB`);
  }
}
