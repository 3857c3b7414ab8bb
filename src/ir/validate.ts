// Runtime validation of an IR document received by the proxy's admin API. Checks the
// shape (types, required and unknown fields) and the semantics the proxy relies on
// (ports, addresses, hostnames, regexes, weights, protocol/TLS consistency, route →
// server block references, PEM material and key/certificate agreement). Returns every
// problem found, with a stable code and a JSON Pointer; never throws; never puts key
// material in a message.
//
// Hand-written rather than generated from a JSON Schema: most checks are semantic
// (cross-references, crypto, regex compilation) and a schema validator would add a
// dependency for the part that is easy.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { hostnameCovers, hostnamesIntersect, isValidHostname, isValidPreciseHostname } from './hostname.js';
import { IrProblem, IrProblemCode, IrValidationError } from './problems.js';
import { compileFullMatchRegex } from './regex.js';
import type { CertificateKeyType, ListenerProtocol, ProxyConfig, RouteKind, TlsMode } from './types.js';

export type ValidationResult = { ok: true; config: ProxyConfig } | { ok: false; problems: IrProblem[] };

/** Beyond this many, the list is cut (the document is garbage; the first ones say why). */
export const MAX_REPORTED_PROBLEMS = 200;

/** Checks `value` (parsed JSON) as a ProxyConfig. */
export function validateConfig(value: unknown): ValidationResult {
  const checker = new Checker();
  try {
    checkConfig(checker, value);
  } catch {
    // Only reachable with inputs JSON.parse cannot produce (throwing getters, proxies).
    checker.report(IrProblemCode.UNREADABLE_INPUT, '', 'the configuration could not be read: accessing one of its values threw');
  }
  return checker.problems.length === 0 ? { ok: true, config: value as ProxyConfig } : { ok: false, problems: checker.problems };
}

/** validateConfig for callers that want an exception (IrValidationError lists the problems). */
export function assertValidConfig(value: unknown): ProxyConfig {
  const result = validateConfig(value);
  if (!result.ok) throw new IrValidationError(result.problems);
  return result.config;
}

// ---------------------------------------------------------------------------------
// Checker: collects problems and reads typed values out of unknown JSON.

type JsonObject = Record<string, unknown>;

interface FieldSpec {
  required: readonly string[];
  optional?: readonly string[];
}

