// The headers that tell a backend about the client's request as the gateway received
// it. The gateway is the edge: what describes *this* hop (proto, host, port) is set,
// overwriting anything the client sent, so a client cannot claim to have come over
// https; the hop lists (X-Forwarded-For, Forwarded) are appended to, as every proxy
// on the way does (RFC 7239 §4).
//
// - X-Forwarded-For: previous values, then the client address.
// - X-Forwarded-Proto: `http` or `https`, the scheme the client used.
// - X-Forwarded-Host: the Host header (or HTTP/2 :authority) as the client sent it,
//   before any URLRewrite hostname.
// - X-Forwarded-Port: the listener port the client connected to.
// - Forwarded (RFC 7239): previous elements, then `for=…;host=…;proto=…`.
import { isIPv6 } from 'node:net';
import type { HeaderMap } from './http-filters.js';

export interface ForwardedFacts {
  clientAddress: string;
  scheme: 'http' | 'https';
  /** Host header or :authority as received. */
  authority: string;
  port: number;
}

/** RFC 7230 §3.2.6 token characters: such a value needs no quotes in a Forwarded pair. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A Forwarded parameter value: a token as is, anything else a quoted-string (RFC 7239 §4). */
function forwardedValue(value: string): string {
  if (TOKEN.test(value)) return value;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** RFC 7239 §6: an IPv6 node is written in brackets, which makes it a quoted-string. */
function forwardedNodeOf(address: string): string {
  if (address === '') return 'unknown';
  return forwardedValue(isIPv6(address) ? `[${address}]` : address);
}

/**
 * `compute` remembering its last argument and answer: consecutive requests mostly come
 * from one client with one Host (keep-alive), and the checks behind these values run
 * regular expressions (isIPv6's is large; seen in the keep-alive profile).
 */
function rememberingLast(compute: (value: string) => string): (value: string) => string {
  let lastInput: string | undefined;
  let lastOutput = '';
  return (value) => {
    if (value !== lastInput) {
      lastOutput = compute(value);
      lastInput = value;
    }
    return lastOutput;
  };
}

const forwardedNode = rememberingLast(forwardedNodeOf);
const forwardedHost = rememberingLast(forwardedValue);

function appended(previous: string | string[] | undefined, value: string): string {
  if (previous === undefined) return value;
  return `${Array.isArray(previous) ? previous.join(', ') : previous}, ${value}`;
}

/** Sets the forwarding headers on `headers` (the copy going upstream), given the client's own `received` headers. */
export function setForwardedHeaders(headers: HeaderMap, received: HeaderMap, facts: ForwardedFacts): void {
  headers['x-forwarded-for'] = appended(received['x-forwarded-for'], facts.clientAddress);
  headers['x-forwarded-proto'] = facts.scheme;
  headers['x-forwarded-port'] = String(facts.port);
  if (facts.authority !== '') headers['x-forwarded-host'] = facts.authority;
  else delete headers['x-forwarded-host'];
  let element = `for=${forwardedNode(facts.clientAddress)}`;
  if (facts.authority !== '') element += `;host=${forwardedHost(facts.authority)}`;
  element += `;proto=${facts.scheme}`;
  headers['forwarded'] = appended(received['forwarded'], element);
}
