// The echo backend's configuration: command-line flags over environment variables
// over the defaults of a profile. Pure: `parseEchoConfig(argv, env)` reads nothing else,
// so every rule here is a table-driven unit test.
//
// Two profiles:
// - `portcullis` (default): the reference guide's echo (HTTP 1027, TCP echo 1025,
//   UDP 1026, TLS echo 1030) plus a gRPC echo on 3000.
// - `echo-basic`: the exact environment contract of the upstream Gateway API
//   conformance image (registry.k8s.io/gateway-api/conformance/echo-basic), so that a
//   node agent can run this program in place of that image with the Pod's own env:
//   GRPC_ECHO_SERVER / TCP_ECHO_SERVER / UDP_ECHO_SERVER select the mode, HTTP_PORT,
//   H2C_PORT, HTTPS_PORT, TCP_PORT, TLS_PORT, UDP_PORT choose ports, TLS_SERVER_CERT with
//   TLS_SERVER_PRIVKEY (HTTP) or TLS_SERVER_PRIV_KEY (gRPC, TCP) enable TLS, and
//   TLS_CLIENT_CACERTS enables client-certificate checks.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { PortcullisError } from '../lib/errors.js';

export type EchoProfile = 'portcullis' | 'echo-basic';
/** What the HTTP echo answers by default: the reference guide's one line, or upstream's JSON. */
export type HttpFormat = 'plain' | 'json';
/**
 * The TCP/TLS stream protocol. `echo`: greet with the Pod line, answer the conformance
 * commands, echo every other line. `gateway-api`: greet and answer exactly like the
 * upstream conformance TCP server (other lines are ignored).
 */
export type StreamProtocol = 'echo' | 'gateway-api';
/** The UDP reply. `echo`: a greeting datagram then the payload back. `gateway-api`: upstream's JSON envelope. */
export type DatagramProtocol = 'echo' | 'gateway-api';
/**
 * How the TLS echo port treats ALPN. `dispatch`: h2 and http/1.1 get the HTTP echo,
 * any other offered protocol is accepted and gets the stream echo. `ignore`: no ALPN
 * is ever selected (upstream's TCP server has no NextProtos).
 */
export type TlsEchoAlpn = 'dispatch' | 'ignore';

/** A TCP or UDP port: a number, 0 for "do not serve", or `auto` for one the kernel picks. */
export type PortSetting = number | 'auto';

export interface ListenerPorts {
  /** HTTP/1.1 and h2c (prior knowledge) echo. */
  http: PortSetting;
  /** Upstream's h2c-only echo port. */
  h2c: PortSetting;
  /** HTTP/1.1 and h2 over TLS. */
  https: PortSetting;
  /** TCP stream echo. */
  tcp: PortSetting;
  /** TLS stream echo (and HTTP by ALPN). */
  tls: PortSetting;
  udp: PortSetting;
  /** gRPC over h2c. */
  grpc: PortSetting;
  /** gRPC over TLS. */
  grpcTls: PortSetting;
}

export type ListenerName = keyof ListenerPorts;

/** Which of the listeners need the serving certificate. */
export const tlsListeners: readonly ListenerName[] = ['https', 'tls', 'grpcTls'];

/** The Pod this process stands for, as the upstream echo reports it. */
export interface PodIdentity {
  pod: string;
  namespace: string;
  ingress: string;
  service: string;
}

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
  /** PEM bundle of CAs; when set, TLS listeners ask for a client certificate and verify one if given. */
  clientCaFile?: string;
  /**
   * True when the operator asked for TLS (a path or a TLS port was given explicitly):
   * then a missing or unreadable certificate is an error. Otherwise a missing default
   * certificate just leaves the TLS listeners off.
   */
  required: boolean;
}