function pointer(path: string, key: string | number): string {
  // Called for every field of every config (a profile of PUT /config at 1,000 routes spent
  // over half of validation here): skip the escaping when there is nothing to escape.
  if (typeof key === 'number' || !NEEDS_ESCAPE.test(key)) return `${path}/${key}`;
  return `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

const NEEDS_ESCAPE = /[~/]/;

/**
 * A value as quoted in a message: JSON, cut to 80 characters, and redacted if it looks
 * like key material (a PEM key pasted into the wrong field must not come back in a 400).
 */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  if (/PRIVATE KEY/i.test(text)) return '"[redacted: looks like a private key]"';
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * The last guard of the promise above: some messages quote user strings unquoted (the
 * server block ids a route could have meant, the regex engine's own error, which repeats
 * the pattern), and a PEM key pasted there must not come back; and a message is one line.
 */
function safeMessage(message: string): string {
  return message
    .replace(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[redacted: looks like a private key]')
    .replace(/\r?\n/g, ' ');
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

class Checker {
  readonly problems: IrProblem[] = [];

  report(code: IrProblemCode, path: string, message: string): void {
    if (this.problems.length < MAX_REPORTED_PROBLEMS) {
      this.problems.push(new IrProblem(code, path, safeMessage(message)));
    } else if (this.problems.length === MAX_REPORTED_PROBLEMS) {
      this.problems.push(new IrProblem(IrProblemCode.TOO_MANY_PROBLEMS, '', `more than ${MAX_REPORTED_PROBLEMS} problems; the rest are not listed`));
    }
  }

  /** A plain object with exactly the fields of `spec` (missing and unknown ones reported). */
  object(value: unknown, path: string, spec: FieldSpec): JsonObject | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.report(IrProblemCode.TYPE_MISMATCH, path, `expected an object, found ${describeType(value)}`);
      return undefined;
    }
    const object = value as JsonObject;
    for (const field of spec.required) {
      if (object[field] === undefined) this.report(IrProblemCode.MISSING_FIELD, pointer(path, field), `"${field}" is required`);
    }
    // Called for every object of every config: the field lists are short, so searching
    // them beats building a Set of them each time (12% of validation at 1,000 routes).
    for (const field of Object.keys(object)) {
      if (spec.required.includes(field) || spec.optional?.includes(field)) continue;
      this.report(IrProblemCode.UNKNOWN_FIELD, pointer(path, field), `${shown(field)} is not a field here (known: ${[...spec.required, ...(spec.optional ?? [])].join(', ')})`);
    }
    return object;
  }

  /** The discriminator of a tagged union, before its variant's fields are known. */
  tag<T extends string>(value: unknown, path: string, field: string, allowed: readonly T[]): { object: JsonObject; tag: T | undefined } | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.report(IrProblemCode.TYPE_MISMATCH, path, `expected an object, found ${describeType(value)}`);
      return undefined;
    }
    const object = value as JsonObject;
    if (object[field] === undefined) {
      this.report(IrProblemCode.MISSING_FIELD, pointer(path, field), `"${field}" is required`);
      return { object, tag: undefined };
    }
    return { object, tag: this.enumValue(object[field], pointer(path, field), allowed) };
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.report(IrProblemCode.TYPE_MISMATCH, path, `expected a string, found ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  nonEmptyString(value: unknown, path: string): string | undefined {
    const text = this.string(value, path);
    if (text === '') this.report(IrProblemCode.EMPTY_VALUE, path, 'must not be empty');
    return text;
  }

  number(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.report(IrProblemCode.TYPE_MISMATCH, path, `expected a number, found ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  /** An integer in [min, max], else `code`. */
  integer(value: unknown, path: string, min: number, max: number, code: IrProblemCode, what: string): number | undefined {
    const number = this.number(value, path);
    if (number === undefined) return undefined;
    if (!Number.isInteger(number) || number < min || number > max) {
      this.report(code, path, `${what} must be an integer from ${min} to ${max}, found ${number}`);
      return undefined;
    }
    return number;
  }

  array(value: unknown, path: string): unknown[] | undefined {
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      this.report(IrProblemCode.TYPE_MISMATCH, path, `expected an array, found ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  enumValue<T extends string>(value: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if (!(allowed as readonly unknown[]).includes(value)) {
      this.report(IrProblemCode.INVALID_ENUM, path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, found ${shown(value)}`);
      return undefined;
    }
    return value as T;
  }

  stringArray(value: unknown, path: string): string[] {
    const items = this.array(value, path) ?? [];
    const strings: string[] = [];
    items.forEach((item, index) => {
      const text = this.string(item, pointer(path, index));
      if (text !== undefined) strings.push(text);
    });
    return strings;
  }

  /** Valid hostnames of a list, in order (invalid ones reported and dropped). */
  hostnames(value: unknown, path: string): string[] {
    const valid: string[] = [];
    (this.array(value, path) ?? []).forEach((item, index) => {
      const hostname = this.hostname(item, pointer(path, index));
      if (hostname !== undefined) valid.push(hostname);
    });
    return valid;
  }

  hostname(value: unknown, path: string): string | undefined {
    const hostname = this.string(value, path);
    if (hostname === undefined) return undefined;
    if (!isValidHostname(hostname)) {
      this.report(IrProblemCode.INVALID_HOSTNAME, path, `${shown(hostname)} is not a hostname: use lower-case RFC 1123 labels without trailing dot, optionally with a leading "*." label; IP addresses are not hostnames`);
      return undefined;
    }
    return hostname;
  }

  preciseHostname(value: unknown, path: string): string | undefined {
    const hostname = this.string(value, path);
    if (hostname === undefined) return undefined;
    if (!isValidPreciseHostname(hostname)) {
      this.report(IrProblemCode.INVALID_HOSTNAME, path, `${shown(hostname)} is not a precise hostname: lower-case RFC 1123 labels, no wildcard, no IP address`);
      return undefined;
    }
    return hostname;
  }

  regex(value: unknown, path: string): void {
    const source = this.string(value, path);
    if (source === undefined) return;
    const compiled = compileFullMatchRegex(source);
    if (!compiled.ok) this.report(IrProblemCode.INVALID_REGEX, path, `${shown(source)} is not a supported regular expression: ${compiled.reason}`);
  }

  port(value: unknown, path: string): number | undefined {
    return this.integer(value, path, 1, 65535, IrProblemCode.INVALID_PORT, 'a port');
  }

  ipAddress(value: unknown, path: string): string | undefined {
    const address = this.string(value, path);
    if (address === undefined) return undefined;
    if (isIP(address) === 0) {
      this.report(IrProblemCode.INVALID_IP_ADDRESS, path, `${shown(address)} is not an IPv4 or IPv6 address`);
      return undefined;
    }
    return address;
  }

  weight(value: unknown, path: string): number | undefined {
    return this.integer(value, path, 0, 1_000_000, IrProblemCode.INVALID_WEIGHT, 'a weight');
  }

  /** Reports each value seen twice (by `key`), at the path of the later one. */
  unique<T>(items: readonly { value: T; path: string }[], key: (value: T) => string, code: IrProblemCode, what: (value: T) => string): void {
    const seen = new Map<string, string>();
    for (const item of items) {
      const k = key(item.value);
      const first = seen.get(k);
      if (first === undefined) seen.set(k, item.path);
      else this.report(code, item.path, `${what(item.value)} is already used at ${first}`);
    }
  }
}

// ---------------------------------------------------------------------------------
// Document and listeners

const LISTENER_PROTOCOLS: readonly ListenerProtocol[] = ['HTTP', 'HTTPS', 'TLS', 'TCP'];

interface ListenerFacts {
  name?: string;
  address?: string;
  port?: number;
}

function checkConfig(c: Checker, value: unknown): void {
  const config = c.object(value, '', { required: ['version', 'listeners'] });
  if (!config) return;
  c.nonEmptyString(config.version, '/version');
  const listeners = c.array(config.listeners, '/listeners') ?? [];
  const facts = listeners.map((listener, index) => ({ value: checkListener(c, listener, pointer('/listeners', index)), path: pointer('/listeners', index) }));
  const named = facts.filter((f) => f.value.name !== undefined).map((f) => ({ value: f.value.name!, path: pointer(f.path, 'name') }));
  c.unique(named, (name) => name, IrProblemCode.DUPLICATE_ID, (name) => `listener name ${shown(name)}`);
  checkBindings(c, facts);
}

/** `0:0::1` and `::1` are one address; zone ids and anything URL cannot read stay as written. */
function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/**
 * No two listeners may bind the same address and port; nor may a listener bind a port
 * on which another binds the unspecified address (0.0.0.0, or :: which is dual-stack
 * in Node), since the second bind fails with EADDRINUSE.
 */
function checkBindings(c: Checker, facts: readonly { value: ListenerFacts; path: string }[]): void {
  const byPort = new Map<number, { address: string; path: string }[]>();
  for (const { value, path } of facts) {
    if (value.address === undefined || value.port === undefined) continue;
    const address = canonicalAddress(value.address);
    const earlier = byPort.get(value.port) ?? byPort.set(value.port, []).get(value.port)!;
    const clash = earlier.find((other) => other.address === address || coversAddress(other.address, address) || coversAddress(address, other.address));
    if (clash?.address === address) {
      c.report(IrProblemCode.DUPLICATE_LISTENER, path, `${address} port ${value.port} is already bound by the listener at ${clash.path}; merge listeners that share an address and port`);
    } else if (clash) {
      c.report(IrProblemCode.DUPLICATE_LISTENER, path, `${address} port ${value.port} overlaps the listener at ${clash.path} (${clash.address}): one of them binds every address on that port`);
    }
    earlier.push({ address, path });
  }
}

function coversAddress(unspecified: string, other: string): boolean {
  if (unspecified === '::') return true;
  return unspecified === '0.0.0.0' && isIP(other) === 4;
}

interface BlockFacts {
  id: string;
  path: string;
  protocol?: ListenerProtocol;
  /** Undefined for a catch-all, and for an invalid hostname (already reported). */
  hostname?: string;
  catchAll: boolean;
  tlsMode?: TlsMode;
}

function checkListener(c: Checker, value: unknown, path: string): ListenerFacts {
  const listener = c.object(value, path, {
    required: ['name', 'address', 'port', 'protocol', 'serverBlocks', 'httpRoutes', 'grpcRoutes', 'tcpRoutes', 'tlsPassthrough'],
  });
  if (!listener) return {};
  const name = c.nonEmptyString(listener.name, pointer(path, 'name'));
  const address = c.ipAddress(listener.address, pointer(path, 'address'));
  const port = c.port(listener.port, pointer(path, 'port'));
  const protocol = c.enumValue(listener.protocol, pointer(path, 'protocol'), LISTENER_PROTOCOLS);

  const blocksPath = pointer(path, 'serverBlocks');
  const blocks = (c.array(listener.serverBlocks, blocksPath) ?? []).map((block, index) => checkServerBlock(c, block, pointer(blocksPath, index)));
  const known = blocks.filter((b): b is BlockFacts => b !== undefined);
  c.unique(known.map((b) => ({ value: b, path: pointer(b.path, 'id') })), (b) => b.id, IrProblemCode.DUPLICATE_ID, (b) => `server block id ${shown(b.id)}`);
  c.unique(
    known.filter((b) => b.hostname !== undefined || b.catchAll).map((b) => ({ value: b, path: b.catchAll ? b.path : pointer(b.path, 'hostname') })),
    (b) => b.hostname ?? '',
    IrProblemCode.DUPLICATE_HOSTNAME,
    (b) => (b.hostname === undefined ? 'a catch-all server block (no hostname)' : `hostname ${b.hostname}`),
  );
  if (protocol) checkListenerProtocol(c, protocol, known, path);

  const blockById = new Map(known.map((b) => [b.id, b]));
  const routes = new RouteChecker(c, blockById);
  routes.checkAll(listener.httpRoutes, pointer(path, 'httpRoutes'), 'http');
  routes.checkAll(listener.grpcRoutes, pointer(path, 'grpcRoutes'), 'grpc');
  routes.checkAll(listener.tcpRoutes, pointer(path, 'tcpRoutes'), 'tcp');
  routes.checkAll(listener.tlsPassthrough, pointer(path, 'tlsPassthrough'), 'passthrough');
  routes.checkHttpGrpcConflicts();
  return { name, address, port };
}

/** Which block protocols each listener protocol admits (see Listener docs). */
const BLOCK_PROTOCOLS: Record<ListenerProtocol, readonly ListenerProtocol[]> = {
  HTTP: ['HTTP'],
  HTTPS: ['HTTPS'],
  TLS: ['TLS', 'HTTPS'],
  TCP: ['TCP'],
};

function checkListenerProtocol(c: Checker, protocol: ListenerProtocol, blocks: readonly BlockFacts[], path: string): void {
  for (const block of blocks) {
    if (block.protocol && !BLOCK_PROTOCOLS[protocol].includes(block.protocol)) {
      c.report(IrProblemCode.PROTOCOL_MISMATCH, pointer(block.path, 'protocol'), `a ${block.protocol} server block cannot be served on a ${protocol} listener (allowed: ${BLOCK_PROTOCOLS[protocol].join(', ')})`);
    }
  }
  if (protocol === 'TCP' && blocks.length > 1) {
    c.report(IrProblemCode.PROTOCOL_MISMATCH, pointer(path, 'serverBlocks'), `a TCP listener has exactly one server block (plain TCP carries no hostname to choose by), found ${blocks.length}`);
  }
}

// ---------------------------------------------------------------------------------
// Server blocks and TLS

const TLS_MODES: readonly TlsMode[] = ['Terminate', 'Passthrough'];
const KEY_TYPES: readonly CertificateKeyType[] = ['RSA', 'ECDSA', 'Ed25519'];

function checkServerBlock(c: Checker, value: unknown, path: string): BlockFacts | undefined {
  const block = c.object(value, path, { required: ['id', 'protocol', 'sources'], optional: ['hostname', 'tls'] });
  if (!block) return undefined;
  const id = c.nonEmptyString(block.id, pointer(path, 'id'));
  const protocol = c.enumValue(block.protocol, pointer(path, 'protocol'), LISTENER_PROTOCOLS);
  const hostname = c.hostname(block.hostname, pointer(path, 'hostname'));
  c.stringArray(block.sources, pointer(path, 'sources'));
  const tlsMode = block.tls === undefined ? undefined : checkTlsSettings(c, block.tls, pointer(path, 'tls'));
  if (protocol) checkBlockTls(c, protocol, block.tls !== undefined, tlsMode, path);
  if (protocol === 'TCP' && block.hostname !== undefined) {
    c.report(IrProblemCode.PROTOCOL_MISMATCH, pointer(path, 'hostname'), 'a TCP server block has no hostname: plain TCP carries none to match');
  }
  return id === undefined ? undefined : { id, path, protocol, hostname, catchAll: block.hostname === undefined, tlsMode };
}

function checkBlockTls(c: Checker, protocol: ListenerProtocol, hasTls: boolean, mode: TlsMode | undefined, path: string): void {
  const tlsPath = pointer(path, 'tls');
  if ((protocol === 'HTTP' || protocol === 'TCP') && hasTls) {
    c.report(IrProblemCode.PROTOCOL_MISMATCH, tlsPath, `a ${protocol} server block is plaintext and takes no TLS settings`);
  } else if ((protocol === 'HTTPS' || protocol === 'TLS') && !hasTls) {
    c.report(IrProblemCode.PROTOCOL_MISMATCH, tlsPath, `a ${protocol} server block needs TLS settings`);
  } else if (protocol === 'HTTPS' && mode === 'Passthrough') {
    c.report(IrProblemCode.PROTOCOL_MISMATCH, pointer(tlsPath, 'mode'), 'an HTTPS server block terminates TLS; passthrough needs protocol TLS');
  }
}

function checkTlsSettings(c: Checker, value: unknown, path: string): TlsMode | undefined {
  const tagged = c.tag(value, path, 'mode', TLS_MODES);
  if (!tagged) return undefined;
  if (tagged.tag === 'Passthrough') {
    c.object(tagged.object, path, { required: ['mode'] });
    return 'Passthrough';
  }
  if (tagged.tag === undefined) return undefined;
  const tls = c.object(tagged.object, path, { required: ['mode', 'certificates'], optional: ['alpnProtocols', 'clientValidation'] });
  if (!tls) return undefined;
  const certificatesPath = pointer(path, 'certificates');
  const certificates = c.array(tls.certificates, certificatesPath);
  if (certificates && certificates.length === 0) {
    c.report(IrProblemCode.MISSING_CERTIFICATE, certificatesPath, 'a Terminate block needs at least one certificate');
  }
  const ids = (certificates ?? []).map((certificate, index) => ({ value: checkCertificate(c, certificate, pointer(certificatesPath, index)), path: pointer(pointer(certificatesPath, index), 'id') }));
  c.unique(ids.filter((i): i is { value: string; path: string } => i.value !== undefined), (id) => id, IrProblemCode.DUPLICATE_ID, (id) => `certificate id ${shown(id)}`);
  if (tls.alpnProtocols !== undefined) checkAlpn(c, tls.alpnProtocols, pointer(path, 'alpnProtocols'));
  if (tls.clientValidation !== undefined) checkClientValidation(c, tls.clientValidation, pointer(path, 'clientValidation'));
  return 'Terminate';
}

/** RFC 7301 §3.1: non-empty, at most 255 bytes; we also require printable ASCII. */
function checkAlpn(c: Checker, value: unknown, path: string): void {
  (c.array(value, path) ?? []).forEach((item, index) => {
    const protocol = c.string(item, pointer(path, index));
    if (protocol !== undefined && !/^[\x21-\x7e]{1,255}$/.test(protocol)) {
      c.report(IrProblemCode.INVALID_ALPN, pointer(path, index), `${shown(protocol)} is not an ALPN protocol id: 1–255 printable ASCII characters, e.g. "h2" or "http/1.1"`);
    }
  });
}

function checkClientValidation(c: Checker, value: unknown, path: string): void {
  const validation = c.object(value, path, { required: ['caCertificatesPem', 'mode'] });
  if (!validation) return;
  c.enumValue(validation.mode, pointer(path, 'mode'), ['AllowValidOnly', 'AllowInsecureFallback'] as const);
  const pem = c.string(validation.caCertificatesPem, pointer(path, 'caCertificatesPem'));
  if (pem !== undefined) parseCertificates(c, pem, pointer(path, 'caCertificatesPem'));
}

/** Returns the certificate's id when readable (for uniqueness). */
function checkCertificate(c: Checker, value: unknown, path: string): string | undefined {
  const certificate = c.object(value, path, { required: ['id', 'source', 'keyType', 'certificateChainPem', 'privateKeyPem'] });
  if (!certificate) return undefined;
  const id = c.nonEmptyString(certificate.id, pointer(path, 'id'));
  c.nonEmptyString(certificate.source, pointer(path, 'source'));
  const keyType = c.enumValue(certificate.keyType, pointer(path, 'keyType'), KEY_TYPES);
  const chainPem = c.string(certificate.certificateChainPem, pointer(path, 'certificateChainPem'));
  const keyPem = c.string(certificate.privateKeyPem, pointer(path, 'privateKeyPem'));
  const leaf = chainPem === undefined ? undefined : parseCertificates(c, chainPem, pointer(path, 'certificateChainPem'))[0];
  const key = keyPem === undefined ? undefined : parsePrivateKey(c, keyPem, pointer(path, 'privateKeyPem'));
  if (leaf && key) checkKeyPair(c, leaf, key, keyType, path);
  return id;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Certificates and keys that parsed before, by their PEM text. The controller sends every
 * certificate again with each configuration; the profile of a PUT with 1,000 server blocks
 * spent 60% of its time re-parsing them (createPrivateKey, new X509Certificate). Only
 * successes are kept (a failure is parsed, and reported, every time); bounded by emptying.
 */
const PARSED_CACHE_LIMIT = 20_000;
const parsedCertificates = new Map<string, X509Certificate>();
const parsedKeys = new Map<string, KeyObject>();

function remember<T>(cache: Map<string, T>, pem: string, value: T): T {
  if (cache.size >= PARSED_CACHE_LIMIT) cache.clear();
  cache.set(pem, value);
  return value;
}

/** Every PEM certificate in `pem`, in order; problems reported, never with the PEM text. */
function parseCertificates(c: Checker, pem: string, path: string): X509Certificate[] {
  const blocks = pem.match(CERTIFICATE_BLOCK);
  if (!blocks) {
    c.report(IrProblemCode.INVALID_PEM, path, 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----" block)');
    return [];
  }
  const certificates: X509Certificate[] = [];
  blocks.forEach((block, index) => {
    try {
      certificates.push(parsedCertificates.get(block) ?? remember(parsedCertificates, block, new X509Certificate(block)));
    } catch {
      c.report(IrProblemCode.INVALID_CERTIFICATE, path, `PEM certificate ${index + 1} of ${blocks.length} is not a valid X.509 certificate`);
    }
  });
  return certificates;
}

const PRIVATE_KEY_BLOCK = /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]*?-----END (RSA |EC )?PRIVATE KEY-----/;

function parsePrivateKey(c: Checker, pem: string, path: string): KeyObject | undefined {
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    c.report(IrProblemCode.INVALID_PEM, path, 'the private key is encrypted; the proxy has no passphrase: store it unencrypted in the Secret');
    return undefined;
  }
  if (!PRIVATE_KEY_BLOCK.test(pem)) {
    c.report(IrProblemCode.INVALID_PEM, path, 'holds no PEM private key block (PKCS#8, or traditional RSA or EC)');
    return undefined;
  }
  try {
    return parsedKeys.get(pem) ?? remember(parsedKeys, pem, createPrivateKey(pem));
  } catch {
    // The crypto error is not repeated: messages never carry anything derived from key material.
    c.report(IrProblemCode.INVALID_PRIVATE_KEY, path, 'the PEM private key does not parse');
    return undefined;
  }
}

function keyTypeOf(key: KeyObject): CertificateKeyType | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return 'RSA';
    case 'ec':
      return 'ECDSA';
    case 'ed25519':
      return 'Ed25519';
    default:
      return undefined;
  }
}

function checkKeyPair(c: Checker, leaf: X509Certificate, key: KeyObject, declared: CertificateKeyType | undefined, path: string): void {
  let matches = false;
  try {
    matches = leaf.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    c.report(IrProblemCode.KEY_CERTIFICATE_MISMATCH, pointer(path, 'privateKeyPem'), `the private key does not belong to the first (leaf) certificate of the chain (subject ${leaf.subject.replace(/\n/g, ', ')})`);
  }
  const actual = keyTypeOf(key);
  if (actual === undefined) {
    c.report(IrProblemCode.KEY_TYPE_MISMATCH, pointer(path, 'keyType'), `the private key is of an unsupported type (${key.asymmetricKeyType ?? 'unknown'}); use RSA, ECDSA or Ed25519`);
  } else if (declared !== undefined && actual !== declared) {
    c.report(IrProblemCode.KEY_TYPE_MISMATCH, pointer(path, 'keyType'), `keyType says ${declared} but the private key is ${actual}`);
  }
}

// ---------------------------------------------------------------------------------
// Routes

type RouteList = 'http' | 'grpc' | 'tcp' | 'passthrough';

const ROUTE_KINDS: Record<RouteList, readonly RouteKind[]> = {
  http: ['HTTPRoute', 'Ingress'],
  grpc: ['GRPCRoute'],
  tcp: ['TCPRoute', 'TLSRoute'],
  passthrough: ['TLSRoute'],
};

const ROUTE_FIELDS: Record<RouteList, FieldSpec> = {
  http: { required: ['source', 'serverBlock', 'hostnames', 'rules'] },
  grpc: { required: ['source', 'serverBlock', 'hostnames', 'rules'] },
  tcp: { required: ['source', 'serverBlock', 'hostnames', 'backends'] },
  passthrough: { required: ['source', 'serverBlock', 'hostnames', 'backends'] },
};

interface AttachedRoute {
  path: string;
  block: BlockFacts;
  /** Hostnames as served; an empty route list means the block's hostname (undefined = any). */
  served: readonly (string | undefined)[];
}

/** Whether a block can carry a kind of route (see Listener docs). */
function routeAllowed(list: RouteList, block: BlockFacts): boolean {
  switch (list) {
    case 'http':
    case 'grpc':
      return block.protocol === 'HTTP' || block.protocol === 'HTTPS';
    case 'tcp':
      return block.protocol === 'TCP' || (block.protocol === 'TLS' && block.tlsMode === 'Terminate');
    case 'passthrough':
      return block.protocol === 'TLS' && block.tlsMode === 'Passthrough';
  }
}

const ROUTE_LIST_NAMES: Record<RouteList, string> = { http: 'an HTTP route', grpc: 'a gRPC route', tcp: 'a TCP route', passthrough: 'a passthrough route' };

class RouteChecker {
  private readonly attached: Record<'http' | 'grpc', AttachedRoute[]> = { http: [], grpc: [] };

  constructor(
    private readonly c: Checker,
    private readonly blocks: ReadonlyMap<string, BlockFacts>,
  ) {}

  checkAll(value: unknown, path: string, list: RouteList): void {
    (this.c.array(value, path) ?? []).forEach((route, index) => this.check(route, pointer(path, index), list));
  }

  private check(value: unknown, path: string, list: RouteList): void {
    const c = this.c;
    const route = c.object(value, path, ROUTE_FIELDS[list]);
    if (!route) return;
    checkRouteSource(c, route.source, pointer(path, 'source'), ROUTE_KINDS[list]);
    const hostnames = c.hostnames(route.hostnames, pointer(path, 'hostnames'));
    const block = this.resolveBlock(route.serverBlock, pointer(path, 'serverBlock'), list);
    if (block) this.checkHostnames(hostnames, block, pointer(path, 'hostnames'), list);
    switch (list) {
      case 'http':
        (c.array(route.rules, pointer(path, 'rules')) ?? []).forEach((rule, index) => checkHttpRule(c, rule, pointer(pointer(path, 'rules'), index)));
        break;
      case 'grpc':
        (c.array(route.rules, pointer(path, 'rules')) ?? []).forEach((rule, index) => checkGrpcRule(c, rule, pointer(pointer(path, 'rules'), index)));
        break;
      case 'tcp':
      case 'passthrough':
        checkBackends(c, route.backends, pointer(path, 'backends'), list === 'tcp' ? TCP_BACKENDS : PASSTHROUGH_BACKENDS);
        break;
    }
    if (block && (list === 'http' || list === 'grpc')) {
      this.attached[list].push({ path, block, served: hostnames.length > 0 ? hostnames : [block.hostname] });
    }
  }

  private resolveBlock(value: unknown, path: string, list: RouteList): BlockFacts | undefined {
    const id = this.c.string(value, path);
    if (id === undefined) return undefined;
    const block = this.blocks.get(id);
    if (!block) {
      this.c.report(IrProblemCode.UNKNOWN_SERVER_BLOCK, path, `no server block ${shown(id)} on this listener (known: ${[...this.blocks.keys()].join(', ') || 'none'})`);
      return undefined;
    }
    if (!routeAllowed(list, block)) {
      const mode = block.tlsMode ? ` (${block.tlsMode})` : '';
      this.c.report(IrProblemCode.ROUTE_NOT_ALLOWED, path, `${ROUTE_LIST_NAMES[list]} cannot be served by server block ${shown(id)} of protocol ${block.protocol}${mode}`);
      return undefined;
    }
    return block;
  }

  private checkHostnames(hostnames: readonly string[], block: BlockFacts, path: string, list: RouteList): void {
    if (list === 'tcp' && block.protocol === 'TCP' && hostnames.length > 0) {
      this.c.report(IrProblemCode.HOSTNAME_OUTSIDE_SERVER_BLOCK, path, 'a route on a plain TCP block cannot select by hostname: there is no SNI');
      return;
    }
    hostnames.forEach((hostname, index) => {
      if (!hostnameCovers(block.hostname, hostname)) {
        this.c.report(IrProblemCode.HOSTNAME_OUTSIDE_SERVER_BLOCK, pointer(path, index), `${hostname} is not served by server block ${shown(block.id)} (hostname ${block.hostname}); the controller must intersect route and listener hostnames`);
      }
    });
  }

  /**
   * GRPCRouteSpec.hostnames docs: an HTTPRoute and a GRPCRoute with intersecting
   * hostnames on one listener — only one may be accepted. The proxy relies on it to
   * pick the route kind by Host alone.
   */
  checkHttpGrpcConflicts(): void {
    for (const grpc of this.attached.grpc) {
      const clash = this.attached.http.find(
        (http) => http.block.id === grpc.block.id && http.served.some((h) => grpc.served.some((g) => hostnamesIntersect(h, g))),
      );
      if (clash) {
        this.c.report(IrProblemCode.HTTP_GRPC_HOSTNAME_CONFLICT, pointer(grpc.path, 'hostnames'), `serves hostnames that the HTTP route at ${clash.path} also serves on server block ${shown(grpc.block.id)}; the controller must accept only one of them`);
      }
    }
  }
}

/** RFC 3339 date-time, as Kubernetes writes metadata.creationTimestamp. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function checkRouteSource(c: Checker, value: unknown, path: string, kinds: readonly RouteKind[]): void {
  const source = c.object(value, path, { required: ['kind', 'namespace', 'name', 'creationTimestamp'] });
  if (!source) return;
  c.enumValue(source.kind, pointer(path, 'kind'), kinds);
  c.nonEmptyString(source.namespace, pointer(path, 'namespace'));
  c.nonEmptyString(source.name, pointer(path, 'name'));
  const timestamp = c.string(source.creationTimestamp, pointer(path, 'creationTimestamp'));
  if (timestamp !== undefined && (!RFC3339.test(timestamp) || Number.isNaN(Date.parse(timestamp)))) {
    c.report(IrProblemCode.INVALID_TIMESTAMP, pointer(path, 'creationTimestamp'), `${shown(timestamp)} is not an RFC 3339 timestamp such as "2024-05-01T10:00:00Z"`);
  }
}

// ---------------------------------------------------------------------------------
// HTTP rules

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
const PATH_MATCH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'] as const;
const VALUE_MATCH_TYPES = ['Exact', 'RegularExpression'] as const;
const HTTP_FILTER_TYPES = ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'CORS', 'RequestMirror'] as const;
/** Filter types a rule may carry more than once (HTTPRouteRule.filters docs: RequestMirror may repeat). */
const REPEATABLE_FILTER_TYPES: ReadonlySet<string> = new Set(['RequestMirror']);
const GRPC_FILTER_TYPES = ['RequestHeaderModifier', 'ResponseHeaderModifier'] as const;
const BACKEND_FILTER_TYPES = GRPC_FILTER_TYPES;
const REDIRECT_STATUS_CODES = [301, 302, 303, 307, 308];

interface RuleFacts {
  pathPrefixMatches: number;
  matchCount: number;
}

function checkHttpRule(c: Checker, value: unknown, path: string): void {
  const rule = c.object(value, path, { required: ['matches', 'filters', 'backends'], optional: ['name', 'invalidBackendResponse', 'timeouts', 'retry'] });
  if (!rule) return;
  if (rule.name !== undefined) c.nonEmptyString(rule.name, pointer(path, 'name'));
  const matches = c.array(rule.matches, pointer(path, 'matches')) ?? [];
  const facts: RuleFacts = { pathPrefixMatches: 0, matchCount: matches.length };
  matches.forEach((match, index) => {
    if (checkHttpMatch(c, match, pointer(pointer(path, 'matches'), index)) === 'PathPrefix') facts.pathPrefixMatches++;
  });
  const backends = checkBackends(c, rule.backends, pointer(path, 'backends'), HTTP_BACKENDS);
  const filters = checkFilters(c, rule.filters, pointer(path, 'filters'), HTTP_FILTER_TYPES, facts);
  if (filters.has('RequestRedirect') && backends.count > 0) {
    c.report(IrProblemCode.INCOMPATIBLE_FILTERS, pointer(path, 'filters'), 'a rule with a RequestRedirect filter answers itself and takes no backends (HTTPRouteRule validation)');
  }
  if (rule.invalidBackendResponse !== undefined) {
    const response = c.object(rule.invalidBackendResponse, pointer(path, 'invalidBackendResponse'), { required: ['status', 'reason'] });
    if (response) {
      c.integer(response.status, pointer(pointer(path, 'invalidBackendResponse'), 'status'), 400, 599, IrProblemCode.INVALID_STATUS_CODE, 'a status');
      c.string(response.reason, pointer(pointer(path, 'invalidBackendResponse'), 'reason'));
    }
  }
  if (backends.totalWeight === 0 && !filters.has('RequestRedirect') && rule.invalidBackendResponse === undefined && backends.readable) {
    c.report(IrProblemCode.MISSING_ACTION, path, 'the rule has no backend with a weight above 0, no RequestRedirect filter and no invalidBackendResponse: the proxy would not know how to answer (Gateway API says 500: set invalidBackendResponse)');
  }
  if (rule.timeouts !== undefined) checkTimeouts(c, rule.timeouts, pointer(path, 'timeouts'));
  if (rule.retry !== undefined) checkRetry(c, rule.retry, pointer(path, 'retry'));
}

/** Returns the path match type, for the ReplacePrefixMatch rule. */
function checkHttpMatch(c: Checker, value: unknown, path: string): string | undefined {
  const match = c.object(value, path, { required: [], optional: ['path', 'headers', 'queryParams', 'method'] });
  if (!match) return undefined;
  let pathType: string | undefined = 'PathPrefix'; // absent path = PathPrefix "/"
  if (match.path !== undefined) pathType = checkPathMatch(c, match.path, pointer(path, 'path'));
  checkHeaderMatches(c, match.headers, pointer(path, 'headers'));
  (c.array(match.queryParams, pointer(path, 'queryParams')) ?? []).forEach((param, index) => {
    const paramPath = pointer(pointer(path, 'queryParams'), index);
    const query = c.object(param, paramPath, { required: ['type', 'name', 'value'] });
    if (!query) return;
    const type = c.enumValue(query.type, pointer(paramPath, 'type'), VALUE_MATCH_TYPES);
    c.nonEmptyString(query.name, pointer(paramPath, 'name'));
    if (type === 'RegularExpression') c.regex(query.value, pointer(paramPath, 'value'));
    else c.nonEmptyString(query.value, pointer(paramPath, 'value'));
  });
  c.enumValue(match.method, pointer(path, 'method'), HTTP_METHODS);
  return pathType;
}

/**
 * Gateway API HTTPPathMatch validation for Exact and PathPrefix: starts with `/`, the
 * URI path character set, no `//`, `/./`, `/../`, `%2f`, `#`, no trailing `/.` or `/..`.
 */
const PATH_CHARACTERS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;

function pathProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'must start with "/"';
  if (!PATH_CHARACTERS.test(value)) return 'has characters outside the URI path set (RFC 3986 pchar)';
  if (value.includes('//')) return 'must not contain "//"';
  if (value.includes('/./') || value.includes('/../') || value.endsWith('/.') || value.endsWith('/..')) return 'must not contain dot segments';
  if (/%2f/i.test(value)) return 'must not contain an encoded "/" (%2F)';
  return undefined;
}

function checkPathMatch(c: Checker, value: unknown, path: string): string | undefined {
  const match = c.object(value, path, { required: ['type', 'value'] });
  if (!match) return undefined;
  const type = c.enumValue(match.type, pointer(path, 'type'), PATH_MATCH_TYPES);
  if (type === 'RegularExpression') {
    c.regex(match.value, pointer(path, 'value'));
    return type;
  }
  const text = c.string(match.value, pointer(path, 'value'));
  const problem = text === undefined ? undefined : pathProblem(text);
  if (problem) c.report(IrProblemCode.INVALID_PATH, pointer(path, 'value'), `${shown(text)} ${problem}`);
  return type;
}

/** RFC 9110 §5.1 field-name = token (RFC 9110 §5.6.2 tchar). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5: field values carry no CR, LF or NUL (header injection). */
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;

function checkHeaderName(c: Checker, value: unknown, path: string): string | undefined {
  const name = c.string(value, path);
  if (name !== undefined && !HEADER_NAME.test(name)) {
    c.report(IrProblemCode.INVALID_HEADER_NAME, path, `${shown(name)} is not an HTTP field name (RFC 9110 §5.1 token)`);
    return undefined;
  }
  return name;
}

function checkHeaderValue(c: Checker, value: unknown, path: string): void {
  const text = c.string(value, path);
  if (text !== undefined && HEADER_VALUE_FORBIDDEN.test(text)) {
    c.report(IrProblemCode.INVALID_HEADER_VALUE, path, 'an HTTP field value must not contain CR, LF or NUL (RFC 9110 §5.5)');
  }
}

function checkHeaderMatches(c: Checker, value: unknown, path: string): void {
  (c.array(value, path) ?? []).forEach((item, index) => {
    const itemPath = pointer(path, index);
    const header = c.object(item, itemPath, { required: ['type', 'name', 'value'] });
    if (!header) return;
    const type = c.enumValue(header.type, pointer(itemPath, 'type'), VALUE_MATCH_TYPES);
    checkHeaderName(c, header.name, pointer(itemPath, 'name'));
    if (type === 'RegularExpression') {
      c.regex(header.value, pointer(itemPath, 'value'));
    } else {
      c.nonEmptyString(header.value, pointer(itemPath, 'value'));
      checkHeaderValue(c, header.value, pointer(itemPath, 'value'));
    }
  });
}

/** Checks a filter list; returns the filter types present. */
function checkFilters(c: Checker, value: unknown, path: string, allowed: readonly string[], rule: RuleFacts): Set<string> {
  const seen = new Map<string, string>();
  (c.array(value, path) ?? []).forEach((item, index) => {
    const itemPath = pointer(path, index);
    const tagged = c.tag(item, itemPath, 'type', allowed);
    if (!tagged?.tag) return;
    const earlier = seen.get(tagged.tag);
    if (earlier !== undefined && !REPEATABLE_FILTER_TYPES.has(tagged.tag)) c.report(IrProblemCode.INCOMPATIBLE_FILTERS, itemPath, `${tagged.tag} appears twice in the rule (first at ${earlier})`);
    else if (earlier === undefined) seen.set(tagged.tag, itemPath);
    checkFilter(c, tagged.object, tagged.tag, itemPath, rule);
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) {
    c.report(IrProblemCode.INCOMPATIBLE_FILTERS, seen.get('URLRewrite')!, 'RequestRedirect and URLRewrite cannot be combined in one rule (HTTPRouteRule.filters docs)');
  }
  return new Set(seen.keys());
}

function checkFilter(c: Checker, filter: JsonObject, type: string, path: string, rule: RuleFacts): void {
  switch (type) {
    case 'RequestHeaderModifier':
    case 'ResponseHeaderModifier':
      checkHeaderModifier(c, filter, path);
      return;
    case 'RequestRedirect': {
      const redirect = c.object(filter, path, { required: ['type', 'statusCode'], optional: ['scheme', 'hostname', 'path', 'port'] });
      if (!redirect) return;
      c.enumValue(redirect.scheme, pointer(path, 'scheme'), ['http', 'https'] as const);
      if (redirect.hostname !== undefined) c.preciseHostname(redirect.hostname, pointer(path, 'hostname'));
      if (redirect.port !== undefined) c.port(redirect.port, pointer(path, 'port'));
      const status = c.number(redirect.statusCode, pointer(path, 'statusCode'));
      if (status !== undefined && !REDIRECT_STATUS_CODES.includes(status)) {
        c.report(IrProblemCode.INVALID_STATUS_CODE, pointer(path, 'statusCode'), `a redirect status must be one of ${REDIRECT_STATUS_CODES.join(', ')}, found ${status}`);
      }
      if (redirect.path !== undefined) checkPathModifier(c, redirect.path, pointer(path, 'path'), rule);
      return;
    }
    case 'URLRewrite': {
      const rewrite = c.object(filter, path, { required: ['type'], optional: ['hostname', 'path'] });
      if (!rewrite) return;
      if (rewrite.hostname !== undefined) c.preciseHostname(rewrite.hostname, pointer(path, 'hostname'));
      if (rewrite.path !== undefined) checkPathModifier(c, rewrite.path, pointer(path, 'path'), rule);
      return;
    }
    case 'CORS':
      checkCors(c, filter, path);
      return;
    case 'RequestMirror': {
      const mirror = c.object(filter, path, { required: ['type', 'backend'], optional: ['share'] });
      if (!mirror) return;
      checkBackend(c, mirror.backend, pointer(path, 'backend'), HTTP_BACKENDS);
      if (mirror.share !== undefined) checkShare(c, mirror.share, pointer(path, 'share'));
      return;
    }
  }
}

/**
 * CORSOrigin validation: `*` alone, or `http(s)://host[:port]` where host is `*`, or
 * RFC 1123 labels optionally after a leading `*.` (lower case here: origins compare
 * case-insensitively, the translator lower-cases them).
 */
const CORS_ORIGIN = /^(?:\*|https?:\/\/(?:\*|(?:\*\.)?(?:[a-z0-9-]+\.)*[a-z0-9-]+)(?::\d{1,5})?)$/;

function checkCors(c: Checker, value: unknown, path: string): void {
  const cors = c.object(value, path, { required: ['type', 'allowOrigins', 'allowCredentials', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAgeSeconds'] });
  if (!cors) return;
  const origins = c.stringArray(cors.allowOrigins, pointer(path, 'allowOrigins'));
  origins.forEach((origin, index) => {
    if (!CORS_ORIGIN.test(origin)) c.report(IrProblemCode.INVALID_CORS, pointer(pointer(path, 'allowOrigins'), index), `${shown(origin)} is not a CORS origin: "*", or http(s)://host[:port] in lower case, the host optionally "*" or starting with "*."`);
  });
  if (typeof cors.allowCredentials !== 'boolean') c.report(IrProblemCode.TYPE_MISMATCH, pointer(path, 'allowCredentials'), `expected a boolean, found ${describeType(cors.allowCredentials)}`);
  const methods = c.stringArray(cors.allowMethods, pointer(path, 'allowMethods'));
  methods.forEach((method, index) => c.enumValue(method, pointer(pointer(path, 'allowMethods'), index), [...HTTP_METHODS, '*'] as const));
  const headerNames = (field: 'allowHeaders' | 'exposeHeaders'): string[] => {
    const names = c.stringArray(cors[field], pointer(path, field));
    names.forEach((name, index) => {
      if (name !== '*') checkHeaderName(c, name, pointer(pointer(path, field), index));
    });
    return names;
  };
  const allowHeaders = headerNames('allowHeaders');
  headerNames('exposeHeaders');
  for (const [field, list] of [['allowOrigins', origins], ['allowMethods', methods], ['allowHeaders', allowHeaders]] as const) {
    if (list.includes('*') && list.length > 1) c.report(IrProblemCode.INVALID_CORS, pointer(path, field), `"*" must be the only entry of ${field} (HTTPCORSFilter validation)`);
  }
  c.integer(cors.maxAgeSeconds, pointer(path, 'maxAgeSeconds'), 1, 2_147_483_647, IrProblemCode.INVALID_CORS, 'maxAgeSeconds');
}

/** HTTPRequestMirrorFilter percent / fraction: numerator ≤ denominator, denominator ≥ 1. */
function checkShare(c: Checker, value: unknown, path: string): void {
  const share = c.object(value, path, { required: ['numerator', 'denominator'] });
  if (!share) return;
  const denominator = c.integer(share.denominator, pointer(path, 'denominator'), 1, 1_000_000, IrProblemCode.INVALID_MIRROR_SHARE, 'a denominator');
  c.integer(share.numerator, pointer(path, 'numerator'), 0, denominator ?? 1_000_000, IrProblemCode.INVALID_MIRROR_SHARE, 'a numerator (at most the denominator)');
}

function checkRetry(c: Checker, value: unknown, path: string): void {
  const retry = c.object(value, path, { required: ['codes', 'attempts', 'backoffMs'] });
  if (!retry) return;
  (c.array(retry.codes, pointer(path, 'codes')) ?? []).forEach((code, index) => {
    c.integer(code, pointer(pointer(path, 'codes'), index), 400, 599, IrProblemCode.INVALID_STATUS_CODE, 'a retry status');
  });
  c.integer(retry.attempts, pointer(path, 'attempts'), 1, 1_000, IrProblemCode.INVALID_RETRY, 'attempts');
  c.integer(retry.backoffMs, pointer(path, 'backoffMs'), 0, 86_400_000, IrProblemCode.INVALID_RETRY, 'backoffMs');
}

function checkHeaderModifier(c: Checker, value: unknown, path: string): void {
  const modifier = c.object(value, path, { required: ['type'], optional: ['set', 'add', 'remove'] });
  if (!modifier) return;
  const named: { value: string; path: string }[] = [];
  for (const action of ['set', 'add'] as const) {
    (c.array(modifier[action], pointer(path, action)) ?? []).forEach((item, index) => {
      const itemPath = pointer(pointer(path, action), index);
      const header = c.object(item, itemPath, { required: ['name', 'value'] });
      if (!header) return;
      const name = checkHeaderName(c, header.name, pointer(itemPath, 'name'));
      checkHeaderValue(c, header.value, pointer(itemPath, 'value'));
      if (name !== undefined) named.push({ value: name, path: pointer(itemPath, 'name') });
    });
  }
  (c.array(modifier.remove, pointer(path, 'remove')) ?? []).forEach((item, index) => {
    const name = checkHeaderName(c, item, pointer(pointer(path, 'remove'), index));
    if (name !== undefined) named.push({ value: name, path: pointer(pointer(path, 'remove'), index) });
  });
  // HTTPHeaderFilter docs: "Only one action for a given header name is permitted."
  c.unique(named, (name) => name.toLowerCase(), IrProblemCode.INVALID_HEADER_NAME, (name) => `header ${name} (one action per header name)`);
}

function checkPathModifier(c: Checker, value: unknown, path: string, rule: RuleFacts): void {
  const tagged = c.tag(value, path, 'type', ['ReplaceFullPath', 'ReplacePrefixMatch'] as const);
  if (!tagged?.tag) return;
  const field = tagged.tag === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch';
  const modifier = c.object(tagged.object, path, { required: ['type', field] });
  if (!modifier) return;
  const replacement = c.string(modifier[field], pointer(path, field));
  // ReplacePrefixMatch may be empty (HTTPPathModifier table: "/foo/bar" → "/bar").
  const problem = replacement === undefined || (replacement === '' && field === 'replacePrefixMatch') ? undefined : pathProblem(replacement);
  if (problem) c.report(IrProblemCode.INVALID_PATH, pointer(path, field), `${shown(replacement)} ${problem}`);
  if (tagged.tag === 'ReplacePrefixMatch' && !(rule.matchCount === 1 && rule.pathPrefixMatches === 1)) {
    c.report(IrProblemCode.REPLACE_PREFIX_NEEDS_PATH_PREFIX, path, 'ReplacePrefixMatch needs the rule to have exactly one match, of type PathPrefix (HTTPPathModifier docs)');
  }
}

function checkTimeouts(c: Checker, value: unknown, path: string): void {
  const timeouts = c.object(value, path, { required: [], optional: ['requestMs', 'backendRequestMs'] });
  if (!timeouts) return;
  const day = 86_400_000;
  const request = c.integer(timeouts.requestMs, pointer(path, 'requestMs'), 0, day, IrProblemCode.INVALID_TIMEOUT, 'a timeout in milliseconds');
  const backend = c.integer(timeouts.backendRequestMs, pointer(path, 'backendRequestMs'), 0, day, IrProblemCode.INVALID_TIMEOUT, 'a timeout in milliseconds');
  // HTTPRouteTimeouts validation: backendRequest cannot be longer than a non-zero request timeout.
  if (request !== undefined && backend !== undefined && request !== 0 && (backend === 0 || backend > request)) {
    c.report(IrProblemCode.INVALID_TIMEOUT, pointer(path, 'backendRequestMs'), `the backend request timeout (${backend === 0 ? 'disabled' : `${backend} ms`}) must not exceed the request timeout (${request} ms)`);
  }
}

// ---------------------------------------------------------------------------------
// gRPC rules

/** GRPCMethodMatch validation (Exact): service and method names. */
const GRPC_SERVICE = /^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

function checkGrpcRule(c: Checker, value: unknown, path: string): void {
  const rule = c.object(value, path, { required: ['matches', 'filters', 'backends'], optional: ['name', 'invalidBackendResponse'] });
  if (!rule) return;
  if (rule.name !== undefined) c.nonEmptyString(rule.name, pointer(path, 'name'));
  const matches = c.array(rule.matches, pointer(path, 'matches')) ?? [];
  matches.forEach((match, index) => checkGrpcMatch(c, match, pointer(pointer(path, 'matches'), index)));
  checkFilters(c, rule.filters, pointer(path, 'filters'), GRPC_FILTER_TYPES, { pathPrefixMatches: 0, matchCount: matches.length });
  const backends = checkBackends(c, rule.backends, pointer(path, 'backends'), HTTP_BACKENDS);
  if (rule.invalidBackendResponse !== undefined) {
    const responsePath = pointer(path, 'invalidBackendResponse');
    const response = c.object(rule.invalidBackendResponse, responsePath, { required: ['grpcStatus', 'reason'] });
    if (response) {
      c.integer(response.grpcStatus, pointer(responsePath, 'grpcStatus'), 1, 16, IrProblemCode.INVALID_STATUS_CODE, 'a gRPC status code');
      c.string(response.reason, pointer(responsePath, 'reason'));
    }
  }
  if (backends.totalWeight === 0 && rule.invalidBackendResponse === undefined && backends.readable) {
    c.report(IrProblemCode.MISSING_ACTION, path, 'the rule has no backend with a weight above 0 and no invalidBackendResponse (gRPC says UNAVAILABLE: set invalidBackendResponse.grpcStatus 14)');
  }
}

function checkGrpcMatch(c: Checker, value: unknown, path: string): void {
  const match = c.object(value, path, { required: [], optional: ['method', 'headers'] });
  if (!match) return;
  checkHeaderMatches(c, match.headers, pointer(path, 'headers'));
  if (match.method === undefined) return;
  const methodPath = pointer(path, 'method');
  const method = c.object(match.method, methodPath, { required: ['type'], optional: ['service', 'method'] });
  if (!method) return;
  const type = c.enumValue(method.type, pointer(methodPath, 'type'), VALUE_MATCH_TYPES);
  if (method.service === undefined && method.method === undefined) {
    c.report(IrProblemCode.MISSING_FIELD, methodPath, 'a gRPC method match needs a service, a method, or both');
  }
  for (const [field, grammar] of [['service', GRPC_SERVICE], ['method', GRPC_METHOD]] as const) {
    if (method[field] === undefined) continue;
    if (type === 'RegularExpression') {
      c.regex(method[field], pointer(methodPath, field));
      continue;
    }
    const name = c.string(method[field], pointer(methodPath, field));
    if (name !== undefined && !grammar.test(name)) {
      c.report(IrProblemCode.INVALID_GRPC_NAME, pointer(methodPath, field), `${shown(name)} is not a gRPC ${field} name`);
    }
  }
}

// ---------------------------------------------------------------------------------
// Backends

interface BackendsFacts {
  count: number;
  totalWeight: number;
  /** False when the list itself could not be read (then no rule-level verdict). */
  readable: boolean;
}

/** What a route kind's backends may carry. */
interface BackendPolicy {
  /** HTTP backends name their upstream protocol; stream backends have none. */
  protocol: 'required' | 'absent';
  /** Upstream TLS (BackendTLSPolicy) is impossible where the proxy does not decrypt. */
  upstreamTls: 'allowed' | 'forbidden';
  /** A PROXY protocol header belongs in front of a byte stream, not an HTTP exchange. */
  proxyProtocol: 'allowed' | 'forbidden';
}

const HTTP_BACKENDS: BackendPolicy = { protocol: 'required', upstreamTls: 'allowed', proxyProtocol: 'forbidden' };
const TCP_BACKENDS: BackendPolicy = { protocol: 'absent', upstreamTls: 'allowed', proxyProtocol: 'allowed' };
const PASSTHROUGH_BACKENDS: BackendPolicy = { protocol: 'absent', upstreamTls: 'forbidden', proxyProtocol: 'allowed' };

function checkBackends(c: Checker, value: unknown, path: string, policy: BackendPolicy): BackendsFacts {
  const backends = c.array(value, path);
  const facts: BackendsFacts = { count: backends?.length ?? 0, totalWeight: 0, readable: backends !== undefined };
  (backends ?? []).forEach((item, index) => {
    const weight = checkBackend(c, item, pointer(path, index), policy);
    facts.totalWeight += weight ?? 1; // an unreadable weight is reported; do not also report MISSING_ACTION
  });
  return facts;
}

function checkBackend(c: Checker, value: unknown, path: string, policy: BackendPolicy): number | undefined {
  const tagged = c.tag(value, path, 'kind', ['Resolved', 'Invalid'] as const);
  if (!tagged?.tag) return undefined;
  if (tagged.tag === 'Invalid') {
    const invalid = c.object(tagged.object, path, { required: ['kind', 'name', 'weight', 'reason'] });
    if (!invalid) return undefined;
    c.nonEmptyString(invalid.name, pointer(path, 'name'));
    c.string(invalid.reason, pointer(path, 'reason'));
    return c.weight(invalid.weight, pointer(path, 'weight'));
  }
  const required = policy.protocol === 'required' ? ['kind', 'name', 'weight', 'endpoints', 'protocol'] : ['kind', 'name', 'weight', 'endpoints'];
  const backend = c.object(tagged.object, path, { required, optional: policy.protocol === 'required' ? ['tls', 'proxyProtocol', 'filters'] : ['tls', 'proxyProtocol'] });
  if (!backend) return undefined;
  c.nonEmptyString(backend.name, pointer(path, 'name'));
  if (policy.protocol === 'required') c.enumValue(backend.protocol, pointer(path, 'protocol'), ['HTTP/1.1', 'HTTP/2'] as const);
  (c.array(backend.endpoints, pointer(path, 'endpoints')) ?? []).forEach((item, index) => {
    const endpointPath = pointer(pointer(path, 'endpoints'), index);
    const endpoint = c.object(item, endpointPath, { required: ['address', 'port'] });
    if (!endpoint) return;
    c.ipAddress(endpoint.address, pointer(endpointPath, 'address'));
    c.port(endpoint.port, pointer(endpointPath, 'port'));
  });
  if (backend.filters !== undefined) checkFilters(c, backend.filters, pointer(path, 'filters'), BACKEND_FILTER_TYPES, { pathPrefixMatches: 0, matchCount: 0 });
  if (backend.tls !== undefined) {
    if (policy.upstreamTls === 'allowed') checkUpstreamTls(c, backend.tls, pointer(path, 'tls'));
    else c.report(IrProblemCode.TLS_NOT_ALLOWED, pointer(path, 'tls'), 'a passthrough route forwards the client\'s TLS stream untouched: its backends cannot have upstream TLS');
  }
  if (backend.proxyProtocol !== undefined) {
    if (policy.proxyProtocol === 'allowed') checkProxyProtocol(c, backend.proxyProtocol, pointer(path, 'proxyProtocol'));
    else c.report(IrProblemCode.PROXY_PROTOCOL_NOT_ALLOWED, pointer(path, 'proxyProtocol'), 'PROXY protocol is for TCPRoute and TLSRoute backends (byte streams); an HTTP backend learns the client address from X-Forwarded-For');
  }
  return c.weight(backend.weight, pointer(path, 'weight'));
}

function checkProxyProtocol(c: Checker, value: unknown, path: string): void {
  const settings = c.object(value, path, { required: ['version'] });
  if (settings) c.enumValue(settings.version, pointer(path, 'version'), ['V2'] as const);
}

function checkUpstreamTls(c: Checker, value: unknown, path: string): void {
  const tls = c.object(value, path, { required: ['serverName', 'trust'], optional: ['subjectAltNames', 'clientCertificate'] });
  if (!tls) return;
  c.preciseHostname(tls.serverName, pointer(path, 'serverName'));
  const trustPath = pointer(path, 'trust');
  const trust = c.tag(tls.trust, trustPath, 'kind', ['CaBundle', 'System'] as const);
  if (trust?.tag === 'System') c.object(trust.object, trustPath, { required: ['kind'] });
  if (trust?.tag === 'CaBundle') {
    const bundle = c.object(trust.object, trustPath, { required: ['kind', 'caCertificatesPem'] });
    const pem = bundle ? c.string(bundle.caCertificatesPem, pointer(trustPath, 'caCertificatesPem')) : undefined;
    if (pem !== undefined) parseCertificates(c, pem, pointer(trustPath, 'caCertificatesPem'));
  }
  (c.array(tls.subjectAltNames, pointer(path, 'subjectAltNames')) ?? []).forEach((item, index) => {
    checkSubjectAltName(c, item, pointer(pointer(path, 'subjectAltNames'), index));
  });
  if (tls.clientCertificate !== undefined) checkCertificate(c, tls.clientCertificate, pointer(path, 'clientCertificate'));
}

function checkSubjectAltName(c: Checker, value: unknown, path: string): void {
  const tagged = c.tag(value, path, 'type', ['Hostname', 'URI'] as const);
  if (!tagged?.tag) return;
  const field = tagged.tag === 'Hostname' ? 'hostname' : 'uri';
  const san = c.object(tagged.object, path, { required: ['type', field] });
  const text = san ? c.string(san[field], pointer(path, field)) : undefined;
  if (text === undefined) return;
  const valid = tagged.tag === 'Hostname' ? isValidHostname(text) : isAbsoluteUri(text);
  if (!valid) {
    const expected = tagged.tag === 'Hostname' ? 'a hostname' : 'an absolute URI with a scheme, e.g. spiffe://cluster.local/ns/default/sa/echo';
    c.report(IrProblemCode.INVALID_SUBJECT_ALT_NAME, pointer(path, field), `${shown(text)} is not ${expected}`);
  }
}

function isAbsoluteUri(text: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:./.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
