// PROXY protocol v2 towards stream backends (IR `Backend.proxyProtocol`). The header is
// checked by a receiver that parses it with an independent implementation
// (proxy-protocol-js), then serves TLS (passthrough) or echoes (TCP) behind it, and
// tells the client which address and port the header carried.
import { expect } from 'chai';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';
import { IPv4ProxyAddress, IPv6ProxyAddress, V2ProxyProtocol } from 'proxy-protocol-js';
import { proxyProtocolV2Header } from '../../src/proxy/proxy-protocol.js';
import {
  closeAllBackends,
  config,
  freePort,
  listener,
  loopbackAddress,
  passthroughBlock,
  plainBlock,
  routeSource,
  startProxy,
  stopAllProxies,
  streamBackend,
  testPki,
  type RunningProxy,
  type TestPki,
} from './proxy-harness.js';
import type { KeyMaterial } from '../../src/lib/certs.js';
import type { Backend } from '../../src/ir/types.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** What the header said, in the words of the parser: `a.b.c.d:port>e.f.g.h:port`, or `none`. */
function describeHeader(bytes: Buffer): string {
  const parsed = V2ProxyProtocol.parse(bytes);
  const address = parsed.proxyAddress;
  if (address instanceof IPv4ProxyAddress) return `${address.sourceAddress.address.join('.')}:${address.sourcePort}>${address.destinationAddress.address.join('.')}:${address.destinationPort}`;
  if (address instanceof IPv6ProxyAddress) return `${Buffer.from(address.sourceAddress.address).toString('hex')}:${address.sourcePort}>${Buffer.from(address.destinationAddress.address).toString('hex')}:${address.destinationPort}`;
  return 'unspec';
}

/** Reads a PROXY v2 header if the stream starts with one, then hands the socket (rest put back) to `serve`. */
function readProxyHeader(socket: Socket, serve: (socket: Socket, header: string) => void): void {
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    received = Buffer.concat([received, chunk]);
    if (received.length < 16) return;
    let header = 'none';
    let consumed = 0;
    if (received.subarray(0, 12).equals(SIGNATURE)) {
      consumed = 16 + received.readUInt16BE(14);
      if (received.length < consumed) return;
      header = describeHeader(received.subarray(0, consumed));
    }
    socket.off('data', onData);
    socket.pause();
    socket.unshift(received.subarray(consumed));
    serve(socket, header);
  };
  socket.on('data', onData);
  socket.on('error', () => {});
}

async function listen(server: net.Server, address: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, address, () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** Behind the header, a TLS server that answers `header=<what it said>`. */
function tlsReceiver(certificate: KeyMaterial): net.Server {
  return net.createServer((socket) =>
    readProxyHeader(socket, (raw, header) => {
      const secure = new tls.TLSSocket(raw, { isServer: true, cert: certificate.certPem, key: certificate.keyPem });
      secure.on('error', () => {});
      secure.once('secure', () => secure.end(`header=${header}\n`));
    }),
  );
}

/** Behind the header, plain TCP: answers `header=<what it said>` then echoes. */
function tcpReceiver(): net.Server {
  return net.createServer((socket) =>
    readProxyHeader(socket, (raw, header) => {
      raw.write(`header=${header}\n`);
      raw.pipe(raw);
    }),
  );
}

function tlsConversation(host: string, port: number, servername: string, ca: string): Promise<{ text: string; local: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername, ca });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('error', reject);
    socket.once('end', () => resolve({ text, local: `${socket.localAddress}:${socket.localPort}` }));
  });
}