export interface EchoConfig {
  profile: EchoProfile;
  address: string;
  ports: ListenerPorts;
  format: HttpFormat;
  streamProtocol: StreamProtocol;
  datagramProtocol: DatagramProtocol;
  tlsEchoAlpn: TlsEchoAlpn;
  /** What the JSON echo reports as `httpPort` (upstream: the HTTP_PORT variable, even on its h2c and HTTPS ports). */
  httpPortLabel?: string;
  /** What the TCP TEST answer reports as `tlsport` when no TLS listener runs (upstream reports its configured port). */
  tlsPortLabel?: string;
  /** Undefined: no certificate is configured, TLS listeners are off. */
  certificate?: CertificateFiles;
  /** How often the certificate files are re-read to pick up a rotation. */
  certificateCheckIntervalMs: number;
  pod: PodIdentity;
}

export type ParsedCommandLine = { kind: 'help'; text: string } | { kind: 'run'; config: EchoConfig };

export const defaultCertFile = '/etc/tls/tls.crt';
export const defaultKeyFile = '/etc/tls/tls.key';

const portcullisDefaults: ListenerPorts = { http: 1027, h2c: 0, https: 0, tcp: 1025, tls: 1030, udp: 1026, grpc: 3000, grpcTls: 0 };
const noPorts: ListenerPorts = { http: 0, h2c: 0, https: 0, tcp: 0, tls: 0, udp: 0, grpc: 0, grpcTls: 0 };

const portFlags = {
  http: 'http-port',
  h2c: 'h2c-port',
  https: 'https-port',
  tcp: 'tcp-port',
  tls: 'tls-port',
  udp: 'udp-port',
  grpc: 'grpc-port',
  grpcTls: 'grpc-tls-port',
} as const satisfies Record<ListenerName, string>;

const portEnv: Record<ListenerName, string> = {
  http: 'HTTP_PORT',
  h2c: 'H2C_PORT',
  https: 'HTTPS_PORT',
  tcp: 'TCP_PORT',
  tls: 'TLS_PORT',
  udp: 'UDP_PORT',
  grpc: 'GRPC_PORT',
  grpcTls: 'GRPC_TLS_PORT',
};

export const usage = `Usage: node dist/src/echo/main.js [flags]

The Portcullis echo backend (image portcullis/echo). Flags win over environment variables.

  --profile portcullis|echo-basic   ECHO_PROFILE     defaults and env contract (default portcullis)
  --address IP                      POD_IP           address to bind (default 0.0.0.0)
  --http-port N                     HTTP_PORT        HTTP/1.1 + h2c echo (default 1027)
  --tcp-port N                      TCP_PORT         TCP line echo (default 1025)
  --udp-port N                      UDP_PORT         UDP echo (default 1026)
  --tls-port N                      TLS_PORT         TLS echo, needs a certificate (default 1030)
  --grpc-port N                     GRPC_PORT        gRPC echo over h2c (default 3000)
  --grpc-tls-port N                 GRPC_TLS_PORT    gRPC echo over TLS (default off)
  --https-port N                    HTTPS_PORT       HTTP/1.1 + h2 over TLS (default off)
  --h2c-port N                      H2C_PORT         h2c-only echo, as upstream's port 3001 (default off)
  --format plain|json               ECHO_FORMAT      HTTP answer (default plain; Accept: application/json asks per request)
  --tcp-protocol echo|gateway-api   ECHO_TCP_PROTOCOL  TCP/TLS stream protocol (default echo)
  --udp-protocol echo|gateway-api   ECHO_UDP_PROTOCOL  UDP reply (default echo)
  --tls-cert FILE                   TLS_CERT_FILE    serving certificate (default ${defaultCertFile})
  --tls-key FILE                    TLS_KEY_FILE     its private key (default ${defaultKeyFile})
  --tls-client-ca FILE              TLS_CLIENT_CA_FILE  verify client certificates against these CAs if sent
  --cert-check-interval MS          TLS_CERT_CHECK_INTERVAL_MS  re-read the certificate files this often (default 1000)
  --pod-name NAME                   POD_NAME         (default: the host name)
  --namespace NAME                  POD_NAMESPACE, NAMESPACE
  --service-name NAME               SERVICE_NAME
  --ingress-name NAME               INGRESS_NAME
  -h, --help

A port of 0 turns that listener off; "auto" lets the kernel choose (the start log line says which).
With --profile echo-basic the environment means what it means to the upstream image
(GRPC_ECHO_SERVER, TCP_ECHO_SERVER, UDP_ECHO_SERVER, TLS_SERVER_CERT, TLS_SERVER_PRIVKEY,
TLS_SERVER_PRIV_KEY, TLS_CLIENT_CACERTS, NAMESPACE, POD_NAME, SERVICE_NAME, INGRESS_NAME).
`;

