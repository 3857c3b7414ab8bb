// A client that sends one request at a time at a steady rate over one kept-alive
// connection (HTTP/1.1, or HTTP/2 with `h2`), and counts every answer that is not a
// 200: the "requests lost" of the reliability report.
//
// HTTP/2 comes in two clients. `h2: 'nghttp2'` (node:http2) handles GOAWAY as RFC 9113
// asks and retries only what the server said it did not process: the zero-loss
// assertion for HTTP/2 rests on it. `h2: 'undici'` fails the request in flight on any
// GOAWAY, even a graceful one (nodejs/undici#5089, fixed only in undici 8, which needs
// Node >= 22.19): those failures are a known client issue, counted apart and not lost.
import { readFileSync } from 'node:fs';
import { Client, request } from 'undici';
import { RetryingHttp2Client } from '../reliability/http2-retrying-client.js';

export interface SteadyFailure {
  at: string;
  error: string;
}

export class SteadyClient {
  ok = 0;
  readonly failures: SteadyFailure[] = [];
  /** Pods (from the echo's "Running on Pod <name>.") that answered, with counts. */
  readonly pods = new Map<string, number>();
  /** undici over HTTP/2: requests failed by a GOAWAY (nodejs/undici#5089), not counted as failures. */
  readonly undiciGoawayFailures: SteadyFailure[] = [];
  /** nghttp2: requests answered after the server refused an earlier attempt (RFC 9113 §8.7). */
  answeredAfterRefusal = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly undici: Client | undefined;
  private readonly nghttp2: RetryingHttp2Client | undefined;

  constructor(
    private readonly origin: string,
    private readonly host: string,
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly options: { h2?: 'undici' | 'nghttp2'; ca?: string; servername?: string } = {},
  ) {
    if (options.h2 === 'nghttp2') {
      this.nghttp2 = new RetryingHttp2Client(origin, { ca: options.ca ?? '', servername: options.servername ?? host, authority: host });
    } else {
      this.undici = new Client(origin, {
        allowH2: options.h2 === 'undici',
        pipelining: 1,
        keepAliveTimeout: 60_000,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
        connect: options.ca ? { ca: options.ca, servername: options.servername ?? host } : undefined,
      });
    }
  }

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        const started = Date.now();
        await this.once();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.intervalMs - (Date.now() - started))));
      }
    })();
    return this;
  }

  private async once(): Promise<void> {
    try {
      const { status, body } = await this.send();
      if (status !== 200) {
        this.failures.push({ at: new Date().toISOString(), error: `status ${status}: ${body.slice(0, 200)}` });
        return;
      }
      this.ok++;
      const pod = /Running on Pod ([^.\s]+)/.exec(body)?.[1] ?? '?';
      this.pods.set(pod, (this.pods.get(pod) ?? 0) + 1);
    } catch (error) {
      const failure = { at: new Date().toISOString(), error: (error as Error).message };
      if (this.options.h2 === 'undici' && /GOAWAY/.test(failure.error)) this.undiciGoawayFailures.push(failure);
      else this.failures.push(failure);
    }
  }

  private async send(): Promise<{ status: number; body: string }> {
    if (this.nghttp2) {
      const answer = await this.nghttp2.get(this.path);
      if (answer.retries) this.answeredAfterRefusal++;
      return answer;
    }
    const response = await this.undici!.request({ path: this.path, method: 'GET', headers: { host: this.host } });
    return { status: response.statusCode, body: await response.body.text() };
  }

  total(): number {
    return this.ok + this.failures.length;
  }

  /** Counts, and the last failures since the `since`-th one. */
  describe(since = 0): string {
    const recent = this.failures.slice(since).slice(-5);
    const known = this.options.h2 === 'undici' ? `, ${this.undiciGoawayFailures.length} failed by a GOAWAY (undici, known: nodejs/undici#5089)` : '';
    const refused = this.options.h2 === 'nghttp2' ? `, ${this.answeredAfterRefusal} answered after a refused attempt` : '';
    return `${this.origin}${this.path}${this.options.h2 ? ` (h2, ${this.options.h2})` : ''}: ${this.ok} ok, ${this.failures.length} failed${known}${refused}${recent.length ? `; latest: ${JSON.stringify(recent)}` : ''}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.nghttp2?.close();
    await this.undici?.close();
  }
}

/** A plain GET (new connection each time); the status, or an error message. */
export async function probe(url: string, host: string): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const response = await request(url, { headers: { host, connection: 'close' }, headersTimeout: 5000, bodyTimeout: 5000 });
    return { status: response.statusCode, body: await response.body.text() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The supervised processes of a local cluster, from its status.json. */
export function componentPid(statusFile: string, name: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(statusFile, 'utf8')) as { components: Record<string, { pid?: number }> }).components[name]?.pid;
  } catch {
    return undefined;
  }
}

/** Whether a process is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
