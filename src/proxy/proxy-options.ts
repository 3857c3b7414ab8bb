// The proxy's process-level tunables: timeouts and bounds that protect it from slow or
// hostile clients. They come from command-line flags (main.ts), not from the IR: they
// are properties of the deployment, the same for every Gateway served.

export interface ProxyOptions {
  /** A TLS port waits this long for a complete ClientHello (silent clients). */
  clientHelloTimeoutMs: number;
  /** The ClientHello, record headers included, may not exceed this (RFC 8446 §5.1 allows one 16 KiB record). */
  clientHelloMaxBytes: number;
  /** From the ClientHello to the end of a terminated handshake. */
  handshakeTimeoutMs: number;
  /** Plain HTTP ports: the first bytes (to tell HTTP/1.1 from an h2c preface) must come this soon. */
  firstBytesTimeoutMs: number;
  /** HTTP/1.1: complete request headers within this (Node's headersTimeout: slowloris). */
  headersTimeoutMs: number;
  /** HTTP/1.1: the complete request within this; 0 disables. */
  requestTimeoutMs: number;
  /** HTTP/1.1: idle keep-alive connections close after this. */
  keepAliveTimeoutMs: number;
  /** HTTP/2: idle sessions close (GOAWAY) after this. */
  http2IdleTimeoutMs: number;
  /** Largest request head accepted (HTTP/1.1 maxHeaderSize; HTTP/2 maxHeaderListSize). */
  maxHeaderSize: number;
  /** Connecting to one backend endpoint gives up after this (then the next endpoint is tried). */
  upstreamConnectTimeoutMs: number;
  /** How many endpoints one request or stream tries before giving up. */
  upstreamMaxAttempts: number;
  /** Idle pooled HTTP/1.1 connections to backends close after this. */
  upstreamKeepAliveTimeoutMs: number;
  /** Waiting for a backend's response headers gives up after this unless the route sets a timeout; 0 disables. */
  upstreamHeadersTimeoutMs: number;
  /** TCP and passthrough streams close after this long without traffic in either direction (a half-open stream whose peer vanished must end some day; Envoy tcp_proxy also defaults to 1 h); 0 disables. */
  streamIdleTimeoutMs: number;
  /** On SIGTERM/SIGINT: how long requests and streams in flight may take to finish before they are cut. */
  drainTimeoutMs: number;
  /**
   * Who serves HTTP/1.1: 'lean' parses bodiless requests itself and hands everything else
   * to node:http (http1-server.ts); 'node' gives every connection to node:http.
   */
  http1Server: 'lean' | 'node';
  /** Who sends bodiless HTTP/1.1 requests to plain-TCP backends: 'lean' (http1-client.ts) or 'undici' (always used for bodies and TLS backends). */
  http1Client: 'lean' | 'undici';
  /** One JSON line per HTTP request on stderr (component `access`). */
  accessLog: boolean;
  /** 48 bytes shared by all workers so TLS session tickets resume on any of them; absent: random per process. */
  ticketKeys?: Buffer;
}

export const DEFAULT_PROXY_OPTIONS: Readonly<ProxyOptions> = Object.freeze({
  clientHelloTimeoutMs: 5_000,
  clientHelloMaxBytes: 16 * 1024,
  handshakeTimeoutMs: 10_000,
  firstBytesTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  http2IdleTimeoutMs: 120_000,
  maxHeaderSize: 16 * 1024,
  upstreamConnectTimeoutMs: 2_000,
  upstreamMaxAttempts: 3,
  upstreamKeepAliveTimeoutMs: 4_000,
  upstreamHeadersTimeoutMs: 60_000,
  streamIdleTimeoutMs: 3_600_000,
  drainTimeoutMs: 10_000,
  http1Server: 'lean',
  http1Client: 'lean',
  accessLog: false,
});
