// Connections across a reload and a shutdown. After a PUT, keep-alive connections of a
// dropped listener, or terminated with a certificate the new config no longer serves,
// are closed once idle for a second (clients reconnect to the new config); others stay. On
// SIGTERM the proxy stops accepting, lets requests in flight finish within
// --drain-timeout-ms, cuts what is left, and exits 0.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Client } from 'undici';
import {
  closeAllBackends,
  config,
  freePort,
  httpBackend,
  httpRoute,
  listener,
  loopbackAddress,
  plainBlock,
  rule,
  startHttpBackend,
  startProxy,
  stopAllProxies,
  terminateBlock,
  testPki,
  tlsCertificate,
  waitFor,
  type HttpBackendServer,
  type TestPki,
  tlsGetAndClose,
} from './proxy-harness.js';
import type { ProxyConfig } from '../../src/ir/types.js';

/** An undici client with long keep-alive (so only the proxy can close it), counting its connects and disconnects. */
function trackedClient(origin: string, tls?: { servername: string; ca: string }): { client: Client; connects: number; disconnects: number; get: (path: string, host?: string) => Promise<number> } {
  const client = new Client(origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000, ...(tls ? { connect: tls } : {}) });
  const state = {
    client,
    connects: 0,
    disconnects: 0,
    get: async (path: string, host = 'example.com') => {
      const response = await client.request({ path, method: 'GET', headers: { host }, ...(tls ? { servername: tls.servername } : {}) } as Parameters<Client['request']>[0]);
      await response.body.text();
      return response.statusCode;
    },
  };
  client.on('connect', () => state.connects++);
  client.on('disconnect', () => state.disconnects++);
  return state;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function connectionRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('proxy: connections across reloads and the shutdown drain', function () {
  this.timeout(20_000);
  let pki: TestPki;
  let address: string;
  let echo: HttpBackendServer;

  before(async function () {
    this.timeout(30_000);
    pki = await testPki();
    address = loopbackAddress();
    echo = await startHttpBackend(address, 'echo-1');
  });

  after(async () => {
    await stopAllProxies();
    await closeAllBackends();
  });

  describe('after a reload', () => {
    const clients: Client[] = [];
    after(async () => Promise.all(clients.map((client) => client.destroy())));

    it('closes idle keep-alive connections of a dropped listener and of a changed certificate, keeps the others', async () => {
      const [plainPort, tlsPort] = await Promise.all([freePort(address), freePort(address)]);
      const proxy = await startProxy(['--keep-alive-timeout-ms', '60000']);
      const build = (version: string, demoCertificate: 'ecdsa' | 'rsa', withPlain: boolean): ProxyConfig =>
        config(version, [
          ...(withPlain ? [listener('plain', address, plainPort, 'HTTP', [plainBlock('web', 'HTTP')], { httpRoutes: [httpRoute('web', 'web', [], [rule({ backends: [httpBackend('echo', [echo])] })])] })] : []),
          listener('tls', address, tlsPort, 'HTTPS', [
            terminateBlock('demo', 'demo.example.com', [demoCertificate === 'ecdsa' ? tlsCertificate('demo', pki.demoEcdsa, 'ECDSA') : tlsCertificate('demo', pki.demoRsa, 'RSA')]),
            terminateBlock('other', 'other.example.com', [tlsCertificate('other', pki.other)]),
          ], {
            httpRoutes: [
              httpRoute('demo', 'demo', [], [rule({ backends: [httpBackend('echo', [echo])] })]),
              httpRoute('other', 'other', [], [rule({ backends: [httpBackend('echo', [echo])] })]),
            ],
          }),
        ]);
      expect((await proxy.put(build('v1', 'ecdsa', true))).status).to.equal(200);

      const plain = trackedClient(`http://${address}:${plainPort}`);
      const demo = trackedClient(`https://${address}:${tlsPort}`, { servername: 'demo.example.com', ca: pki.ca.certPem });
      const other = trackedClient(`https://${address}:${tlsPort}`, { servername: 'other.example.com', ca: pki.ca.certPem });
      clients.push(plain.client, demo.client, other.client);
      expect(await plain.get('/')).to.equal(200);
      expect(await demo.get('/', 'demo.example.com')).to.equal(200);
      expect(await other.get('/', 'other.example.com')).to.equal(200);
      // A request in flight on the dropped listener during the reload finishes, then its connection closes.
      const inFlightPlain = trackedClient(`http://${address}:${plainPort}`);
      clients.push(inFlightPlain.client);
      const slow = inFlightPlain.get('/slow?ms=600');
      await new Promise((resolve) => setTimeout(resolve, 150));

      expect((await proxy.put(build('v2', 'rsa', false))).status).to.equal(200);
      expect(await slow).to.equal(200);
      await waitFor('the dropped listener\'s keep-alive connections to close', () => (plain.disconnects === 1 && inFlightPlain.disconnects === 1 ? true : undefined));
      await waitFor('the keep-alive connection with the replaced certificate to close', () => (demo.disconnects === 1 ? true : undefined));
      expect(other.disconnects, 'a connection whose certificate stays is kept').to.equal(0);
      expect(await other.get('/', 'other.example.com')).to.equal(200);
      expect(other.connects, 'the kept connection was reused').to.equal(1);
      // The client of the replaced certificate reconnects and gets the new one (RSA now).
      expect(await demo.get('/', 'demo.example.com')).to.equal(200);
      expect(demo.connects).to.equal(2);
      const applied = proxy.logs.find((line) => line.msg === 'configuration applied' && line['version'] === 'v2');
      expect(applied?.['staleKeepAliveConnections']).to.equal(3); // both on the dropped listener, and demo's
      await proxy.stop();
    });
  });

  it('a connection accepted before a reload, still before its ClientHello, is served by its own config (its pools kept)', async () => {
    const port = await freePort(address);
    const other = await startHttpBackend(address, 'other-1');
    const proxy = await startProxy();
    const serving = (version: string, backend: HttpBackendServer, name: string) =>
      config(version, [listener('tls', address, port, 'HTTPS', [terminateBlock('demo', 'demo.example.com', [tlsCertificate('demo', pki.demoEcdsa)])], { httpRoutes: [httpRoute('demo', 'demo', [], [rule({ backends: [httpBackend(name, [backend])] })])] })]);
    expect((await proxy.put(serving('v1', echo, 'echo'))).status).to.equal(200);
    const raw = net.connect({ host: address, port });
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
    // The config it was accepted with is retired, and has no other connection.
    expect((await proxy.put(serving('v2', other, 'other'))).status).to.equal(200);
    const answer = await tlsGetAndClose({ socket: raw, servername: 'demo.example.com', ca: pki.ca.certPem }, 'demo.example.com');
    expect(answer).to.match(/^HTTP\/1\.1 200 /);
    expect(answer).to.contain('Running on Pod echo-1.');
    await proxy.stop();
  });

  describe('on SIGTERM', () => {
    async function startServing(args: string[]): Promise<{ proxy: Awaited<ReturnType<typeof startProxy>>; port: number }> {
      const port = await freePort(address);
      const proxy = await startProxy(['--keep-alive-timeout-ms', '60000', ...args]);
      const answer = await proxy.put(config('v1', [listener('plain', address, port, 'HTTP', [plainBlock('web', 'HTTP')], { httpRoutes: [httpRoute('web', 'web', [], [rule({ backends: [httpBackend('echo', [echo])] })])] })]));
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
      return { proxy, port };
    }

    for (const workers of ['1', '2']) {
      it(`stops accepting, closes idle connections, lets a request in flight finish, exits 0 (--workers ${workers})`, async () => {
        const { proxy, port } = await startServing(['--drain-timeout-ms', '8000', '--workers', workers]);
        const idle = trackedClient(`http://${address}:${port}`);
        const busy = trackedClient(`http://${address}:${port}`);
        try {
          expect(await idle.get('/')).to.equal(200);
          const slow = busy.get('/slow?ms=1000');
          await new Promise((resolve) => setTimeout(resolve, 150)); // the request is on its way to the backend
          proxy.child.kill('SIGTERM');
          await waitFor('new connections to be refused', async () => ((await connectionRefused(address, port)) ? true : undefined));
          await waitFor('the idle keep-alive connection to be closed', () => (idle.disconnects === 1 ? true : undefined));
          expect(await slow).to.equal(200);
          expect(await exited(proxy.child)).to.equal(0);
          expect(proxy.logs.some((line) => line.msg === (workers === '1' ? 'proxy drained' : 'worker drained') && line['cutConnections'] === 0)).to.equal(true);
        } finally {
          await Promise.all([idle.client.destroy(), busy.client.destroy()]);
        }
      });
    }

    it('cuts what is still in flight when --drain-timeout-ms runs out', async () => {
      const { proxy, port } = await startServing(['--drain-timeout-ms', '300']);
      const busy = trackedClient(`http://${address}:${port}`);
      try {
        const slow = busy.get('/slow?ms=15000').then(
          (status) => `status ${status}`,
          (error: Error & { code?: string }) => `error ${error.code ?? error.message}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        proxy.child.kill('SIGTERM');
        expect(await exited(proxy.child)).to.equal(0);
        expect(await slow).to.match(/^error /);
        expect(proxy.logs.find((line) => line.msg === 'proxy drained')?.['cutConnections']).to.equal(1);
      } finally {
        await busy.client.destroy();
      }
    });
  });
});
