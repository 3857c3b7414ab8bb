// A client that sends one request at a time at a steady rate over one kept-alive
// connection (HTTP/1.1, or HTTP/2 with `h2`), and counts every answer that is not a
// 200: the "requests lost" of the reliability report.
import { readFileSync } from 'node:fs';
import { Client, request } from 'undici';

export interface SteadyFailure {
  at: string;
  error: string;
}

export class SteadyClient {
  ok = 0;
  readonly failures: SteadyFailure[] = [];
  /** Pods (from the echo's "Running on Pod <name>.") that answered, with counts. */
  readonly pods = new Map<string, number>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly client: Client;
  private readonly h2: boolean;

  constructor(
    private readonly origin: string,
    private readonly host: string,
    private readonly path: string,
    private readonly intervalMs: number,
    options: { h2?: boolean; ca?: string; servername?: string } = {},
  ) {
    this.h2 = options.h2 ?? false;
    this.client = new Client(origin, {
      allowH2: options.h2 ?? false,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
      connect: options.ca ? { ca: options.ca, servername: options.servername ?? host } : undefined,
    });
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

  /** Requests an HTTP/2 GOAWAY refused and a retry on a new connection answered (see `once`). */
  retriedAfterGoaway = 0;

  private async once(): Promise<void> {
    try {
      await this.attempt();
    } catch (error) {
      // undici 7 fails the request in flight on any GOAWAY, even a graceful one for a
      // stream the server had not taken (nodejs/undici#5089); a well-behaved HTTP/2
      // client retries such a request on a new connection (RFC 9113 §8.7). Counted apart.
      if (this.h2 && /GOAWAY/.test((error as Error).message)) {
        try {
          await this.attempt();
          this.retriedAfterGoaway++;
          return;
        } catch (again) {
          error = again;
        }
      }
      this.failures.push({ at: new Date().toISOString(), error: (error as Error).message });
    }
  }

  private async attempt(): Promise<void> {
    const response = await this.client.request({ path: this.path, method: 'GET', headers: { host: this.host } });
    const body = await response.body.text();
    if (response.statusCode !== 200) {
      this.failures.push({ at: new Date().toISOString(), error: `status ${response.statusCode}: ${body.slice(0, 200)}` });
      return;
    }
    this.ok++;
    const pod = /Running on Pod ([^.\s]+)/.exec(body)?.[1] ?? '?';
    this.pods.set(pod, (this.pods.get(pod) ?? 0) + 1);
  }

  total(): number {
    return this.ok + this.failures.length;
  }

  /** Counts, and the last failures since the `since`-th one. */
  describe(since = 0): string {
    const recent = this.failures.slice(since).slice(-5);
    return `${this.origin}${this.path}${this.h2 ? ' (h2)' : ''}: ${this.ok} ok, ${this.failures.length} failed${this.retriedAfterGoaway ? `, ${this.retriedAfterGoaway} retried after a GOAWAY` : ''}${recent.length ? `; latest: ${JSON.stringify(recent)}` : ''}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.client.close();
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
