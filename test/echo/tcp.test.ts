// The TCP and UDP echo, and the upstream conformance TCP protocol, with node:net/tls/dgram.
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { allAuto, killAllEchoes, LineClient, makeCertificate, startEcho, tempDir, type RunningEcho } from './helpers.js';

function connect(port: number): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connectTcp(port, '127.0.0.1', () => resolve(new LineClient(socket)));
    socket.once('error', reject);
  });
}

function udpExchange(port: number, payload: string, expectedReplies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const replies: string[] = [];
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`got ${replies.length} of ${expectedReplies} UDP replies: ${JSON.stringify(replies)}`));
    }, 2000);
    socket.on('message', (message) => {
      replies.push(message.toString('utf8'));
      if (replies.length === expectedReplies) {
        clearTimeout(timer);
        socket.close();
        resolve(replies);
      }
    });
    socket.send(payload, port, '127.0.0.1');
  });
}

interface TestAnswer {
  namespace: string;
  service: string;
  pod: string;
  tcpport: string;
  tlsport?: string;
  isTLS: boolean;
  tls?: { version: string; serverName: string; cipherSuite: string };
}

describe('echo TCP and UDP', function () {
  after(killAllEchoes);

  describe('reference echo protocol', () => {
    let echo: RunningEcho;
    before(async () => {
      echo = await startEcho(allAuto);
    });
    after(() => echo.stop());

    it('greets with the Pod and echoes lines byte for byte', async () => {
      const client = await connect(echo.ports.tcp!);
      expect(await client.readLine()).to.equal('Running on Pod echo-7d9f8-abcde.\n');
      client.write('hello\n');
      expect(await client.readLine()).to.equal('hello\n');
      client.write('with crlf\r\nsplit ');
      expect(await client.readLine()).to.equal('with crlf\r\n');
      client.write('over writes\n');
      expect(await client.readLine()).to.equal('split over writes\n');
      client.socket.end();
    });

    it('echoes a last line without newline after the client half-closes', async () => {
      const client = await connect(echo.ports.tcp!);
      await client.readLine();
      client.socket.end('no newline');
      expect(await client.readToEnd()).to.equal('no newline');
    });

    it('also answers the conformance commands', async () => {
      const client = await connect(echo.ports.tcp!);
      await client.readLine();
      client.write('PING\n');
      expect(await client.readLine()).to.equal('PONG\n');
      client.write('IS_TLS\r\n');
      expect(await client.readLine()).to.equal('false\n');
      client.write('TEST\n');
      const answer = JSON.parse(await client.readLine()) as TestAnswer;
      expect(answer).to.deep.equal({ namespace: 'tls-demo', ingress: '', service: '', pod: 'echo-7d9f8-abcde', tcpport: String(echo.ports.tcp), isTLS: false });
      client.socket.destroy();
    });

    it('answers each UDP datagram with the greeting and the datagram', async () => {
      expect(await udpExchange(echo.ports.udp!, 'ping over udp\n', 2)).to.deep.equal(['Running on Pod echo-7d9f8-abcde.\n', 'ping over udp\n']);
    });
  });

  describe('upstream conformance protocol (echo-basic profile, TCP_ECHO_SERVER)', () => {
    let dir: { path: string; remove(): Promise<void> };
    let certPem: string;
    let echo: RunningEcho;
    before(async () => {
      dir = await tempDir('echo-tcp-');
      const pair = await makeCertificate(dir.path, 'abc', 'abc.example.com');
      certPem = pair.certPem;
      echo = await startEcho(['--profile', 'echo-basic', '--address', '127.0.0.1', '--tcp-port', 'auto', '--tls-port', 'auto'], {
        TCP_ECHO_SERVER: '1',
        POD_NAME: 'tcp-backend-6f7c9-x2x2x',
        NAMESPACE: 'gateway-conformance-infra',
        SERVICE_NAME: 'tcp-backend',
        TLS_SERVER_CERT: pair.certFile,
        TLS_SERVER_PRIV_KEY: pair.keyFile,
      });
    });
    after(async () => {
      await echo.stop();
      await dir.remove();
    });

    // The same steps as upstream's WaitForValidTCPResponse: welcome, PING, IS_TLS, TEST.
    it('passes the upstream client sequence over plain TCP', async () => {
      const client = await connect(echo.ports.tcp!);
      expect(await client.readLine()).to.equal('Gateway API Test TCP Server\n');
      client.write('PING\n');
      expect(await client.readLine()).to.equal('PONG\n');
      client.write('IS_TLS\n');
      expect(await client.readLine()).to.equal('false\n');
      client.write('TEST\n');
      const answer = JSON.parse(await client.readLine()) as TestAnswer;
      expect(answer.pod.startsWith('tcp-backend-')).to.equal(true);
      expect(answer).to.include({ namespace: 'gateway-conformance-infra', service: 'tcp-backend', tcpport: String(echo.ports.tcp), tlsport: String(echo.ports.tls), isTLS: false });
      client.socket.destroy();
    });

    it('passes the upstream client sequence over TLS, reporting the SNI', async () => {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: echo.ports.tls!, servername: 'abc.example.com', ca: certPem, ALPNProtocols: ['h2'] }, () => resolve(s));
        s.once('error', reject);
      });
      const client = new LineClient(socket);
      expect(await client.readLine()).to.equal('Gateway API Test TCP Server\n');
      client.write('PING\n');
      expect(await client.readLine()).to.equal('PONG\n');
      client.write('IS_TLS\n');
      expect(await client.readLine()).to.equal('true\n');
      client.write('TEST\n');
      const answer = JSON.parse(await client.readLine()) as TestAnswer;
      expect(answer.isTLS).to.equal(true);
      // Upstream's TLS listener has no ALPN: an offered "h2" is not selected.
      expect(answer.tls).to.deep.equal({ version: 'TLS 1.3', serverName: 'abc.example.com', cipherSuite: answer.tls!.cipherSuite });
      expect(answer.tls!.cipherSuite).to.match(/^TLS_AES_|^TLS_CHACHA20_/);
      socket.destroy();
    });

    it('ignores lines that are not commands, sending nothing unasked', async () => {
      const client = await connect(echo.ports.tcp!);
      await client.readLine();
      client.write('hello\nPING\n');
      expect(await client.readLine()).to.equal('PONG\n');
      client.socket.destroy();
    });
  });

  it('speaks the upstream UDP JSON envelope with UDP_ECHO_SERVER', async () => {
    const echo = await startEcho(['--profile', 'echo-basic', '--address', '127.0.0.1', '--udp-port', 'auto'], {
      UDP_ECHO_SERVER: '1',
      POD_NAME: 'udp-echo-0',
      NAMESPACE: 'default',
      SERVICE_NAME: 'udp-echo',
    });
    try {
      const [reply] = await udpExchange(echo.ports.udp!, 'Hello World\n', 1);
      expect(reply).to.equal('{"request":"Hello World\\n","namespace":"default","ingress":"","service":"udp-echo","pod":"udp-echo-0"}');
    } finally {
      await echo.stop();
    }
  });
});
