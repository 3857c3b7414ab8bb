// The Node floor: the least any TLS-terminating proxy written for Node 20 can cost per
// request, run beside the peers as a reference column (not a peer: ratios stay against
// nginx and HAProxy). Each client connection is terminated with node:tls and paired with
// its own plain connection to the backend; bytes are relayed both ways with no HTTP
// parsing, no routing and no pool. What remains is Node's TLS socket, its streams and the
// syscalls — the part of a request no JavaScript proxy can avoid.
//
//   node dist/bench/node-floor.js --rsa-port P --ecdsa-port Q --rsa-cert F --rsa-key F --ecdsa-cert F --ecdsa-key F --backend-port B
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: Object.fromEntries(['rsa-port', 'ecdsa-port', 'rsa-cert', 'rsa-key', 'ecdsa-cert', 'ecdsa-key', 'backend-port'].map((name) => [name, { type: 'string' as const }])),
});
const backendPort = Number(values['backend-port']);

function serve(port: number, cert: string, key: string): void {
  const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), ALPNProtocols: ['http/1.1'] }, (client) => {
    const upstream = net.connect(backendPort, '127.0.0.1');
    upstream.setNoDelay(true);
    client.pipe(upstream).on('error', () => client.destroy());
    upstream.pipe(client).on('error', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.end());
  });
  server.on('tlsClientError', () => {});
  server.listen(port, '127.0.0.1');
}

serve(Number(values['rsa-port']), values['rsa-cert']!, values['rsa-key']!);
serve(Number(values['ecdsa-port']), values['ecdsa-cert']!, values['ecdsa-key']!);
process.stdout.write('node floor listening\n');
