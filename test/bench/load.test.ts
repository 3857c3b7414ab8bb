// bench/lib/load.ts: the Node client behind "passthrough new TLS connections". A backend
// may drop a request whose client has already closed its side (nginx does: "client
// prematurely closed connection"), and how often that happens depends on each proxy's
// timing, so a client that half-closes behind its request counts errors for some proxies
// and not others. This backend drops every such request; the client must get each answer.
import { expect } from 'chai';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { nodeTlsConnections } from '../../bench/lib/load.js';
import { corePlan, detectTools } from '../../bench/lib/system.js';
import { createCertificateAuthority, issueCertificate } from '../../src/lib/certs.js';

describe('bench: new TLS connections from the Node client', function () {
  this.timeout(30_000);

  it('waits for the answer before closing, so a backend that drops half-closed requests answers every one', async () => {
    const ca = await createCertificateAuthority('load test CA');
    const leaf = await issueCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], algorithm: 'ecdsa-p256' });
    let dropped = 0;
    const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => {
      let clientEnded = false;
      socket.on('error', () => {});
      socket.on('end', () => (clientEnded = true));
      socket.once('data', () => {
        // Answer on the next turn of the event loop, as a backend with work to do would.
        setImmediate(() => {
          if (clientEnded) {
            dropped++;
            socket.destroy();
            return;
          }
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
        });
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const result = await nodeTlsConnections('127.0.0.1', port, 'localhost', ca.certPem, 4, { cores: corePlan(), tools: await detectTools(), seconds: 1 });
      expect(result.count).to.be.greaterThan(20);
      expect({ errors: result.errors, dropped }).to.deep.equal({ errors: 0, dropped: 0 });
    } finally {
      server.close();
    }
  });
});
