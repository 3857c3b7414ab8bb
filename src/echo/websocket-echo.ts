// A WebSocket echo (RFC 6455) for upstream's `/ws` endpoint, which the conformance test
// HTTPRouteBackendProtocolWebSocket uses: every message comes back as it was sent
// (text as text, binary as binary). Small enough to keep here rather than add a
// dependency; it handles masking, fragmentation, ping/pong and the close handshake.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const handshakeGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 §1.3
const maxMessageBytes = 16 * 1024 * 1024;

const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

/** True when the request asks to switch to WebSocket (RFC 6455 §4.2.1). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** Completes the opening handshake on `socket` and echoes messages until either side closes. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  const connection = (req.headers.connection ?? '').toLowerCase();
  if (req.method !== 'GET' || typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16 || !connection.includes('upgrade')) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nmissing or bad WebSocket upgrade\n');
    return;
  }
  if (version !== '13') {
    socket.end('HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + handshakeGuid).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const session = new EchoSession(socket);
  if (head.length > 0) session.receive(head);
  socket.on('data', (chunk: Buffer) => session.receive(chunk));
}

class EchoSession {
  private buffered: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentedOpcode: Opcode | undefined;
  private fragmentedBytes = 0;
  private closing = false;

  constructor(private readonly socket: Duplex) {}

  receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      const frame = parseFrame(this.buffered);
      if (frame === 'incomplete') return;
      if (frame === 'too-large') return this.fail(1009);
      this.buffered = this.buffered.subarray(frame.length);
      // RFC 6455 §5.1: a server must close the connection on an unmasked client frame.
      if (!frame.masked) return this.fail(1002);
      this.handle(frame.fin, frame.opcode, frame.payload);
      if (this.closing) return;
    }
  }

  private handle(fin: boolean, opcode: Opcode, payload: Buffer): void {
    switch (opcode) {
      case Opcode.Ping:
        this.send(Opcode.Pong, payload);
        return;
      case Opcode.Pong:
        return;
      case Opcode.Close:
        // Echo the status code back and finish (RFC 6455 §5.5.1).
        this.send(Opcode.Close, payload.subarray(0, 2));
        this.closing = true;
        this.socket.end();
        return;
      case Opcode.Text:
      case Opcode.Binary:
        if (this.fragmentedOpcode !== undefined) return this.fail(1002);
        if (fin) return this.send(opcode, payload);
        this.fragmentedOpcode = opcode;
        this.collect(payload);
        return;
      case Opcode.Continuation:
        if (this.fragmentedOpcode === undefined) return this.fail(1002);
        this.collect(payload);
        if (fin) {
          this.send(this.fragmentedOpcode, Buffer.concat(this.fragments));
          this.fragmentedOpcode = undefined;
          this.fragments = [];
          this.fragmentedBytes = 0;
        }
        return;
      default:
        this.fail(1002);
    }
  }

  private collect(payload: Buffer): void {
    this.fragmentedBytes += payload.length;
    if (this.fragmentedBytes > maxMessageBytes) return this.fail(1009);
    this.fragments.push(payload);
  }

  private send(opcode: Opcode, payload: Buffer): void {
    if (this.closing || !this.socket.writable) return;
    this.socket.write(encodeFrame(opcode, payload));
  }

  private fail(code: number): void {
    const status = Buffer.alloc(2);
    status.writeUInt16BE(code);
    this.send(Opcode.Close, status);
    this.closing = true;
    this.socket.end();
  }
}

interface Frame {
  fin: boolean;
  opcode: Opcode;
  masked: boolean;
  payload: Buffer;
  /** Bytes the frame took in the buffer. */
  length: number;
}

function parseFrame(data: Buffer): Frame | 'incomplete' | 'too-large' {
  if (data.length < 2) return 'incomplete';
  const fin = (data[0]! & 0x80) !== 0;
  const opcode = (data[0]! & 0x0f) as Opcode;
  const masked = (data[1]! & 0x80) !== 0;
  let payloadLength = data[1]! & 0x7f;
  let offset = 2;
  if (payloadLength === 126) {
    if (data.length < 4) return 'incomplete';
    payloadLength = data.readUInt16BE(2);
    offset = 4;
  } else if (payloadLength === 127) {
    if (data.length < 10) return 'incomplete';
    const long = data.readBigUInt64BE(2);
    if (long > BigInt(maxMessageBytes)) return 'too-large';
    payloadLength = Number(long);
    offset = 10;
  }
  if (payloadLength > maxMessageBytes) return 'too-large';
  const maskLength = masked ? 4 : 0;
  if (data.length < offset + maskLength + payloadLength) return 'incomplete';
  const payload = Buffer.from(data.subarray(offset + maskLength, offset + maskLength + payloadLength));
  if (masked) {
    const mask = data.subarray(offset, offset + 4);
    for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i & 3]!;
  }
  return { fin, opcode, masked, payload, length: offset + maskLength + payloadLength };
}

/** A server frame: final, unmasked (RFC 6455 §5.1: servers never mask). */
function encodeFrame(opcode: Opcode, payload: Buffer): Buffer {
  let header: Buffer;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}
