// Frontend client-certificate validation (GEP-91, IR `TlsTermination.clientValidation`)
// with real client certificates: one issued by the trusted client CA, one by a CA the
// listener does not trust, and none. Clients: undici, node:http2, openssl s_client, curl.
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type KeyMaterial } from '../../src/lib/certs.js';
import type { ClientValidation, ServerBlock } from '../../src/ir/types.js';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  terminateBlock,
  testPki,
  tlsCertificate,
  type RunningProxy,
  type TestPki,
  tlsGetAndClose,
} from './proxy-harness.js';

const run = promisify(execFile);

function validatingBlock(id: string, hostname: string, material: KeyMaterial, clientValidation: ClientValidation | undefined): ServerBlock {
  const block = terminateBlock(id, hostname, [tlsCertificate(id, material)]);
  if (clientValidation && block.tls?.mode === 'Terminate') block.tls.clientValidation = clientValidation;
  return block;
}

/** `openssl s_client` output for one connection (stdin closed at once), exit status ignored. */
function opensslSClient(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('openssl', ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
    child.stdin.end();
  });
}

describe('proxy: client certificate validation (frontend mTLS)', function () {
  this.timeout(20_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let clientCa: CertificateAuthority;
  let goodClient: KeyMaterial;
  let untrustedClient: KeyMaterial;
  let address: string;
  let port: number;
  let tmp: string;
  const files: Record<string, string> = {};

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    clientCa = await createCertificateAuthority('Portcullis client CA');
    const strangerCa = await createCertificateAuthority('Some other client CA');
    [goodClient, untrustedClient] = await Promise.all([
      issueCertificate(clientCa, { commonName: 'alice', usage: 'client', algorithm: 'ecdsa-p256' }),
      issueCertificate(strangerCa, { commonName: 'mallory', usage: 'client', algorithm: 'ecdsa-p256' }),
    ]);
    tmp = await mkdtemp(join(tmpdir(), 'portcullis-mtls-'));
    for (const [name, text] of Object.entries({ ca: pki.ca.certPem, goodCert: goodClient.certPem, goodKey: goodClient.keyPem, badCert: untrustedClient.certPem, badKey: untrustedClient.keyPem })) {
      files[name] = join(tmp, name);
      await writeFile(files[name]!, text);
    }
    address = loopbackAddress();
    port = await freePort(address);
    const echo = await startHttpBackend(address, 'echo-1');
    const routeTo = (id: string, hostname: string) => httpRoute(id, id, [hostname], [rule({ backends: [httpBackend('echo', [echo])] })]);
    proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        // The first block is the default for clients without SNI.
        listener('https', address, port, 'HTTPS', [
          validatingBlock('open', 'a.wild.example.com', pki.wildcard, undefined),
          validatingBlock('strict', 'demo.example.com', pki.demoEcdsa, { caCertificatesPem: clientCa.certPem, mode: 'AllowValidOnly' }),
          validatingBlock('fallback', 'other.example.com', pki.other, { caCertificatesPem: clientCa.certPem, mode: 'AllowInsecureFallback' }),
        ], { httpRoutes: [routeTo('strict', 'demo.example.com'), routeTo('fallback', 'other.example.com'), routeTo('open', 'a.wild.example.com')] }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** One GET on a fresh undici connection with the given client certificate; the status, or the error code. */
  async function getWith(host: string, certificate: KeyMaterial | undefined, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): Promise<number | string> {
    const client = new Client(`https://${address}:${port}`, {
      connect: { servername: host, ca: pki.ca.certPem, maxVersion, ...(certificate ? { cert: certificate.certPem, key: certificate.keyPem } : {}) },
    });
    try {
      const response = await client.request({ path: '/', method: 'GET', headers: { host } });
      await response.body.text();
      return response.statusCode;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? 'ERROR';
    } finally {
      await client.destroy();
    }
  }

  const cases: Array<[name: string, host: string, certificate: () => KeyMaterial | undefined, expected: 'served' | 'refused']> = [
    ['AllowValidOnly: a certificate from the trusted CA is served', 'demo.example.com', () => goodClient, 'served'],
    ['AllowValidOnly: a certificate from another CA is refused', 'demo.example.com', () => untrustedClient, 'refused'],
    ['AllowValidOnly: no certificate is refused', 'demo.example.com', () => undefined, 'refused'],
    ['AllowInsecureFallback: a trusted certificate is served', 'other.example.com', () => goodClient, 'served'],
    ['AllowInsecureFallback: an untrusted certificate is served anyway', 'other.example.com', () => untrustedClient, 'served'],
    ['AllowInsecureFallback: no certificate is served anyway', 'other.example.com', () => undefined, 'served'],
    ['no validation on the block: served without a certificate', 'a.wild.example.com', () => undefined, 'served'],
  ];
  for (const [name, host, certificate, expected] of cases) {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      it(`${name} (${version}, undici)`, async () => {
        const outcome = await getWith(host, certificate(), version);
        if (expected === 'served') expect(outcome).to.equal(200);
        else expect(outcome).to.be.a('string');
      });
    }
  }

  it('counts refusals by the OpenSSL reason', async () => {
    const metrics = await proxy.metrics();
    const reasons = [...metrics.keys()].filter((key) => key.startsWith('portcullis_tls_handshake_failures_total')).join('\n');
    expect(reasons).to.match(/reason="client-certificate-unable-to-(get-issuer-cert-locally|verify-leaf-signature)"/);
    expect(reasons).to.match(/reason="handshake-peer-did-not-return-a-certificate"/);
  });

  it('openssl s_client: the CertificateRequest names the client CA on validating blocks only', async () => {
    const strict = await opensslSClient(['-connect', `${address}:${port}`, '-servername', 'demo.example.com', '-CAfile', files.ca!, '-cert', files.goodCert!, '-key', files.goodKey!]);
    expect(strict).to.match(/Acceptable client certificate CA names\s*\n\s*CN ?= ?Portcullis client CA/);
    expect(strict).to.contain('Verify return code: 0 (ok)');
    const open = await opensslSClient(['-connect', `${address}:${port}`, '-servername', 'a.wild.example.com', '-CAfile', files.ca!]);
    expect(open).to.contain('No client certificate CA names sent');
  });

  it('curl --cert: served with the trusted certificate, refused without one', async () => {
    const url = `https://demo.example.com:${port}/`;
    const resolve = `demo.example.com:${port}:${address}`;
    const served = await run('curl', ['-sS', '--resolve', resolve, '--cacert', files.ca!, '--cert', files.goodCert!, '--key', files.goodKey!, url]);
    expect(served.stdout).to.equal('Running on Pod echo-1.\n');
    const refused = await run('curl', ['-sS', '--resolve', resolve, '--cacert', files.ca!, url]).then(
      () => 'served',
      (error: { code?: number; stderr?: string }) => `exit ${error.code}: ${error.stderr ?? ''}`,
    );
    expect(refused).to.match(/^exit [1-9]\d*: curl: \((35|55|56|16)\)/);
  });

  it('HTTP/2 (ALPN h2) with the trusted certificate', async () => {
    const session = http2.connect(`https://${address}:${port}`, { servername: 'demo.example.com', ca: pki.ca.certPem, cert: goodClient.certPem, key: goodClient.keyPem });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': 'demo.example.com' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.end();
      });
      expect(status).to.equal(200);
    } finally {
      session.close();
    }
  });

  it('no SNI, on the default block, with the Host of a validating block: 421, not a bypass', async () => {
    // Node sends no SNI when connecting to an IP literal (RFC 6066 §3).
    const answer = await tlsGetAndClose({ host: address, port, ca: pki.ca.certPem, checkServerIdentity: () => undefined }, 'demo.example.com');
    expect(answer).to.match(/^HTTP\/1\.1 421 /);
  });
});
