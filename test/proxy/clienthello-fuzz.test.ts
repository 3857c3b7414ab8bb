// Fuzzes parseClientHello with random bytes and mutated real hellos. The seed is
// printed; rerun with CLIENTHELLO_FUZZ_SEED=<seed>, or explore with
// CLIENTHELLO_FUZZ_SEED=random (and CLIENTHELLO_FUZZ_ITERATIONS=<n>). The seed fixes the
// random inputs and the sequence of mutations; the real hellos are captured afresh each
// run, and their random and key_share bytes differ, so every failure message also
// carries the whole failing input in hex: that alone reproduces it.
import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import { parseClientHello, type ClientHelloParseResult, type ClientHelloRejection } from '../../src/proxy/clienthello.js';
import { frameRecords, handshakeBytesOf, randomFragmentSizes, seededRandom, typicalHello } from './clienthello-builder.js';
import { captureClientHello, nodeWithServerName, opensslClient } from './clienthello-capture.js';

const DEFAULT_SEED = 0x0c11e7;
const ITERATIONS = Number(process.env.CLIENTHELLO_FUZZ_ITERATIONS ?? 20_000);

const rejections: ReadonlySet<ClientHelloRejection> = new Set<ClientHelloRejection>([
  'not-tls', 'http', 'sslv2', 'not-handshake', 'not-client-hello', 'record-overflow', 'too-large', 'malformed', 'duplicate-extension', 'invalid-server-name',
]);

function chooseSeed(): number {
  const configured = process.env.CLIENTHELLO_FUZZ_SEED;
  if (configured === undefined || configured === '') return DEFAULT_SEED;
  if (configured === 'random') return (Math.random() * 2 ** 32) >>> 0;
  return Number(configured) >>> 0;
}

type Random = () => number;
const randomInt = (random: Random, below: number) => Math.floor(random() * below);

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = randomInt(random, 256);
  return bytes;
}

/** Random bytes, usually behind a plausible record + handshake header so the fuzz gets past byte 0. */
function randomInput(random: Random): Buffer {
  const body = randomBytes(random, randomInt(random, 600));
  switch (randomInt(random, 4)) {
    case 0:
      return body;
    case 1:
      return Buffer.concat([Buffer.from([22, 3, 1]), body]);
    default: {
      const length = Math.min(body.length + 4, 0x4000);
      return Buffer.concat([Buffer.from([22, 3, 1, length >> 8, length & 0xff, 1, 0, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
    }
  }
}

/** One or more mutations of a valid hello: bit flips, truncation, length-field corruption, splices, re-framing. */
function mutate(random: Random, original: Buffer): Buffer {
  let bytes: Buffer = Buffer.from(original);
  const rounds = 1 + randomInt(random, 3);
  for (let round = 0; round < rounds && bytes.length > 0; round++) {
    const at = randomInt(random, bytes.length);
    switch (randomInt(random, 7)) {
      case 0: // bit flips
        for (let flips = 1 + randomInt(random, 8); flips > 0; flips--) bytes[randomInt(random, bytes.length)] ^= 1 << randomInt(random, 8);
        break;
      case 1: // truncation
        bytes = bytes.subarray(0, at);
        break;
      case 2: // a length field set to an extreme or off-by-one value
        if (at + 1 < bytes.length) {
          const current = bytes.readUInt16BE(at);
          const replacements = [0, 1, 0xffff, 0x4000, 0x4001, current + 1, current - 1, current + 2];
          bytes.writeUInt16BE(replacements[randomInt(random, replacements.length)]! & 0xffff, at);
        }
        break;
      case 3: // random bytes inserted
        bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(random, 1 + randomInt(random, 16)), bytes.subarray(at)]);
        break;
      case 4: // a span deleted
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + randomInt(random, 16)))]);
        break;
      case 5: // a span duplicated (e.g. an extension twice)
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + 1 + randomInt(random, 40)), bytes.subarray(at)]);
        break;
      default: // re-framed into random records, then perhaps mutated further
        bytes = frameRecords(handshakeBytesOf(bytes), randomFragmentSizes(random, bytes.length, 1 + randomInt(random, 64)));
    }
  }
  return bytes;
}

/** Parses (a hang would hit the test's timeout; speed is not asserted here), turning a throw into a test failure that shows the input. */
function parseChecked(input: Buffer, maxBytes: number, context: string): ClientHelloParseResult {
  let result: ClientHelloParseResult;
  try {
    result = parseClientHello(input, { maxBytes });
  } catch (error) {
    expect.fail(`${context}: parseClientHello threw ${String(error)} for ${input.toString('hex')}`);
  }
  checkShape(result, input, maxBytes, context);
  return result;
}

