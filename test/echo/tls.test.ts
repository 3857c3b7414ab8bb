// The TLS echo (scenario 3's backend) and certificate rotation, with Node's tls client.
import { expect } from 'chai';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as connectHttp2 } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killAllEchoes, LineClient, makeCertificate, SecretVolume, startEcho, tempDir, waitFor, type CertificatePair, type RunningEcho } from './helpers.js';

interface TlsConnectOptions {
  servername?: string;
  ALPNProtocols?: string[];
  ca: string;
  rejectUnauthorized?: boolean;
}

function connectTls(port: number, options: TlsConnectOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options, checkServerIdentity: () => undefined });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The serial of the certificate a fresh connection is served. */
async function servedSerial(port: number, ca: string): Promise<string> {
  const socket = await connectTls(port, { servername: 'demo.example.com', ca, rejectUnauthorized: false });
  const serial = socket.getPeerCertificate().serialNumber;
  socket.destroy();
  return serial;
}

function httpsBody(options: { port: number; ca: string; cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', path: '/', servername: 'demo.example.com', agent: false, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(port: number, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; alpn: string | false | null }> {
  return new Promise((resolve, reject) => {
    // https passes ALPNProtocols through to tls.connect; its option type just does not list it.
    const options = { host: '127.0.0.1', port, path: '/echo', servername: 'demo.example.com', ca, ALPNProtocols: ['http/1.1'], headers, agent: false };
    const req = httpsRequest(options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as TLSSocket).alpnProtocol }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('echo TLS', function () {
  let dir: { path: string; remove(): Promise<void> };
  let first: CertificatePair;
  let second: CertificatePair;
  let volume: SecretVolume;
  let echo: RunningEcho;

  before(async () => {
    dir = await tempDir('echo-tls-');
    [first, second] = await Promise.all([makeCertificate(join(dir.path, 'pki'), 'first'), makeCertificate(join(dir.path, 'pki'), 'second')]);
    volume = await SecretVolume.create(join(dir.path, 'volume'), first);
    echo = await startEcho([
      '--address', '127.0.0.1', '--http-port', 'auto', '--tcp-port', 'auto', '--udp-port', '0', '--grpc-port', '0',
      '--tls-port', 'auto', '--https-port', 'auto', '--cert-check-interval', '100',
    ], { TLS_CERT_FILE: volume.certFile, TLS_KEY_FILE: volume.keyFile });
  });
  after(async () => {
    await killAllEchoes();
    await dir?.remove();
  });

  it('greets with the reference guide text and then echoes what the client sends', async () => {
    const socket = await connectTls(echo.ports.tls!, { servername: 'demo.example.com', ca: first.certPem });
    expect(socket.authorized, String(socket.authorizationError)).to.equal(true);
    expect(socket.getPeerCertificate().subject.CN).to.equal('demo.example.com');
    expect(socket.alpnProtocol).to.equal(false);
    const client = new LineClient(socket);
    expect(await client.readLine()).to.equal('Running on Pod echo-7d9f8-abcde.\n');
    expect(await client.readLine()).to.equal('Through TLS connection.\n');
    client.write('hello through the passthrough\n');
    expect(await client.readLine()).to.equal('hello through the passthrough\n');
    client.write('IS_TLS\n');
    expect(await client.readLine()).to.equal('true\n');
    client.write('TEST\n');
    const test = JSON.parse(await client.readLine()) as { isTLS: boolean; tls: { serverName: string; version: string }; tlsport: string };
    expect(test.isTLS).to.equal(true);
    expect(test.tls.serverName).to.equal('demo.example.com');
    expect(test.tls.version).to.equal('TLS 1.3');
    expect(test.tlsport).to.equal(String(echo.ports.tls));
    socket.end();
  });

  it('completes the handshake without SNI (curl to an IP sends none)', async () => {
    const socket = await connectTls(echo.ports.tls!, { ca: first.certPem });
    const client = new LineClient(socket);
    expect(await client.readLine()).to.equal('Running on Pod echo-7d9f8-abcde.\n');
    expect(await client.readLine()).to.equal('Through TLS connection.\n');
    client.write('TEST\n');
    expect((JSON.parse(await client.readLine()) as { tls: { serverName: string } }).tls.serverName).to.equal('');
    socket.destroy();
  });

  it('accepts an ALPN protocol it does not know and keeps the stream echo', async () => {
    const socket = await connectTls(echo.ports.tls!, { servername: 'demo.example.com', ca: first.certPem, ALPNProtocols: ['portcullis-test'] });
    expect(socket.alpnProtocol).to.equal('portcullis-test');
    const client = new LineClient(socket);
    await client.readLine();
    await client.readLine();
    client.write('TEST\n');
    expect((JSON.parse(await client.readLine()) as { tls: { negotiatedProtocol: string } }).tls.negotiatedProtocol).to.equal('portcullis-test');
    socket.destroy();
  });

  it('serves HTTP/1.1 on the TLS port when the client negotiates http/1.1', async () => {
    const res = await httpsGet(echo.ports.tls!, first.certPem);
    expect(res).to.deep.equal({ status: 200, body: 'Running on Pod echo-7d9f8-abcde.\nThrough HTTPS connection.\n', alpn: 'http/1.1' });
  });

  it('serves h2 on the TLS port and the HTTPS port, reporting the TLS block in JSON', async () => {
    for (const port of [echo.ports.tls!, echo.ports.https!]) {
      const session = connectHttp2(`https://demo.example.com:${port}`, { host: '127.0.0.1', ca: first.certPem, servername: 'demo.example.com' } as never);
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ':path': '/tls', accept: 'application/json' });
          let text = '';
          stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          stream.on('end', () => resolve(text));
          stream.on('error', reject);
          stream.end();
        });
        const json = JSON.parse(body) as { proto: string; tls: Record<string, unknown> };
        expect(json.proto).to.equal('HTTP/2.0');
        expect(Object.keys(json.tls)).to.deep.equal(['version', 'serverName', 'negotiatedProtocol', 'cipherSuite']);
        expect(json.tls).to.include({ version: 'TLSv1.3', serverName: 'demo.example.com', negotiatedProtocol: 'h2' });
        expect(json.tls.cipherSuite).to.match(/^TLS_/);
      } finally {
        session.close();
      }
    }
  });

  it('serves a rotated certificate to new connections after a ..data swap, and keeps open ones', async () => {
    const open = await connectTls(echo.ports.tls!, { servername: 'demo.example.com', ca: first.certPem });
    const openClient = new LineClient(open);
    await openClient.readLine();
    await openClient.readLine();
    expect(await servedSerial(echo.ports.tls!, first.certPem)).to.equal(first.serial);

    await volume.swapTo(second);
    const rotated = await waitFor('the new certificate on the TLS port', async () => {
      const serial = await servedSerial(echo.ports.tls!, second.certPem);
      return serial === second.serial ? serial : undefined;
    });
    expect(rotated).to.equal(second.serial);
    expect(await servedSerial(echo.ports.https!, second.certPem)).to.equal(second.serial);
    expect(echo.logs.some((line) => line.msg === 'serving certificate reloaded' && line.serial === second.serial.toLowerCase())).to.equal(true);

    openClient.write('still here\n');
    expect(await openClient.readLine()).to.equal('still here\n');
    open.destroy();
  });

  it('keeps serving the last good certificate when the files change to a pair that does not match', async () => {
    const before = await servedSerial(echo.ports.tls!, second.certPem);
    // The first certificate with the second key: a writer that replaced only one file.
    await volume.swapTo({ certPem: first.certPem, keyFile: second.keyFile });
    await waitFor('a warning about the bad pair', async () => (echo.logs.some((line) => line.level === 'warn' && /do not load/.test(line.msg)) ? true : undefined));
    expect(await servedSerial(echo.ports.tls!, second.certPem)).to.equal(before);
    await volume.swapTo(first);
    await waitFor('the first certificate again', async () => ((await servedSerial(echo.ports.tls!, first.certPem)) === first.serial ? true : undefined));
  });
});

