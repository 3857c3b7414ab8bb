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
// HTTP/2 (a client that offers h2 in ALPN) cannot be relayed as bytes: the backend speaks
// HTTP/1.1, one request at a time per connection. So each stream becomes an HTTP/1.1
// request on an idle pooled backend connection, with the least HTTP a proxy can do: the
// request line and Host out; the status and Content-Length in (no other header either
// way, no chunked bodies); the body back on the stream. What remains is node:http2 and
// one backend round trip per request.
//
//   node dist/bench/node-floor.js --rsa-port P --ecdsa-port Q --passthrough-port R --rsa-cert F --rsa-key F
//     --ecdsa-cert F --ecdsa-key F --backend-port B --backend-tls-port T
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
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

/** Idle HTTP/1.1 connections to the backend, for HTTP/2 streams. */
const idle: net.Socket[] = [];

function connectBackend(): net.Socket {
  const socket = net.connect({ port: backendPort, host: '127.0.0.1', noDelay: true });
  socket.on('error', () => {});
  // A pooled connection the backend closes leaves the pool.
  socket.on('close', () => {
    const at = idle.indexOf(socket);
    if (at >= 0) idle.splice(at, 1);
  });
  return socket;
}

/** Sends `head` (a bodiless request) on a pooled backend connection; `done` gets the status and body, or undefined if it failed. */
function exchange(head: string, done: (answer: { status: number; body: Buffer } | undefined) => void): void {
  const socket = idle.pop() ?? connectBackend();
  let received: Buffer = Buffer.alloc(0);
  const finish = (answer: { status: number; body: Buffer } | undefined): void => {
    socket.removeListener('data', onData);
    socket.removeListener('close', onClose);
    if (answer) idle.push(socket);
    else socket.destroy();
    done(answer);
  };
  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) return;
    const fields = received.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(fields);
    if (!length) return finish(undefined);
    const body = received.subarray(end + 4);
    if (body.length >= Number(length[1])) finish({ status: Number(fields.slice(9, 12)), body });
  };
  const onClose = (): void => finish(undefined);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.write(head, 'latin1');
}

const h2 = http2.createServer();
h2.on('stream', (stream, headers) => {
  exchange(`${headers[':method']} ${headers[':path']} HTTP/1.1\r\nhost: ${headers[':authority']}\r\n\r\n`, (answer) => {
    if (stream.destroyed) return;
    stream.respond({ ':status': answer?.status ?? 502, 'content-length': answer?.body.length ?? 0 });
    stream.end(answer?.body);
  });
});
h2.on('sessionError', () => {});

function serve(port: number, cert: string, key: string): void {
  const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), ALPNProtocols: ['h2', 'http/1.1'] }, (client) => {
    if (client.alpnProtocol === 'h2') h2.emit('connection', client);
    else relay(client, backendPort);
  });
  server.on('tlsClientError', () => {});
  server.listen(port, '127.0.0.1');
}

serve(Number(values['rsa-port']), values['rsa-cert']!, values['rsa-key']!);
serve(Number(values['ecdsa-port']), values['ecdsa-cert']!, values['ecdsa-key']!);
const backendTlsPort = Number(values['backend-tls-port']);
net.createServer({ noDelay: true }, (client) => relay(client, backendTlsPort)).listen(Number(values['passthrough-port']), '127.0.0.1');
process.stdout.write('node floor listening\n');
