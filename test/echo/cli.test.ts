// The process contract: start line, bad input, port in use, certificates, SIGTERM.
import { expect } from 'chai';
import { createServer, connect as connectTcp, type Server } from 'node:net';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allAuto, killAllEchoes, LineClient, makeCertificate, runEchoToExit, startEcho, tempDir } from './helpers.js';

interface ErrorLine {
  level: string;
  component: string;
  msg: string;
  code: string;
}

function onlyErrorLine(lines: string[]): ErrorLine {
  expect(lines, `stderr: ${lines.join('\n')}`).to.have.length(1);
  const line = JSON.parse(lines[0]!) as ErrorLine;
  expect(line.level).to.equal('error');
  expect(line.component).to.equal('echo');
  return line;
}

describe('echo process', function () {
  after(killAllEchoes);

  it('logs one JSON line at start listing every bound listener', async () => {
    const echo = await startEcho(allAuto);
    try {
      const start = echo.logs.find((line) => line.msg === 'echo backend listening')!;
      expect(start).to.include({ level: 'info', component: 'echo', profile: 'portcullis', pod: 'echo-7d9f8-abcde', namespace: 'tls-demo', format: 'plain' });
      const listeners = start.listeners as Array<{ name: string; transport: string; address: string; port: number }>;
      expect(listeners.map((l) => `${l.name}/${l.transport}@${l.address}`)).to.deep.equal(['http/tcp@127.0.0.1', 'tcp/tcp@127.0.0.1', 'grpc/tcp@127.0.0.1', 'udp/udp@127.0.0.1']);
      for (const listener of listeners) expect(listener.port).to.be.above(0);
    } finally {
      await echo.stop();
    }
  });

  it('binds the address it is given (a Pod loopback IP such as 127.1.0.5)', async () => {
    const echo = await startEcho(['--http-port', 'auto', '--tcp-port', '0', '--udp-port', '0', '--grpc-port', '0', '--tls-port', '0'], { POD_IP: '127.1.0.5' });
    try {
      const client = await new Promise<LineClient>((resolve, reject) => {
        const socket = connectTcp(echo.ports.http!, '127.1.0.5', () => resolve(new LineClient(socket)));
        socket.once('error', reject);
      });
      client.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(await client.readToEnd()).to.match(/Running on Pod echo-7d9f8-abcde\.\n$/);
      // Not on another loopback address.
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connectTcp(echo.ports.http!, '127.0.0.1', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).to.equal(true);
    } finally {
      await echo.stop();
    }
  });

  it('exits 0 within two seconds of SIGTERM, ending open connections', async () => {
    const echo = await startEcho(allAuto);
    const client = await new Promise<LineClient>((resolve, reject) => {
      const socket = connectTcp(echo.ports.tcp!, '127.0.0.1', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
    await client.readLine();
    const ended = client.readToEnd(3000);
    const { code, elapsedMs } = await echo.stop();
    expect(code).to.equal(0);
    expect(elapsedMs).to.be.below(2000);
    expect(await ended).to.equal('');
    expect(echo.logs.some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM')).to.equal(true);
  });

  it('prints usage for --help and exits 0', async () => {
    const result = await runEchoToExit(['--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include('--http-port').and.to.include('--tls-cert').and.to.include('POD_IP');
  });

  describe('bad input: one clear error line and a non-zero exit', () => {
    it('a bad port (exit 2)', async () => {
      const result = await runEchoToExit(['--http-port', 'eighty']);
      expect(result.code).to.equal(2);
      const line = onlyErrorLine(result.stderrLines);
      expect(line.code).to.equal('ECHO_BAD_ARGUMENT');
      expect(line.msg).to.equal('invalid port "eighty" in --http-port: use a number from 1 to 65535, 0 to turn the listener off, or "auto"');
    });

    it('an unknown flag (exit 2)', async () => {
      const result = await runEchoToExit(['--htp-port', '80']);
      expect(result.code).to.equal(2);
      expect(onlyErrorLine(result.stderrLines).msg).to.match(/Unknown option '--htp-port'.*see --help/);
    });

    describe('a port already in use (exit 1)', () => {
      let blocker: Server;
      let port: number;
      before(async () => {
        blocker = createServer();
        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        port = (blocker.address() as { port: number }).port;
      });
      after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

      it('names the listener, the address and the flag to change', async () => {
        const result = await runEchoToExit(['--address', '127.0.0.1', '--http-port', 'auto', '--tcp-port', String(port), '--udp-port', '0', '--grpc-port', '0', '--tls-port', '0']);
        expect(result.code).to.equal(1);
        const line = onlyErrorLine(result.stderrLines);
        expect(line.code).to.equal('ECHO_PORT_IN_USE');
        expect(line.msg).to.equal(`cannot listen for tcp on 127.0.0.1:${port}: the port is already in use; stop the other process or choose another port with --tcp-port`);
      });
    });

    describe('certificates when TLS is asked for (exit 1)', () => {
      let dir: { path: string; remove(): Promise<void> };
      before(async () => {
        dir = await tempDir('echo-cli-');
      });
      after(() => dir.remove());

      const base = ['--address', '127.0.0.1', '--http-port', 'auto', '--tcp-port', '0', '--udp-port', '0', '--grpc-port', '0', '--tls-port', 'auto'];

      it('a missing certificate file', async () => {
        const missing = join(dir.path, 'nope.crt');
        const result = await runEchoToExit([...base, '--tls-cert', missing, '--tls-key', join(dir.path, 'nope.key')]);
        expect(result.code).to.equal(1);
        const line = onlyErrorLine(result.stderrLines);
        expect(line.code).to.equal('ECHO_BAD_CERTIFICATE');
        expect(line.msg).to.equal(`cannot read TLS certificate ${missing}: no such file`);
      });

      it('an unreadable key file', async function () {
        if (process.getuid?.() === 0) {
          // root reads mode-000 files; an empty key shows the same path instead.
          const pair = await makeCertificate(dir.path, 'empty-key');
          await writeFile(pair.keyFile, '');
          const result = await runEchoToExit([...base], { TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile });
          expect(result.code).to.equal(1);
          const line = onlyErrorLine(result.stderrLines);
          expect(line.code).to.equal('ECHO_BAD_CERTIFICATE');
          expect(line.msg).to.include(`cannot use certificate ${pair.certFile} with key ${pair.keyFile}`);
          return;
        }
        const pair = await makeCertificate(dir.path, 'locked');
        await chmod(pair.keyFile, 0o000);
        const result = await runEchoToExit([...base], { TLS_CERT_FILE: pair.certFile, TLS_KEY_FILE: pair.keyFile });
        expect(result.code).to.equal(1);
        expect(onlyErrorLine(result.stderrLines).msg).to.equal(`cannot read TLS private key ${pair.keyFile}: permission denied`);
      });

      it('a certificate and key that do not belong together', async () => {
        const [a, b] = await Promise.all([makeCertificate(dir.path, 'a'), makeCertificate(dir.path, 'b')]);
        const result = await runEchoToExit([...base, '--tls-cert', a.certFile, '--tls-key', b.keyFile]);
        expect(result.code).to.equal(1);
        const line = onlyErrorLine(result.stderrLines);
        expect(line.code).to.equal('ECHO_BAD_CERTIFICATE');
        expect(line.msg).to.match(new RegExp(`^cannot use certificate ${a.certFile} with key ${b.keyFile}: .*key values mismatch`));
      });
    });
  });
});
