// TLS passthrough and TCP end to end. Reference scenario 3's shape: a TLS listener in
// Passthrough mode for demo.example.com in front of a TLS echo that serves its own
// certificate; `openssl s_client -servername demo.example.com` must see the BACKEND's
// certificate and the echo text. The same port also terminates other hostnames.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  passthroughBlock,
  plainBlock,
  rawExchange,
  routeSource,
  rule,
  startHttpBackend,
  startProxy,
  startTcpEchoBackend,
  startTlsEchoBackend,
  stopAllProxies,
  streamBackend,
  terminateBlock,
  testPki,
  tlsCertificate,
  tlsProbe,
  waitFor,
  type RunningProxy,
  type StreamBackendServer,
  type TestPki,
} from './proxy-harness.js';

/** Runs `openssl s_client`, sends `line`, waits until the echo of it came back, then quits. */
function opensslSClient(args: string[], line: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`openssl s_client did not echo within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(`\n${line}\n`) || output.endsWith(`${line}\n`)) child.stdin.end();
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
    child.stdin.write(`${line}\n`);
  });
}

describe('proxy: TLS passthrough, TLS-terminated TCP and TCP listeners', function () {
  this.timeout(15_000);
  let proxy: RunningProxy;
  let pki: TestPki;
  let tlsEcho: StreamBackendServer;
  let tcpEcho: StreamBackendServer;
  let address: string;
  let tlsPort: number;
  let passthroughOnlyPort: number;
  let tcpPort: number;
  let tmp: string;
  let caFile: string;

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    [tlsPort, passthroughOnlyPort, tcpPort] = await Promise.all([freePort(address), freePort(address), freePort(address)]);
    tlsEcho = await startTlsEchoBackend(address, 'tlsecho-1', pki.demoRsa);
    tcpEcho = await startTcpEchoBackend(address, 'tcp-1');
    const web = await startHttpBackend(address, 'web-1');
    tmp = await mkdtemp(join(tmpdir(), 'portcullis-proxy-'));
    caFile = join(tmp, 'ca.crt');
    await writeFile(caFile, pki.ca.certPem);
    proxy = await startProxy();
    const answer = await proxy.put(
      config('v1', [
        listener('tls', address, tlsPort, 'TLS', [
          passthroughBlock('passthrough', 'demo.example.com'),
          terminateBlock('web', 'other.example.com', [tlsCertificate('other', pki.other)]),
          terminateBlock('tcp', '*.wild.example.com', [tlsCertificate('wild', pki.wildcard)], 'TLS'),
        ], {
          tlsPassthrough: [{ source: routeSource('demo-example-passthrough', 'TLSRoute'), serverBlock: 'passthrough', hostnames: ['demo.example.com'], backends: [streamBackend('tlsecho', [tlsEcho])] }],
          httpRoutes: [httpRoute('web', 'web', [], [rule({ backends: [httpBackend('web', [web])] })])],
          tcpRoutes: [{ source: routeSource('tcp-in-tls', 'TLSRoute'), serverBlock: 'tcp', hostnames: [], backends: [streamBackend('tcp', [tcpEcho])] }],
        }),
        listener('passthrough-only', address, passthroughOnlyPort, 'TLS', [passthroughBlock('pt', 'demo.example.com'), passthroughBlock('pt-empty', 'empty.example.com')], {
          tlsPassthrough: [
            { source: routeSource('pt', 'TLSRoute'), serverBlock: 'pt', hostnames: [], backends: [streamBackend('tlsecho', [tlsEcho])] },
            { source: routeSource('pt-empty', 'TLSRoute'), serverBlock: 'pt-empty', hostnames: [], backends: [streamBackend('nothing', [])] },
          ],
        }),
        listener('tcp', address, tcpPort, 'TCP', [plainBlock('tcp', 'TCP')], {
          tcpRoutes: [{ source: routeSource('tcp', 'TCPRoute'), serverBlock: 'tcp', hostnames: [], backends: [streamBackend('tcp', [tcpEcho])] }],
        }),
      ]),
    );
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('scenario 3: openssl s_client -servername demo.example.com sees the backend certificate and the echo text', async () => {
    const output = await opensslSClient(['-connect', `${address}:${tlsPort}`, '-servername', 'demo.example.com', '-CAfile', caFile], 'ping-through');
    expect(output).to.contain('Verify return code: 0 (ok)');
    expect(output).to.match(/subject=CN ?= ?demo\.example\.com/);
    expect(output).to.contain('Running on Pod tlsecho-1.\nThrough TLS connection.\n');
    expect(output).to.contain('ping-through');
    // The chain is the backend's: its serial, not one the proxy has.
    const served = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(await opensslShowCerts())?.[0];
    expect(new X509Certificate(served!).serialNumber.toLowerCase()).to.equal(pki.demoRsa.serial);
  });

  async function opensslShowCerts(): Promise<string> {
    return opensslSClient(['-connect', `${address}:${tlsPort}`, '-servername', 'demo.example.com', '-CAfile', caFile], 'x');
  }

  it('passes the stream through unaltered, both half-closes included (Node tls)', async () => {
    const socket = tls.connect({ host: address, port: tlsPort, servername: 'demo.example.com', ca: pki.ca.certPem });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    expect(socket.getPeerCertificate().serialNumber.toLowerCase()).to.equal(pki.demoRsa.serial);
    const payload = 'x'.repeat(200_000);
    socket.end(payload);
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(received).to.equal(`Running on Pod tlsecho-1.\nThrough TLS connection.\n${payload}`);
  });

  it('shares the port: other SNIs are terminated by the proxy (HTTPS and TCP inside TLS)', async () => {
    const web = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: address, port: tlsPort, servername: 'other.example.com', ca: pki.ca.certPem, headers: { host: 'other.example.com' }, path: '/x', agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(web).to.equal('Running on Pod web-1.\n');
    const tcp = await tlsProbe({ host: address, port: tlsPort, servername: 'tcp.wild.example.com', ca: pki.ca.certPem, readGreeting: true });
    expect(tcp).to.include({ authorized: true, subjectAltName: 'DNS:*.wild.example.com', greeting: 'Running on Pod tcp-1.\n' });
  });

  it('TCP listener: relays to the TCPRoute backend with half-close', async () => {
    const socket = net.connect({ host: address, port: tcpPort });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.end('hello tcp\n');
    await new Promise<void>((resolve) => socket.once('end', resolve));
    expect(received).to.equal('Running on Pod tcp-1.\nhello tcp\n');
  });

  it('closes clients without SNI on a passthrough-only port, and unknown SNIs, without an alert (a rejection to the conformance suite)', async () => {
    const noSni = await tlsProbe({ host: address, port: passthroughOnlyPort, ca: pki.ca.certPem }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(noSni?.message).to.match(/disconnected before secure TLS connection/i);
    const unknown = await tlsProbe({ host: address, port: passthroughOnlyPort, servername: 'nobody.example.com', ca: pki.ca.certPem }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(unknown?.message).to.match(/disconnected before secure TLS connection/i);
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_tls_handshake_failures_total{listener="passthrough-only",reason="server-name-required"}')).to.equal(1);
    expect(metrics.get('portcullis_tls_handshake_failures_total{listener="passthrough-only",reason="unknown-server-name"}')).to.equal(1);
  });

  it('closes a passthrough connection whose backend has no endpoints, and counts why', async () => {
    const failure = await tlsProbe({ host: address, port: passthroughOnlyPort, servername: 'empty.example.com', ca: pki.ca.certPem }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure).to.be.instanceOf(Error);
    const metrics = await proxy.metrics();
    expect(metrics.get('portcullis_connections_rejected_total{listener="passthrough-only",reason="no-endpoints"}')).to.equal(1);
  });

  it('closes the client when the backend resets mid-stream (no hang)', async () => {
    // A backend that accepts and resets: the client must see the connection end promptly.
    const resetting = net.createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) => resetting.listen(0, address, () => resolve()));
    const resetPort = await freePort(address);
    const put = await proxy.put(
      config('v2', [
        listener('tcp-reset', address, resetPort, 'TCP', [plainBlock('tcp', 'TCP')], {
          tcpRoutes: [{ source: routeSource('tcp', 'TCPRoute'), serverBlock: 'tcp', hostnames: [], backends: [streamBackend('resetting', [{ address, port: (resetting.address() as net.AddressInfo).port }])] }],
        }),
      ]),
    );
    expect(put.status).to.equal(200);
    const result = await rawExchange(address, resetPort, Buffer.from('data'), 3_000);
    expect(result.ended).to.not.equal('timeout');
    resetting.close();
    await waitFor('connections to drain', async () => ((await proxy.metrics()).get('portcullis_connections_active{listener="tcp-reset"}') === 0 ? true : undefined));
  });
});
