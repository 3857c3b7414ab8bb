// src/proxy/loop-flush.ts: writes held until the end of the event-loop iteration, on real
// TCP sockets. Only when the bytes leave may change: every byte arrives, in order, and
// backpressure, end() and destroy() behave as without it.
import { expect } from 'chai';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setImmediate as nextLoop } from 'node:timers/promises';
import { corkUntilLoopEnd } from '../../src/proxy/loop-flush.js';

interface Peer {
  socket: Socket;
  /** Everything the server side has read, and whether it saw the end. */
  received(): { bytes: string; ended: boolean };
  /** Resolves once the server side has read `length` bytes. */
  receivedLength(length: number): Promise<void>;
}

describe('proxy: writes held until the end of the event-loop iteration', function () {
  let server: net.Server;
  const sockets: Socket[] = [];

  before(async () => {
    server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  async function connect(): Promise<Peer> {
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    const [remote] = await accepted;
    sockets.push(socket, remote);
    const chunks: Buffer[] = [];
    let ended = false;
    remote.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      remote.emit('progress');
    });
    remote.on('end', () => (ended = true));
    const received = () => ({ bytes: Buffer.concat(chunks).toString('latin1'), ended });
    return {
      socket,
      received,
      receivedLength: async (length) => {
        while (received().bytes.length < length) await once(remote, 'progress');
      },
    };
  }

  it('holds the writes of one iteration on every stream, then sends them all, in order', async () => {
    const a = await connect();
    const b = await connect();
    corkUntilLoopEnd(a.socket);
    a.socket.write('GET /1 ');
    corkUntilLoopEnd(b.socket);
    b.socket.write('GET /2');
    corkUntilLoopEnd(a.socket); // again in the same iteration: still one flush
    a.socket.write('HTTP/1.1');
    expect(a.socket.writableLength).to.equal(15);
    expect(b.socket.writableLength).to.equal(6);
    await nextLoop();
    expect(a.socket.writableLength).to.equal(0);
    expect(b.socket.writableLength).to.equal(0);
    await Promise.all([a.receivedLength(15), b.receivedLength(6)]);
    expect(a.received().bytes).to.equal('GET /1 HTTP/1.1');
    expect(b.received().bytes).to.equal('GET /2');
  });

  it('keeps backpressure: write() answers false past the high-water mark and drain follows the flush', async () => {
    const peer = await connect();
    corkUntilLoopEnd(peer.socket);
    const big = Buffer.alloc(peer.socket.writableHighWaterMark + 1, 0x61);
    expect(peer.socket.write(big)).to.equal(false);
    await once(peer.socket, 'drain');
    await peer.receivedLength(big.length);
    expect(peer.received().bytes.length).to.equal(big.length);
  });

  it('sends the bytes and then the end of a stream ended while held, and a destroyed stream does not hold up the others', async () => {
    const ended = await connect();
    const destroyed = await connect();
    const other = await connect();
    for (const peer of [ended, destroyed, other]) {
      corkUntilLoopEnd(peer.socket);
      peer.socket.write('answer');
    }
    ended.socket.end();
    destroyed.socket.destroy();
    await nextLoop();
    await Promise.all([ended.receivedLength(6), other.receivedLength(6)]);
    expect(other.received().bytes).to.equal('answer');
    while (!ended.received().ended) await nextLoop();
    expect(ended.received()).to.deep.equal({ bytes: 'answer', ended: true });
  });

  it('still flushes the other streams when one throws as it is uncorked', async () => {
    const breaking = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    breaking.uncork = () => {
      throw new Error('broken stream');
    };
    const peer = await connect();
    corkUntilLoopEnd(breaking);
    corkUntilLoopEnd(peer.socket);
    peer.socket.write('after the broken one');
    await nextLoop();
    await peer.receivedLength(20);
    expect(peer.received().bytes).to.equal('after the broken one');
  });
});
