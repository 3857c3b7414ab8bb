// Pooled connections to HTTP backends, one pool per endpoint and way of speaking to it:
//
// - HTTP/1.1: keep-alive connections reused across requests: the lean client
//   (http1-client.ts) for bodiless requests to plain-TCP backends, an undici Pool (built
//   on first use) for requests with bodies and for TLS backends;
// - HTTP/2 (h2c prior knowledge, or h2 over TLS): one node:http2 client session per
//   endpoint, multiplexing every request (gRPC backends).
//
// Pools outlive configurations: a new config that keeps an endpoint keeps its warm
// connections. Each configuration generation acquires the pools it uses and releases
// them when it is disposed (retired and its last client connection closed); a pool no
// generation holds is closed gracefully (in-flight requests finish).
import { createHash } from 'node:crypto';
import http2, { type ClientHttp2Session } from 'node:http2';
import { isIPv6 } from 'node:net';
import tls, { type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { Pool } from 'undici';
import type { Endpoint, UpstreamProtocol, UpstreamTls } from '../ir/types.js';
import { hostnameMatches } from './hostname-match.js';
import { LeanHttp1Pool } from './http1-client.js';
import type { ProxyOptions } from './proxy-options.js';

export type HttpUpstream = Http1Upstream | Http2Upstream;

function hostForUrl(address: string): string {
  return isIPv6(address) ? `[${address}]` : address;
}

/** `checkServerIdentity` for BackendTLSPolicy: `subjectAltNames` replace the hostname check when given. */
function serverIdentityCheck(policy: UpstreamTls): (host: string, cert: PeerCertificate) => Error | undefined {
  const sans = policy.subjectAltNames ?? [];
  if (sans.length === 0) return (_host, cert) => tls.checkServerIdentity(policy.serverName, cert);
  return (_host, cert) => {
    const presented = (cert.subjectaltname ?? '').split(', ');
    for (const san of sans) {
      if (san.type === 'URI' && presented.includes(`URI:${san.uri}`)) return undefined;
      if (san.type === 'Hostname') {
        for (const entry of presented) {
          if (!entry.startsWith('DNS:')) continue;
          const dns = entry.slice(4).toLowerCase();
          if (dns === san.hostname || (!san.hostname.startsWith('*.') && hostnameMatches(dns, san.hostname))) return undefined;
        }
      }
    }
    return Object.assign(new Error(`the backend certificate carries none of the subject alternative names the BackendTLSPolicy requires (${sans.map((s) => (s.type === 'URI' ? s.uri : s.hostname)).join(', ')})`), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  };
}

/** TLS client options for a backend (BackendTLSPolicy, resolved). */
export function upstreamTlsOptions(policy: UpstreamTls, alpn: readonly string[]): ConnectionOptions {
  const options: ConnectionOptions = {
    servername: policy.serverName,
    rejectUnauthorized: true,
    checkServerIdentity: serverIdentityCheck(policy),
    ALPNProtocols: [...alpn],
  };
  if (policy.trust.kind === 'CaBundle') options.ca = policy.trust.caCertificatesPem;
  if (policy.clientCertificate) {
    options.cert = policy.clientCertificate.certificateChainPem;
    options.key = policy.clientCertificate.privateKeyPem;
  }
  return options;
}

/** The registry key: endpoint, protocol, and a digest of the TLS policy (no key material in the key itself). */
export function upstreamKey(endpoint: Endpoint, protocol: UpstreamProtocol, policy: UpstreamTls | undefined): string {
  const tlsDigest = policy ? createHash('sha256').update(JSON.stringify(policy)).digest('base64url').slice(0, 16) : 'plain';
  return `${protocol}|${endpoint.address}|${endpoint.port}|${tlsDigest}`;
}

export class Http1Upstream {
  readonly protocol = 'HTTP/1.1' as const;
  /**
   * The SNI for upstream TLS. Passed with every request: undici otherwise derives the
   * SNI from the request's Host header (core/request.js), which is the client's host.
   * A plain-HTTP pool never uses it, but gets the endpoint's address all the same: that
   * derivation runs net.isIP over the Host header on every request (seen in the
   * keep-alive profile).
   */
  readonly servername: string;
  /** Plain-TCP backends: bodiless requests go through the lean client (http1-client.ts) instead of undici. */
  readonly lean: LeanHttp1Pool | undefined;
  /** Built on first use: with the lean client, only requests with bodies need it. */
  private undici: Pool | undefined;

  constructor(
    readonly key: string,
    readonly endpoint: Endpoint,
    private readonly policy: UpstreamTls | undefined,
    private readonly options: ProxyOptions,
  ) {
    this.servername = policy?.serverName ?? endpoint.address;
    this.lean =
      policy || options.http1Client !== 'lean'
        ? undefined
        : new LeanHttp1Pool(endpoint.address, endpoint.port, {
            keepAliveTimeoutMs: options.upstreamKeepAliveTimeoutMs,
            headersTimeoutMs: options.upstreamHeadersTimeoutMs,
            connectTimeoutMs: options.upstreamConnectTimeoutMs,
            maxHeaderSize: Math.max(options.maxHeaderSize, 16 * 1024),
          });
  }

  /** undici's keep-alive pool for this endpoint. */
  get pool(): Pool {
    return (this.undici ??= this.createPool());
  }

  private createPool(): Pool {
    const { endpoint, policy, options } = this;
    const scheme = policy ? 'https' : 'http';
    const pool = new Pool(`${scheme}://${hostForUrl(endpoint.address)}:${endpoint.port}`, {
      pipelining: 1,
      keepAliveTimeout: options.upstreamKeepAliveTimeoutMs,
      headersTimeout: options.upstreamHeadersTimeoutMs,
      bodyTimeout: 0,
      maxHeaderSize: Math.max(options.maxHeaderSize, 16 * 1024),
      connect: { timeout: options.upstreamConnectTimeoutMs, ...(policy ? upstreamTlsOptions(policy, ['http/1.1']) : {}) },
    });
    // A pool emits 'connectionError' for refused connections; the request's own error is what we act on.
    pool.on('connectionError', () => {});
    return pool;
  }

  close(): void {
    this.undici?.close().catch(() => {});
    void this.lean?.close();
  }
}

export class Http2SessionError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class Http2Upstream {
  readonly protocol = 'HTTP/2' as const;
  private current: ClientHttp2Session | undefined;
  private connecting: Promise<ClientHttp2Session> | undefined;
  private closed = false;
  private readonly authority: string;
  /** The `:scheme` of requests on this session. */
  readonly authorityScheme: 'http' | 'https';

  constructor(
    readonly key: string,
    readonly endpoint: Endpoint,
    private readonly policy: UpstreamTls | undefined,
    private readonly options: ProxyOptions,
  ) {
    this.authorityScheme = policy ? 'https' : 'http';
    this.authority = `${this.authorityScheme}://${hostForUrl(endpoint.address)}:${endpoint.port}`;
  }

  /** A connected session, reusing the current one while it accepts streams. */
  session(): Promise<ClientHttp2Session> {
    const current = this.current;
    if (current && !current.closed && !current.destroyed && !current.connecting) return Promise.resolve(current);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Forget a session that refused a stream (GOAWAY race), so the next call connects anew. */
  discard(session: ClientHttp2Session): void {
    if (this.current === session) this.current = undefined;
  }

  private connect(): Promise<ClientHttp2Session> {
    if (this.closed) return Promise.reject(new Http2SessionError('the upstream pool is closed', 'ERR_UPSTREAM_CLOSED'));
    return new Promise((resolve, reject) => {
      const session = http2.connect(this.authority, {
        ...(this.policy ? upstreamTlsOptions(this.policy, ['h2']) : {}),
        settings: { enablePush: false },
        maxHeaderListPairs: 256,
      });
      const timer = setTimeout(() => fail(new Http2SessionError(`connect timed out after ${this.options.upstreamConnectTimeoutMs} ms`, 'ETIMEDOUT')), this.options.upstreamConnectTimeoutMs);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        session.destroy();
        reject(error);
      };
      session.once('error', fail);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', fail);
        session.on('error', () => this.discard(session));
        session.once('goaway', () => this.discard(session));
        session.once('close', () => this.discard(session));
        // Idle sessions go away; an active one never times out (streams count as activity).
        session.setTimeout(this.options.http2IdleTimeoutMs, () => session.close());
        this.current = session;
        resolve(session);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }
}

/** Pools by upstreamKey, reference-counted by the configuration generations that use them. */
export class UpstreamRegistry {
  private readonly entries = new Map<string, { upstream: HttpUpstream; references: number }>();

  constructor(private readonly options: ProxyOptions) {}

  acquire(endpoint: Endpoint, protocol: UpstreamProtocol, policy: UpstreamTls | undefined): HttpUpstream {
    const key = upstreamKey(endpoint, protocol, policy);
    let entry = this.entries.get(key);
    if (!entry) {
      const upstream = protocol === 'HTTP/2' ? new Http2Upstream(key, endpoint, policy, this.options) : new Http1Upstream(key, endpoint, policy, this.options);
      entry = { upstream, references: 0 };
      this.entries.set(key, entry);
    }
    entry.references++;
    return entry.upstream;
  }

  /** One more reference on a pool a live generation holds (a new generation reusing its plan). */
  retain(upstream: HttpUpstream): void {
    const entry = this.entries.get(upstream.key);
    if (!entry || entry.upstream !== upstream) throw new Error(`upstream pool ${upstream.key} is reused after it was released`);
    entry.references++;
  }

  release(upstream: HttpUpstream): void {
    const entry = this.entries.get(upstream.key);
    if (!entry || entry.upstream !== upstream) return;
    if (--entry.references > 0) return;
    this.entries.delete(upstream.key);
    upstream.close();
  }

  get size(): number {
    return this.entries.size;
  }
}
