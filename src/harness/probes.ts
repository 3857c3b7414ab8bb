// Real TLS clients for the suites: a Node `tls` probe that reports the whole handshake
// (chain, SANs, protocol, ALPN, cipher) and what the backend sent, an HTTPS request
// with SNI and Host set independently (undici), and the guide's own curl and
// openssl s_client command lines.
import { spawn } from 'node:child_process';
import { connect, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import https from 'node:https';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  dnsNames: string[];
  validTo: string;
}

export interface TlsProbeOptions {
  address: string;
  port: number;
  /** SNI; omit to send none (as curl does for an IP). */
  servername?: string;
  alpn?: string[];
  /** PEM CA to verify against; without it the chain is read but not verified. */
  ca?: string;
  clientCert?: { certPem: string; keyPem: string };
  /** Bytes to send after the handshake. */
  send?: string;
  /** Read until this text arrives (or the peer closes, or the timeout). */
  readUntil?: string;
  timeoutMs?: number;
}

export interface TlsProbeResult {
  connected: boolean;
  authorized: boolean;
  authorizationError?: string;
  /** Why the connection failed before or during the handshake (reset, closed, alert). */
  error?: string;
  protocol?: string | null;
  alpnProtocol?: string | false | null;
  cipher?: string;
  chain: CertificateSummary[];
  received: string;
}

function summarize(certificate: PeerCertificate): CertificateSummary {
  const name = (entries: Record<string, string | string[]> | undefined) =>
    Object.entries(entries ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ');
  return {
    subject: name(certificate.subject as never),
    issuer: name(certificate.issuer as never),
    serial: (certificate.serialNumber ?? '').toLowerCase(),
    dnsNames: (certificate.subjectaltname ?? '').split(', ').filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4)),
    validTo: certificate.valid_to,
  };
}

function chainOf(leaf: DetailedPeerCertificate): CertificateSummary[] {
  const chain: CertificateSummary[] = [];
  let current: DetailedPeerCertificate | undefined = leaf;
  const seen = new Set<string>();
  while (current && current.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(summarize(current));
    current = current.issuerCertificate;
  }
  return chain;
}

export function tlsProbe(options: TlsProbeOptions): Promise<TlsProbeResult> {
  return new Promise((resolve) => {
    const result: TlsProbeResult = { connected: false, authorized: false, chain: [], received: '' };
    const socket = connect({
      host: options.address,
      port: options.port,
      ...(options.servername ? { servername: options.servername } : {}),
      ALPNProtocols: options.alpn,
      ca: options.ca,
      cert: options.clientCert?.certPem,
      key: options.clientCert?.keyPem,
      rejectUnauthorized: false,
    });
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error && !result.error) result.error = error;
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(result.connected ? undefined : 'timed out'), options.timeoutMs ?? 5000);
    socket.once('secureConnect', () => {
      result.connected = true;
      result.authorized = socket.authorized;
      if (!socket.authorized) result.authorizationError = String(socket.authorizationError);
      result.protocol = socket.getProtocol();
      result.alpnProtocol = socket.alpnProtocol;
      result.cipher = socket.getCipher()?.name;
      result.chain = chainOf(socket.getPeerCertificate(true));
      if (options.send) socket.write(options.send);
      if (!options.readUntil) finish();
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      result.received += chunk;
      if (options.readUntil && result.received.includes(options.readUntil)) finish();
    });
    socket.once('end', () => finish());
    socket.once('close', () => finish(result.connected ? undefined : 'connection closed before the handshake completed'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ? `${err.code}: ${err.message}` : err.message));
  });
}

export interface HttpsRequestOptions {
  address: string;
  port: number;
  path: string;
  /** SNI; omit for none. */
  servername?: string;
  /** Host header; defaults to the servername. */
  host?: string;
  ca?: string;
  timeoutMs?: number;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTPS request on a fresh connection, SNI and Host chosen independently (node:https:
 * undici derives the SNI from the Host header). The chain is verified against `ca`;
 * the name check is left to the caller, since SNI and Host may differ on purpose.
 */
export function httpsRequest(options: HttpsRequestOptions): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: options.address,
        port: options.port,
        path: options.path,
        method: 'GET',
        agent: false,
        servername: options.servername ?? '',
        headers: { host: options.host ?? options.servername ?? options.address },
        ca: options.ca,
        rejectUnauthorized: Boolean(options.ca),
        checkServerIdentity: () => undefined,
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${options.address}:${options.port} within ${options.timeoutMs ?? 10_000} ms`)));
    request.on('error', reject);
    request.end();
  });
}

export interface CommandOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client command line with a time limit; stdin stays open for `holdStdinMs` (openssl s_client exits on EOF). */
export function runClient(command: string, args: string[], timeoutMs = 15_000, holdStdinMs = 0): Promise<CommandOutput> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.on('error', () => {});
    const closeStdin = setTimeout(() => child.stdin.end(), holdStdinMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(kill);
      clearTimeout(closeStdin);
      resolve({ code: null, stdout, stderr: stderr + err.message });
    });
    child.on('close', (code) => {
      clearTimeout(kill);
      clearTimeout(closeStdin);
      resolve({ code, stdout, stderr });
    });
  });
}
