// What can be wrong with an IR document. The proxy answers a rejected PUT with 400 and
// these problems as JSON; codes are stable (tests, metrics and the controller key on
// them), messages are for a person and never contain key material.
import { PortcullisError } from '../lib/errors.js';

export const IrProblemCode = {
  // Shape
  /** The input could not be read at all (e.g. a getter threw). */
  UNREADABLE_INPUT: 'UNREADABLE_INPUT',
  /** A value has the wrong JSON type (object, array, string, number, boolean). */
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  MISSING_FIELD: 'MISSING_FIELD',
  /** A field the IR does not define: a typo or a newer controller. */
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  /** A string that must not be empty is. */
  EMPTY_VALUE: 'EMPTY_VALUE',
  /** A value outside its enumeration (protocol, match type, method, …). */
  INVALID_ENUM: 'INVALID_ENUM',
  // Network
  INVALID_PORT: 'INVALID_PORT',
  INVALID_IP_ADDRESS: 'INVALID_IP_ADDRESS',
  /** Two listeners on the same address and port, or on a port where one binds the unspecified address. */
  DUPLICATE_LISTENER: 'DUPLICATE_LISTENER',
  // Structure
  /** Two listeners, server blocks or certificates with one name/id. */
  DUPLICATE_ID: 'DUPLICATE_ID',
  /** Two server blocks of a listener serve the same hostname (or both are catch-alls). */
  DUPLICATE_HOSTNAME: 'DUPLICATE_HOSTNAME',
  /** A route names a server block its listener does not have. */
  UNKNOWN_SERVER_BLOCK: 'UNKNOWN_SERVER_BLOCK',
  /** Listener protocol, block protocol and TLS settings disagree. */
  PROTOCOL_MISMATCH: 'PROTOCOL_MISMATCH',
  /** A route kind the block's protocol cannot carry (e.g. an HTTP route on a passthrough block). */
  ROUTE_NOT_ALLOWED: 'ROUTE_NOT_ALLOWED',
  /** An HTTPRoute and a GRPCRoute on one block serve intersecting hostnames. */
  HTTP_GRPC_HOSTNAME_CONFLICT: 'HTTP_GRPC_HOSTNAME_CONFLICT',
  // Names and values
  INVALID_HOSTNAME: 'INVALID_HOSTNAME',
  /** A route hostname its server block does not serve (the controller intersects them). */
  HOSTNAME_OUTSIDE_SERVER_BLOCK: 'HOSTNAME_OUTSIDE_SERVER_BLOCK',
  INVALID_REGEX: 'INVALID_REGEX',
  INVALID_PATH: 'INVALID_PATH',
  INVALID_HEADER_NAME: 'INVALID_HEADER_NAME',
  INVALID_HEADER_VALUE: 'INVALID_HEADER_VALUE',
  INVALID_GRPC_NAME: 'INVALID_GRPC_NAME',
  INVALID_WEIGHT: 'INVALID_WEIGHT',
  INVALID_STATUS_CODE: 'INVALID_STATUS_CODE',
  INVALID_TIMEOUT: 'INVALID_TIMEOUT',
  /** A CORS filter field outside HTTPCORSFilter's rules (origin syntax, `*` beside other entries). */
  INVALID_CORS: 'INVALID_CORS',
  /** A retry policy with attempts or backoff out of range. */
  INVALID_RETRY: 'INVALID_RETRY',
  /** A mirror share whose numerator exceeds its denominator, or whose denominator is 0. */
  INVALID_MIRROR_SHARE: 'INVALID_MIRROR_SHARE',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  INVALID_ALPN: 'INVALID_ALPN',
  INVALID_SUBJECT_ALT_NAME: 'INVALID_SUBJECT_ALT_NAME',
  // Rules
  /** RequestRedirect with URLRewrite, a filter type twice, or RequestRedirect with backends. */
  INCOMPATIBLE_FILTERS: 'INCOMPATIBLE_FILTERS',
  /** ReplacePrefixMatch in a rule that does not have exactly one PathPrefix match. */
  REPLACE_PREFIX_NEEDS_PATH_PREFIX: 'REPLACE_PREFIX_NEEDS_PATH_PREFIX',
  /** A rule with no backends, no RequestRedirect and no invalidBackendResponse. */
  MISSING_ACTION: 'MISSING_ACTION',
  /** Upstream TLS on a passthrough route's backend: the proxy cannot re-encrypt what it does not decrypt. */
  TLS_NOT_ALLOWED: 'TLS_NOT_ALLOWED',
  /** PROXY protocol on an HTTP backend: only stream backends take it. */
  PROXY_PROTOCOL_NOT_ALLOWED: 'PROXY_PROTOCOL_NOT_ALLOWED',
  // Certificates
  /** A Terminate block without certificates. */
  MISSING_CERTIFICATE: 'MISSING_CERTIFICATE',
  /** No PEM block of the expected kind, or an encrypted key. */
  INVALID_PEM: 'INVALID_PEM',
  INVALID_CERTIFICATE: 'INVALID_CERTIFICATE',
  INVALID_PRIVATE_KEY: 'INVALID_PRIVATE_KEY',
  /** The private key is not the leaf certificate's. */
  KEY_CERTIFICATE_MISMATCH: 'KEY_CERTIFICATE_MISMATCH',
  /** `keyType` says one thing, the key is another. */
  KEY_TYPE_MISMATCH: 'KEY_TYPE_MISMATCH',
  // Volume
  /** More problems than are worth reporting; the list was cut. */
  TOO_MANY_PROBLEMS: 'TOO_MANY_PROBLEMS',
} as const;

export type IrProblemCode = (typeof IrProblemCode)[keyof typeof IrProblemCode];

/**
 * One thing wrong with an IR document. `path` is a JSON Pointer (RFC 6901) to the
 * offending value, e.g. `/listeners/0/serverBlocks/1/tls/certificates/0/privateKeyPem`.
 */
export class IrProblem extends PortcullisError {
  declare readonly code: IrProblemCode;
  readonly path: string;

  constructor(code: IrProblemCode, path: string, message: string) {
    super(code, message);
    this.name = 'IrProblem';
    this.path = path;
  }

  /** The 400 body lists problems as `{ code, path, message }`. */
  toJSON(): { code: IrProblemCode; path: string; message: string } {
    return { code: this.code, path: this.path, message: this.message };
  }
}

/** Thrown by assertValidConfig, for callers (tests, the controller's self-check) that want an exception. */
export class IrValidationError extends PortcullisError {
  readonly problems: readonly IrProblem[];

  constructor(problems: readonly IrProblem[]) {
    const shown = problems.slice(0, 5).map((p) => `${p.path || '/'}: ${p.message} [${p.code}]`);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    super('IR_INVALID', `the proxy configuration is invalid: ${shown.join('; ')}${more}`);
    this.name = 'IrValidationError';
    this.problems = problems;
  }
}
