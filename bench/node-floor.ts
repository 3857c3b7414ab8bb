// The Node floor: the least any TLS-terminating proxy written for Node 20 can cost per
// request, run beside the peers as a reference column (not a peer: ratios stay against
// nginx and HAProxy). Each client connection is terminated with node:tls and paired with
// its own plain connection to the backend; bytes are relayed both ways with no HTTP
// parsing, no routing and no pool. What remains is Node's TLS socket, its streams and the
// syscalls — the part of a request no JavaScript proxy can avoid.
//
// Its passthrough port is the same for TLS passed through: each connection is relayed
// untouched to the backend's TLS port with no ClientHello read and no routing, so what
// remains is net.Socket and its streams.
//
//   node dist/bench/node-floor.js --rsa-port P --ecdsa-port Q --passthrough-port R --rsa-cert F --rsa-key F
//     --ecdsa-cert F --ecdsa-key F --backend-port B --backend-tls-port T
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: Object.fromEntries(['rsa-port', 'ecdsa-port', 'passthrough-port', 'rsa-cert', 'rsa-key', 'ecdsa-cert', 'ecdsa-key', 'backend-port', 'backend-tls-port'].map((name) => [name, { type: 'string' as const }])),
});
const backendPort = Number(values['backend-port']);

/** Relays a client connection's bytes to the backend port and back, nothing else. */
function relay(client: net.Socket, port: number): void {
  const upstream = net.connect(port, '127.0.0.1');
  upstream.setNoDelay(true);
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.end());
}

function serve(port: number, cert: string, key: string): void {
  const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), ALPNProtocols: ['http/1.1'] }, (client) => relay(client, backendPort));
  server.on('tlsClientError', () => {});
  server.listen(port, '127.0.0.1');
}

serve(Number(values['rsa-port']), values['rsa-cert']!, values['rsa-key']!);
serve(Number(values['ecdsa-port']), values['ecdsa-cert']!, values['ecdsa-key']!);
const backendTlsPort = Number(values['backend-tls-port']);
net.createServer({ noDelay: true }, (client) => relay(client, backendTlsPort)).listen(Number(values['passthrough-port']), '127.0.0.1');
process.stdout.write('node floor listening\n');
