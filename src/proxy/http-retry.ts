// The pieces of HTTPRouteRetry (GEP-1731) that do not depend on how a request is sent:
// a response sink that discards an answer whose status is to be retried, the request
// body held so it can be sent again, the wait between attempts, and a RetryRun that
// holds them for one request. The forwarder's loop (HttpForwarder.forward) asks the run
// whether to go again; rules without a retry policy have no run and never reach this.
import { Readable } from 'node:stream';
import type { HttpRetryPolicy } from '../ir/types.js';
import type { HeaderMap } from './http-filters.js';
import type { AttemptOutcome, ResponseSink, ResponseStartOptions } from './http-forwarder.js';

/**
 * The most request body the proxy holds to send it more than once (retries, mirrors): a
 * larger body is streamed to the backend once, without retries or copies (holding it
 * would cost that much memory per request).
 */
export const HELD_BODY_LIMIT_BYTES = 64 * 1024;

/** Backoff never grows past this multiple of the policy's minimum. */
const BACKOFF_CAP_FACTOR = 10;

/**
 * Passes an attempt's answer to the client, unless retries remain and its status is one
 * of the policy's codes: then the answer is read and dropped, and `discarded` says so.
 */
export class RetryingSink implements ResponseSink {
  private retriable = false;
  private dropped = false;

  constructor(
    private readonly sink: ResponseSink,
    private readonly codes: ReadonlySet<number>,
  ) {}

  /** Before each attempt: whether another one may follow it. */
  beginAttempt(anotherMayFollow: boolean): void {
    this.retriable = anotherMayFollow;
    this.dropped = false;
  }

  /** The current attempt's answer had a retriable status and was dropped. */
  get discarded(): boolean {
    return this.dropped;
  }

  get headersSent(): boolean {
    return this.sink.headersSent;
  }

  get status(): number {
    return this.sink.status;
  }

  start(status: number, headers: HeaderMap, options?: ResponseStartOptions): void {
    if (this.retriable && this.codes.has(status)) {
      this.dropped = true;
      return;
    }
    this.sink.start(status, headers, options);
  }

  write(chunk: Buffer): boolean {
    return this.dropped ? true : this.sink.write(chunk);
  }

  onceDrain(callback: () => void): void {
    this.sink.onceDrain(callback);
  }

  end(trailers?: HeaderMap): void {
    if (!this.dropped) this.sink.end(trailers);
  }

  abort(): void {
    if (!this.dropped) this.sink.abort();
  }

  onClientGone(callback: () => void): void {
    this.sink.onClientGone(callback);
  }
}

/** A request body as the retry loop holds it: whole (sendable again), or too large (sent once). */
export type HeldBody = { kind: 'whole'; bytes: Buffer } | { kind: 'streamed'; stream: Readable };

/**
 * Reads the body up to `limit` bytes. If it ends within the limit it is held whole;
 * otherwise the bytes read so far are put back in front of the rest, as one stream.
 */
export async function holdBody(body: Readable, limit: number): Promise<HeldBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { kind: 'whole', bytes: Buffer.concat(chunks, size) };
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) break;
  }
  async function* readAgain(): AsyncGenerator<Buffer> {
    yield* chunks;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { kind: 'streamed', stream: Readable.from(readAgain(), { objectMode: false }) };
}

/** A fresh stream of a held body, for one attempt. */
export function bodyStream(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}

/** The wait before retry number `retry` (0 for the first): the minimum, doubled each time, capped. */
export function backoffMs(policy: HttpRetryPolicy, retry: number): number {
  return Math.min(policy.backoffMs * 2 ** retry, policy.backoffMs * BACKOFF_CAP_FACTOR);
}

/** Waits `ms`, or less if `interrupt` is called (client gone, request timeout). */
export function interruptibleDelay(ms: number, onInterruptible: (interrupt: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    onInterruptible(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const retryCodeSets = new WeakMap<HttpRetryPolicy, ReadonlySet<number>>();

/** The policy's codes as a set, made once per policy. */
export function retryCodes(policy: HttpRetryPolicy): ReadonlySet<number> {
  let codes = retryCodeSets.get(policy);
  if (!codes) retryCodeSets.set(policy, (codes = new Set(policy.codes)));
  return codes;
}

/**
 * HTTPRouteRetry: a retriable status (its answer dropped), a connection that failed or
 * was reset before any answer (HTTPRouteRetryConnectionError), no endpoint accepting one,
 * or the backendRequest timeout (HTTPRouteRetryBackendTimeout). An answer already on its
 * way to the client is never retried.
 */
export function worthRetrying(outcome: AttemptOutcome, sink: RetryingSink): boolean {
  switch (outcome.kind) {
    case 'completed':
      return sink.discarded;
    case 'failed':
    case 'timeout':
      return !sink.headersSent;
    case 'not-sent':
      return true;
    case 'client-gone':
      return false;
  }
}

/**
 * One request's retries under a policy: the sink that drops retriable answers, the held
 * body for each attempt, how many retries are left, and the wait before the next one.
 */
export class RetryRun {
  readonly sink: RetryingSink;
  private retries = 0;

  constructor(
    client: ResponseSink,
    private readonly policy: HttpRetryPolicy,
    private readonly held: HeldBody | undefined,
  ) {
    this.sink = new RetryingSink(client, retryCodes(policy));
    this.sink.beginAttempt(this.anotherMayFollow());
  }

  /** Whether the attempt that ended with `outcome` is to be followed by another. */
  worthAnother(outcome: AttemptOutcome): boolean {
    return this.anotherMayFollow() && worthRetrying(outcome, this.sink);
  }

  /** The wait before the next attempt; `onInterruptible` gets the way to cut it short. */
  backoff(onInterruptible: (interrupt: () => void) => void): Promise<void> {
    return interruptibleDelay(backoffMs(this.policy, this.retries), onInterruptible);
  }

  /** Starts the next attempt; its request body. */
  nextAttempt(): Readable | null {
    this.retries++;
    this.sink.beginAttempt(this.anotherMayFollow());
    return this.held === undefined ? null : this.held.kind === 'whole' ? bodyStream(this.held.bytes) : this.held.stream;
  }

  private anotherMayFollow(): boolean {
    return this.retries < this.policy.attempts && this.held?.kind !== 'streamed';
  }
}
