// An HTTP/2 client (node:http2, i.e. nghttp2) that handles GOAWAY as RFC 9113 §6.8 and
// §8.7 ask: streams the server processed (id <= the GOAWAY's last-stream-id) complete on
// the old session; a request the server says it did not process — a stream it refused
// (REFUSED_STREAM, which nghttp2 also applies to streams above the last-stream-id), or
// one that could not be opened because the session had already received a GOAWAY — is
// retried on a new session. Anything else (a reset after the server took the stream, a
// connection error, a truncated answer) is a failure, never retried.
//
// undici 7 cannot be that client: it fails the request in flight on any GOAWAY
// (nodejs/undici#5089; fixed in undici 8, which needs Node >= 22.19).
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

const { NGHTTP2_REFUSED_STREAM } = http2.constants;

export interface Http2Answer {
  status: number;
  body: string;
  /** Attempts the server refused before this one answered. */
  retries: number;
}

/** Why an attempt got no answer. `unprocessed` is retried; `failed` is not. */
type AttemptOutcome = { kind: 'answer'; status: number; body: string } | { kind: 'unprocessed' | 'failed'; error: string };

export interface ReceivedGoaway {
  errorCode: number;
  lastStreamId: number;
}

export class RetryingHttp2Client {
  readonly goaways: ReceivedGoaway[] = [];
  /** Request ids (the `x-request-id` header of each attempt) the server said it did not process. */
  readonly unprocessedIds: string[] = [];
  sessionsOpened = 0;
  private session: ClientHttp2Session | undefined;
  private nextId = 0;

  constructor(
    private readonly origin: string,
    private readonly options: { ca: string; servername: string; authority: string; idPrefix?: string; maxRetries?: number },
  ) {}

  /** A GET; refused attempts are retried on a new session, each with its own `x-request-id`. */
  async get(path: string): Promise<Http2Answer> {
    const maxRetries = this.options.maxRetries ?? 3;
    for (let retries = 0; ; retries++) {
      const id = `${this.options.idPrefix ?? 'h2'}-${this.nextId++}`;
      const outcome = await this.attempt(path, id);
      if (outcome.kind === 'answer') return { status: outcome.status, body: outcome.body, retries };
      if (outcome.kind === 'unprocessed') this.unprocessedIds.push(id);
      if (outcome.kind === 'failed' || retries >= maxRetries) throw new Error(`${outcome.error} (request ${id}, after ${retries} retries)`);
    }
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** The current session, or a new one when it is gone or has received a GOAWAY. */
  private current(): ClientHttp2Session {
    const session = this.session;
    if (session && !session.closed && !session.destroyed) return session;
    const fresh = http2.connect(this.origin, { ca: this.options.ca, servername: this.options.servername });
    this.sessionsOpened++;
    fresh.on('error', () => {}); // reported through the streams
    fresh.on('goaway', (errorCode: number, lastStreamId: number) => {
      this.goaways.push({ errorCode, lastStreamId });
      if (this.session === fresh) this.session = undefined; // no new stream on it (RFC 9113 §6.8)
    });
    fresh.on('close', () => {
      if (this.session === fresh) this.session = undefined;
    });
    this.session = fresh;
    return fresh;
  }

  private attempt(path: string, id: string): Promise<AttemptOutcome> {
    return new Promise((resolve) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.current().request({ ':path': path, ':authority': this.options.authority, 'x-request-id': id });
      } catch (error) {
        // ERR_HTTP2_GOAWAY_SESSION / ERR_HTTP2_INVALID_SESSION: nothing was sent.
        resolve({ kind: 'unprocessed', error: (error as Error).message });
        return;
      }
      let status = 0;
      let body = '';
      let settled = false;
      const settle = (outcome: AttemptOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      stream.setEncoding('utf8');
      stream.on('response', (headers: IncomingHttpHeaders) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: string) => (body += chunk));
      stream.on('end', () => settle(status ? { kind: 'answer', status, body } : { kind: 'failed', error: 'stream ended without a response' }));
      // A stream whose HEADERS never left (the session received a GOAWAY first).
      stream.on('frameError', (type: number) => {
        if (type === 1) settle({ kind: 'unprocessed', error: 'HEADERS not sent: the session received a GOAWAY' });
      });
      const closedBeforeEnd = () => {
        if (stream.rstCode === NGHTTP2_REFUSED_STREAM && !status) settle({ kind: 'unprocessed', error: `stream ${stream.id} refused (REFUSED_STREAM)` });
        else settle({ kind: 'failed', error: `stream ${stream.id ?? '?'} closed before its answer ended (rstCode ${stream.rstCode}, status ${status || 'none'})` });
      };
      stream.on('error', closedBeforeEnd);
      stream.on('close', closedBeforeEnd);
      stream.setTimeout(10_000, () => {
        settle({ kind: 'failed', error: 'no answer within 10 s' });
        stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      stream.end();
    });
  }
}
