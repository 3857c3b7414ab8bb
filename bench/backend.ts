// The bench backend when nginx is not installed: plain HTTP/1.1 on --http-port (a
// short fixed body) and HTTPS on --tls-port (the same body, and /bulk), for the
// passthrough measurements. With nginx installed the bench uses nginx instead.
//
//   node dist/bench/backend.js --http-port P --tls-port Q --cert F --key F --bulk F
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';
import { BODY } from './lib/peers.js';

const { values } = parseArgs({ options: { 'http-port': { type: 'string' }, 'tls-port': { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, bulk: { type: 'string' } } });
const bulk = readFileSync(values.bulk!);
const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  req.resume();
  const body = req.url === '/bulk' ? bulk : BODY;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};
const plain = http.createServer({ keepAliveTimeout: 300_000 }, handler);
const secure = https.createServer({ cert: readFileSync(values.cert!), key: readFileSync(values.key!), keepAliveTimeout: 300_000 }, handler);
plain.listen(Number(values['http-port']), '127.0.0.1');
secure.listen(Number(values['tls-port']), '127.0.0.1');