type Env = Record<string, string | undefined>;

type Flags = ReturnType<typeof readFlags>;

function readFlags(argv: string[]) {
  const stringFlag = { type: 'string' } as const;
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        profile: stringFlag,
        address: stringFlag,
        format: stringFlag,
        'tcp-protocol': stringFlag,
        'udp-protocol': stringFlag,
        'http-port': stringFlag,
        'h2c-port': stringFlag,
        'https-port': stringFlag,
        'tcp-port': stringFlag,
        'tls-port': stringFlag,
        'udp-port': stringFlag,
        'grpc-port': stringFlag,
        'grpc-tls-port': stringFlag,
        'tls-cert': stringFlag,
        'tls-key': stringFlag,
        'tls-client-ca': stringFlag,
        'cert-check-interval': stringFlag,
        'pod-name': stringFlag,
        namespace: stringFlag,
        'service-name': stringFlag,
        'ingress-name': stringFlag,
      },
    }).values;
  } catch (err) {
    throw new PortcullisError('ECHO_BAD_ARGUMENT', `${(err as Error).message}; see --help`);
  }
}

/** Reads flags and environment into a validated configuration; throws PortcullisError('ECHO_BAD_ARGUMENT') on bad input. */
export function parseEchoConfig(argv: string[], env: Env): ParsedCommandLine {
  const flags = readFlags(argv);
  if (flags.help) return { kind: 'help', text: usage };
  const profile = oneOf('--profile', flags.profile ?? nonEmpty(env.ECHO_PROFILE) ?? 'portcullis', ['portcullis', 'echo-basic'] as const);
  const config = profile === 'echo-basic' ? echoBasicConfig(flags, env) : portcullisConfig(flags, env);
  rejectSharedTcpPorts(config.ports);
  return { kind: 'run', config };
}

function portcullisConfig(flags: Flags, env: Env): EchoConfig {
  const ports = { ...portcullisDefaults };
  const explicit = new Set<ListenerName>();
  for (const name of Object.keys(ports) as ListenerName[]) {
    const flagValue = flags[portFlags[name]];
    const envValue = nonEmpty(env[portEnv[name]]);
    const source = flagValue !== undefined ? `--${portFlags[name]}` : portEnv[name];
    const value = flagValue ?? envValue;
    if (value === undefined) continue;
    ports[name] = parsePort(source, value);
    explicit.add(name);
  }
  const certFlag = flags['tls-cert'] ?? nonEmpty(env.TLS_CERT_FILE);
  const keyFlag = flags['tls-key'] ?? nonEmpty(env.TLS_KEY_FILE);
  const clientCaFile = flags['tls-client-ca'] ?? nonEmpty(env.TLS_CLIENT_CA_FILE);
  const tlsAskedFor = certFlag !== undefined || keyFlag !== undefined || tlsListeners.some((name) => explicit.has(name) && ports[name] !== 0);
  return {
    profile: 'portcullis',
    address: parseAddress(flags.address ?? nonEmpty(env.POD_IP) ?? '0.0.0.0'),
    ports,
    format: oneOf('--format', flags.format ?? nonEmpty(env.ECHO_FORMAT) ?? 'plain', ['plain', 'json'] as const),
    streamProtocol: oneOf('--tcp-protocol', flags['tcp-protocol'] ?? nonEmpty(env.ECHO_TCP_PROTOCOL) ?? 'echo', ['echo', 'gateway-api'] as const),
    datagramProtocol: oneOf('--udp-protocol', flags['udp-protocol'] ?? nonEmpty(env.ECHO_UDP_PROTOCOL) ?? 'echo', ['echo', 'gateway-api'] as const),
    tlsEchoAlpn: 'dispatch',
    certificate: {
      certFile: certFlag ?? defaultCertFile,
      keyFile: keyFlag ?? defaultKeyFile,
      ...(clientCaFile !== undefined ? { clientCaFile } : {}),
      required: tlsAskedFor,
    },
    certificateCheckIntervalMs: parseInterval(flags['cert-check-interval'] ?? nonEmpty(env.TLS_CERT_CHECK_INTERVAL_MS)),
    pod: {
      // A Pod's host name is its name, so this is right even when the Downward API is not wired.
      pod: flags['pod-name'] ?? nonEmpty(env.POD_NAME) ?? hostname(),
      namespace: flags.namespace ?? nonEmpty(env.POD_NAMESPACE) ?? env.NAMESPACE ?? '',
      ingress: flags['ingress-name'] ?? env.INGRESS_NAME ?? '',
      service: flags['service-name'] ?? env.SERVICE_NAME ?? '',
    },
  };
}

