// The retry loop's pieces as plain functions: the wait between attempts and how a
// request body is held for sending again.
import { expect } from 'chai';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { backoffMs, holdBody } from '../../src/proxy/http-retry.js';

describe('http-retry', () => {
  describe('backoff: the minimum, doubled per retry, capped at ten times the minimum', () => {
    const rows: [retry: number, expected: number][] = [
      [0, 100],
      [1, 200],
      [2, 400],
      [3, 800],
      [4, 1_000],
      [20, 1_000],
    ];
    for (const [retry, expected] of rows) {
      it(`retry ${retry} of backoff 100 ms waits ${expected} ms`, () => {
        expect(backoffMs({ codes: [], attempts: 30, backoffMs: 100 }, retry)).to.equal(expected);
      });
    }
  });

  describe('holdBody', () => {
    const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

    it('a body within the limit is held whole', async () => {
      const held = await holdBody(chunks('ab', 'cd', 'ef'), 6);
      expect(held.kind).to.equal('whole');
      expect(held.kind === 'whole' && held.bytes.toString()).to.equal('abcdef');
    });

    it('a larger body comes back as one stream, the bytes read so far first, nothing lost', async () => {
      const held = await holdBody(chunks('ab', 'cd', 'ef', 'gh'), 3);
      expect(held.kind).to.equal('streamed');
      expect(held.kind === 'streamed' && (await text(held.stream))).to.equal('abcdefgh');
    });

    it('a broken body rejects (the client went away)', async () => {
      const broken = new Readable({ read() { this.destroy(new Error('aborted')); } });
      let failed = false;
      await holdBody(broken, 10).catch(() => (failed = true));
      expect(failed).to.equal(true);
    });
  });
});