function checkShape(result: ClientHelloParseResult, input: Buffer, maxBytes: number, context: string): void {
  const where = () => `${context}: ${JSON.stringify(result)} for ${input.toString('hex')}`;
  switch (result.kind) {
    case 'incomplete':
      if (!Number.isInteger(result.need) || result.need < 1) expect.fail(`need must be a positive integer; ${where()}`);
      return;
    case 'invalid':
      if (!rejections.has(result.reason) || result.detail.length === 0) expect.fail(`unknown reason or empty detail; ${where()}`);
      return;
    case 'complete':
      if (result.consumed > input.length || result.consumed > maxBytes) expect.fail(`consumed out of bounds; ${where()}`);
      if (result.hello.serverName !== undefined && !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(result.hello.serverName)) expect.fail(`serverName not normalised; ${where()}`);
      return;
    default:
      expect.fail(`unknown result kind; ${where()}`);
  }
}

/**
 * Properties tying a buffer's result to its prefixes:
 * - complete with `consumed` c: the first c bytes give the same hello, c-1 bytes are incomplete;
 * - incomplete at prefix p with need k: p+j bytes for any j < k are still incomplete;
 * - invalid at a prefix: the whole buffer is invalid for the same reason (more bytes never repair).
 */
function checkPrefixes(random: Random, input: Buffer, maxBytes: number, whole: ClientHelloParseResult, context: string): void {
  if (whole.kind === 'complete') {
    const exact = parseChecked(input.subarray(0, whole.consumed), maxBytes, `${context} [exact]`);
    if (!isDeepStrictEqual(exact, whole)) expect.fail(`${context}: the first ${whole.consumed} bytes gave ${JSON.stringify(exact)}, the whole ${JSON.stringify(whole)}`);
    const short = parseChecked(input.subarray(0, whole.consumed - 1), maxBytes, `${context} [short]`);
    if (short.kind !== 'incomplete') expect.fail(`${context}: one byte short gave ${JSON.stringify(short)} for ${input.toString('hex')}`);
  }
  const length = randomInt(random, input.length + 1);
  const prefix = parseChecked(input.subarray(0, length), maxBytes, `${context} [prefix ${length}]`);
  if (prefix.kind === 'invalid' && (whole.kind !== 'invalid' || whole.reason !== prefix.reason)) {
    expect.fail(`${context}: prefix of ${length} bytes is invalid/${prefix.reason} but the whole is ${JSON.stringify(whole)}; input ${input.toString('hex')}`);
  }
  if (prefix.kind === 'incomplete' && prefix.need > 1) {
    const further = length + 1 + randomInt(random, prefix.need - 1);
    if (further <= input.length) {
      const later = parseChecked(input.subarray(0, further), maxBytes, `${context} [prefix ${further}]`);
      if (later.kind !== 'incomplete') {
        expect.fail(`${context}: need ${prefix.need} at ${length} bytes, yet ${further} bytes gave ${JSON.stringify(later)}; input ${input.toString('hex')}`);
      }
    }
  }
}

describe('parseClientHello fuzz', function () {
  this.timeout(60_000);
  const seed = chooseSeed();
  const corpus: Buffer[] = [typicalHello(), typicalHello('Sub.Example.ORG.')];

  before(async function () {
    console.log(`      clienthello fuzz seed ${seed} (${ITERATIONS} iterations; rerun with CLIENTHELLO_FUZZ_SEED=${seed})`);
    for (const client of [nodeWithServerName, opensslClient]) {
      if (client.unavailable() === undefined) corpus.push(await captureClientHello(client));
    }
  });

  it('never throws and always answers complete, incomplete or invalid, consistently across prefixes', function () {
    const random = seededRandom(seed);
    const counts = { complete: 0, incomplete: 0, invalid: 0 };
    const started = Date.now();
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const context = `seed ${seed} iteration ${iteration}`;
      const fromCorpus = random() < 0.75;
      const input = fromCorpus ? mutate(random, corpus[randomInt(random, corpus.length)]!) : randomInput(random);
      const maxBytes = random() < 0.1 ? 16 + randomInt(random, 1024) : 16 * 1024;
      const whole = parseChecked(input, maxBytes, context);
      counts[whole.kind] += 1;
      checkPrefixes(random, input, maxBytes, whole, context);
    }
    console.log(`      ${JSON.stringify(counts)} in ${Date.now() - started} ms`);
    // A fuzz that never reaches the deep paths proves little: each kind must show up.
    expect(counts.complete, 'complete results').to.be.greaterThan(ITERATIONS / 100);
    expect(counts.invalid, 'invalid results').to.be.greaterThan(ITERATIONS / 10);
    expect(counts.incomplete, 'incomplete results').to.be.greaterThan(ITERATIONS / 100);
  });
});