/**
 * Upstream's main() picks one mode from the environment: gRPC, TCP, UDP, else HTTP.
 * Ports and certificate variables differ per mode (note TLS_SERVER_PRIVKEY for HTTP
 * but TLS_SERVER_PRIV_KEY for gRPC and TCP); we keep those quirks so an unchanged
 * upstream manifest behaves the same.
 */
function echoBasicConfig(flags: Flags, env: Env): EchoConfig {
  const ports: ListenerPorts = { ...noPorts };
  const envPort = (name: string, fallback: number): number => {
    const value = nonEmpty(env[name]);
    return value === undefined ? fallback : requireNumber(name, parsePort(name, value));
  };
  const cert = nonEmpty(env.TLS_SERVER_CERT);
  let key: string | undefined;
  let clientCaFile: string | undefined;
  let httpPortLabel: string | undefined;
  let tlsPortLabel: string | undefined;
  let streamProtocol: StreamProtocol = 'echo';
  let datagramProtocol: DatagramProtocol = 'echo';
  if (nonEmpty(env.GRPC_ECHO_SERVER)) {
    key = nonEmpty(env.TLS_SERVER_PRIV_KEY);
    ports.grpc = envPort('HTTP_PORT', 3000);
    if (cert && key) ports.grpcTls = envPort('HTTPS_PORT', 8443);
  } else if (nonEmpty(env.TCP_ECHO_SERVER)) {
    key = nonEmpty(env.TLS_SERVER_PRIV_KEY);
    streamProtocol = 'gateway-api';
    ports.tcp = envPort('TCP_PORT', 3000);
    const tlsPort = envPort('TLS_PORT', 8443);
    tlsPortLabel = String(tlsPort);
    if (cert && key) ports.tls = tlsPort;
  } else if (nonEmpty(env.UDP_ECHO_SERVER)) {
    datagramProtocol = 'gateway-api';
    ports.udp = envPort('UDP_PORT', 8080);
  } else {
    key = nonEmpty(env.TLS_SERVER_PRIVKEY);
    clientCaFile = nonEmpty(env.TLS_CLIENT_CACERTS);
    ports.http = envPort('HTTP_PORT', 3000);
    httpPortLabel = nonEmpty(env.HTTP_PORT) ?? '3000';
    ports.h2c = envPort('H2C_PORT', 3001);
    if (cert && key) ports.https = envPort('HTTPS_PORT', 8443);
  }
  for (const name of Object.keys(ports) as ListenerName[]) {
    const flagValue = flags[portFlags[name]];
    if (flagValue !== undefined) ports[name] = parsePort(`--${portFlags[name]}`, flagValue);
  }
  const certFile = flags['tls-cert'] ?? cert;
  const keyFile = flags['tls-key'] ?? key;
  clientCaFile = flags['tls-client-ca'] ?? clientCaFile;
  return {
    profile: 'echo-basic',
    address: parseAddress(flags.address ?? nonEmpty(env.POD_IP) ?? '0.0.0.0'),
    ports,
    format: oneOf('--format', flags.format ?? 'json', ['plain', 'json'] as const),
    streamProtocol: oneOf('--tcp-protocol', flags['tcp-protocol'] ?? streamProtocol, ['echo', 'gateway-api'] as const),
    datagramProtocol: oneOf('--udp-protocol', flags['udp-protocol'] ?? datagramProtocol, ['echo', 'gateway-api'] as const),
    tlsEchoAlpn: 'ignore',
    ...(httpPortLabel !== undefined ? { httpPortLabel } : {}),
    ...(tlsPortLabel !== undefined ? { tlsPortLabel } : {}),
    // Upstream serves TLS only when both variables are set, and then a bad file is fatal.
    ...(certFile && keyFile
      ? { certificate: { certFile, keyFile, ...(clientCaFile !== undefined ? { clientCaFile } : {}), required: true } }
      : {}),
    certificateCheckIntervalMs: parseInterval(flags['cert-check-interval'] ?? nonEmpty(env.TLS_CERT_CHECK_INTERVAL_MS)),
    pod: {
      pod: flags['pod-name'] ?? env.POD_NAME ?? '',
      namespace: flags.namespace ?? env.NAMESPACE ?? '',
      ingress: flags['ingress-name'] ?? env.INGRESS_NAME ?? '',
      service: flags['service-name'] ?? env.SERVICE_NAME ?? '',
    },
  };
}