describe('echo TLS client certificates', function () {
  let dir: { path: string; remove(): Promise<void> };
  let server: CertificatePair;
  let clientPair: CertificatePair;
  let echo: RunningEcho;

  before(async () => {
    dir = await tempDir('echo-mtls-');
    [server, clientPair] = await Promise.all([makeCertificate(dir.path, 'server'), makeCertificate(dir.path, 'client', 'client.example.com', 'clientAuth')]);
    const caFile = join(dir.path, 'client-ca.crt');
    await writeFile(caFile, clientPair.certPem);
    echo = await startEcho(['--profile', 'echo-basic', '--address', '127.0.0.1', '--http-port', 'auto', '--h2c-port', '0', '--https-port', 'auto'], {
      TLS_SERVER_CERT: server.certFile,
      TLS_SERVER_PRIVKEY: server.keyFile,
      TLS_CLIENT_CACERTS: caFile,
      POD_NAME: 'tls-backend-1',
    });
  });
  after(async () => {
    await killAllEchoes();
    await dir?.remove();
  });

  it('reports the client certificate as upstream does (PEM in tls.peerCertificates)', async () => {
    const key = await readFile(clientPair.keyFile, 'utf8');
    const body = await httpsBody({ port: echo.ports.https!, ca: server.certPem, cert: clientPair.certPem, key });
    const json = JSON.parse(body) as { pod: string; tls: { peerCertificates: string[]; serverName: string } };
    expect(json.pod).to.equal('tls-backend-1');
    expect(json.tls.serverName).to.equal('demo.example.com');
    expect(json.tls.peerCertificates).to.deep.equal([clientPair.certPem]);
  });

  it('still serves clients that send no certificate', async () => {
    const body = await httpsBody({ port: echo.ports.https!, ca: server.certPem });
    expect(JSON.parse(body)).to.not.have.nested.property('tls.peerCertificates');
  });

  it('refuses a client certificate its CAs did not issue', async () => {
    const stranger = await makeCertificate(dir.path, 'stranger', 'stranger.example.com', 'clientAuth');
    const key = await readFile(stranger.keyFile, 'utf8');
    let failure: unknown;
    try {
      await httpsBody({ port: echo.ports.https!, ca: server.certPem, cert: stranger.certPem, key });
    } catch (err) {
      failure = err;
    }
    expect(failure).to.be.instanceOf(Error);
  });
});

describe('echo TLS default certificate', function () {
  after(killAllEchoes);

  it('leaves the TLS port off when the default certificate is absent and TLS was not asked for', async function () {
    if (existsSync('/etc/tls/tls.crt')) this.skip();
    const echo = await startEcho(['--address', '127.0.0.1', '--http-port', 'auto', '--tcp-port', '0', '--udp-port', '0', '--grpc-port', '0']);
    expect(echo.ports).to.not.have.property('tls');
    expect(echo.logs.some((line) => line.msg === 'no serving certificate; TLS listeners are off')).to.equal(true);
    await echo.stop();
  });
});