describe('proxy: PROXY protocol v2 to stream backends', function () {
  this.timeout(15_000);

  describe('the header (checked by proxy-protocol-js)', () => {
    const rows: Array<[name: string, source: { address: string; port: number }, destination: { address: string; port: number }, expected: string]> = [
      ['IPv4 client to an IPv4 listener: TCP over IPv4', { address: '192.0.2.1', port: 51000 }, { address: '198.51.100.2', port: 443 }, '192.0.2.1:51000>198.51.100.2:443'],
      ['IPv4-mapped addresses on an IPv6 socket are sent as IPv4', { address: '::ffff:192.0.2.1', port: 1 }, { address: '::FFFF:198.51.100.2', port: 65535 }, '192.0.2.1:1>198.51.100.2:65535'],
      ['IPv6 with ::', { address: '2001:db8::1', port: 40000 }, { address: '::1', port: 8443 }, '20010db8000000000000000000000001:40000>00000000000000000000000000000001:8443'],
      ['mixed families: both as IPv6, the IPv4 one mapped', { address: '192.0.2.1', port: 2 }, { address: 'fe80::1:2', port: 3 }, '00000000000000000000ffffc0000201:2>fe800000000000000000000000010002:3'],
    ];
    for (const [name, source, destination, expected] of rows) {
      it(name, () => expect(describeHeader(proxyProtocolV2Header(source, destination))).to.equal(expected));
    }
    it('an unknown address: family UNSPEC, no addresses (the receiver uses the connection\'s own)', () => {
      const header = proxyProtocolV2Header({ address: undefined, port: undefined }, { address: '127.0.0.1', port: 1 });
      expect(header.length).to.equal(16);
      expect(describeHeader(header)).to.equal('unspec');
    });
  });

  describe('end to end', () => {
    let proxy: RunningProxy;
    let pki: TestPki;
    let address: string;
    let tlsPort: number;
    let tcpPort: number;
    const servers: net.Server[] = [];

    before(async function () {
      this.timeout(30_000);
      pki = await testPki();
      address = loopbackAddress();
      [tlsPort, tcpPort] = await Promise.all([freePort(address), freePort(address)]);
      const tlsTarget = tlsReceiver(pki.demoRsa);
      const tcpTarget = tcpReceiver();
      servers.push(tlsTarget, tcpTarget);
      const [tlsTargetPort, tcpTargetPort] = await Promise.all([listen(tlsTarget, address), listen(tcpTarget, address)]);
      const withHeader = (backend: Backend): Backend => ({ ...backend, proxyProtocol: { version: 'V2' } });
      proxy = await startProxy();
      const answer = await proxy.put(
        config('v1', [
          listener('tls', address, tlsPort, 'TLS', [passthroughBlock('with', 'demo.example.com'), passthroughBlock('without', 'other.example.com')], {
            tlsPassthrough: [
              { source: routeSource('with', 'TLSRoute'), serverBlock: 'with', hostnames: [], backends: [withHeader(streamBackend('receiver', [{ address, port: tlsTargetPort }]))] },
              { source: routeSource('without', 'TLSRoute'), serverBlock: 'without', hostnames: [], backends: [streamBackend('receiver', [{ address, port: tlsTargetPort }])] },
            ],
          }),
          listener('tcp', address, tcpPort, 'TCP', [plainBlock('tcp', 'TCP')], {
            tcpRoutes: [{ source: routeSource('tcp', 'TCPRoute'), serverBlock: 'tcp', hostnames: [], backends: [withHeader(streamBackend('receiver', [{ address, port: tcpTargetPort }]))] }],
          }),
        ]),
      );
      expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    });

    after(async () => {
      await stopAllProxies();
      await closeAllBackends();
      for (const server of servers) server.close();
    });

    it('passthrough: the backend reads the client\'s address and port, then the untouched ClientHello (its own certificate verifies)', async () => {
      const { text, local } = await tlsConversation(address, tlsPort, 'demo.example.com', pki.ca.certPem);
      expect(text).to.equal(`header=${local}>${address}:${tlsPort}\n`);
    });

    it('off by default: a route without proxyProtocol sends the ClientHello first', async () => {
      // The receiver serves demo.example.com's certificate; this client only checks the chain.
      const socket = await new Promise<{ text: string }>((resolve, reject) => {
        const client = tls.connect({ host: address, port: tlsPort, servername: 'other.example.com', ca: pki.ca.certPem, checkServerIdentity: () => undefined });
        let text = '';
        client.setEncoding('utf8');
        client.on('data', (chunk: string) => (text += chunk));
        client.once('error', reject);
        client.once('end', () => resolve({ text }));
      });
      expect(socket.text).to.equal('header=none\n');
    });

    it('TCP listener: header first, then the bytes both ways', async () => {
      const client = net.connect({ host: address, port: tcpPort });
      let text = '';
      client.setEncoding('utf8');
      client.on('data', (chunk: string) => (text += chunk));
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      const local = `${client.localAddress}:${client.localPort}`;
      client.write('ping\n');
      const start = Date.now();
      while (!text.includes('ping\n') && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 20));
      client.destroy();
      expect(text).to.equal(`header=${local}>${address}:${tcpPort}\nping\n`);
    });
  });
});