/** Parses a port: digits 0–65535 (0 turns the listener off) or `auto`. */
export function parsePort(source: string, value: string): PortSetting {
  const trimmed = value.trim();
  if (trimmed === 'auto') return 'auto';
  if (/^\d{1,5}$/.test(trimmed)) {
    const port = Number(trimmed);
    if (port <= 65535) return port;
  }
  throw new PortcullisError(
    'ECHO_BAD_ARGUMENT',
    `invalid port ${JSON.stringify(value)} in ${source}: use a number from 1 to 65535, 0 to turn the listener off, or "auto"`,
  );
}

function requireNumber(source: string, port: PortSetting): number {
  if (port === 'auto') throw new PortcullisError('ECHO_BAD_ARGUMENT', `invalid port "auto" in ${source}: the echo-basic profile takes numbers, as upstream does`);
  return port;
}

function parseAddress(value: string): string {
  if (isIP(value) === 0) {
    throw new PortcullisError('ECHO_BAD_ARGUMENT', `invalid --address/POD_IP ${JSON.stringify(value)}: give an IPv4 or IPv6 address such as 127.1.0.5 or 0.0.0.0`);
  }
  return value;
}

function parseInterval(value: string | undefined): number {
  if (value === undefined) return 1000;
  const interval = Number(value);
  if (!/^\d+$/.test(value.trim()) || interval < 50 || interval > 3_600_000) {
    throw new PortcullisError('ECHO_BAD_ARGUMENT', `invalid --cert-check-interval ${JSON.stringify(value)}: give milliseconds from 50 to 3600000`);
  }
  return interval;
}

function oneOf<T extends string>(source: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new PortcullisError('ECHO_BAD_ARGUMENT', `invalid ${source} ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Two TCP listeners on one number would fail at bind time with a less helpful message. */
function rejectSharedTcpPorts(ports: ListenerPorts): void {
  const seen = new Map<number, ListenerName>();
  for (const name of Object.keys(ports) as ListenerName[]) {
    const port = ports[name];
    if (name === 'udp' || port === 0 || port === 'auto') continue;
    const other = seen.get(port);
    if (other) {
      throw new PortcullisError('ECHO_BAD_ARGUMENT', `--${portFlags[other]} and --${portFlags[name]} are both ${port}: each TCP listener needs its own port (0 turns one off)`);
    }
    seen.set(port, name);
  }
}

export function portFlag(name: ListenerName): string {
  return `--${portFlags[name]}`;
}
