// The TCP and TLS stream echo, one line protocol with two greetings.
//
// Commands (the upstream conformance TCP server's, echo-basic/tcpserver/tcpserver.go in
// kubernetes-sigs/gateway-api-conformance-images; its client is conformance/utils/tcp in
// kubernetes-sigs/gateway-api). A command is a whole line, "\n" or "\r\n" terminated:
//   PING    -> "PONG\n"
//   IS_TLS  -> "true\n" or "false\n"
//   TEST    -> one line of JSON: {"namespace","ingress","service","pod","tcpport","tlsport"?,"isTLS","tls"?}
//
// Protocol `echo` (the reference guide's echo): greets with "Running on Pod <pod>.\n"
// (and "Through TLS connection.\n" over TLS), answers the commands, and sends every other
// line back byte for byte. Protocol `gateway-api`: greets with "Gateway API Test TCP
// Server\n" and ignores other lines, exactly like upstream, whose client reads the greeting
// and each answer with a fresh buffered reader (so we never send anything unasked).
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { PodIdentity, StreamProtocol } from './config.js';
import { goJsonMarshal, goTlsVersionName } from './go-compat.js';
import { readTlsFacts, type TlsFacts } from './tls-facts.js';

export const gatewayApiGreeting = 'Gateway API Test TCP Server\n';
/** Go's bufio.Scanner gives up on longer lines (bufio.MaxScanTokenSize). */
const maxLineBytes = 64 * 1024;

/** Upstream's TCPAssertions, field order as Go marshals it. */
export interface StreamAssertions {
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
  tcpport: string;
  tlsport?: string;
  isTLS: boolean;
  tls?: StreamTlsAssertions;
}

export interface StreamTlsAssertions {
  version: string;
  serverName: string;
  negotiatedProtocol?: string;
  curves?: string;
  cipherSuite: string;
}

export interface StreamEchoSettings {
  protocol: StreamProtocol;
  pod: PodIdentity;
  /** The ports reported by TEST. */
  tcpPortLabel: string;
  tlsPortLabel?: string;
}

export function streamGreeting(protocol: StreamProtocol, pod: string, overTls: boolean): string {
  if (protocol === 'gateway-api') return gatewayApiGreeting;
  return `Running on Pod ${pod}.\n${overTls ? 'Through TLS connection.\n' : ''}`;
}

export function streamAssertions(settings: StreamEchoSettings, tls: TlsFacts | undefined): StreamAssertions {
  return {
    namespace: settings.pod.namespace,
    ingress: settings.pod.ingress,
    service: settings.pod.service,
    pod: settings.pod.pod,
    tcpport: settings.tcpPortLabel,
    ...(settings.tlsPortLabel ? { tlsport: settings.tlsPortLabel } : {}),
    isTLS: tls !== undefined,
    ...(tls ? { tls: streamTlsAssertions(tls) } : {}),
  };
}

function streamTlsAssertions(facts: TlsFacts): StreamTlsAssertions {
  // `curves` (the key-exchange group) is omitted: Node does not expose it on the server side, and upstream omits it when empty.
  return {
    version: goTlsVersionName(facts.protocol),
    serverName: facts.serverName,
    ...(facts.alpnProtocol ? { negotiatedProtocol: facts.alpnProtocol } : {}),
    cipherSuite: facts.cipherSuite,
  };
}

/** Answers a command line, or returns undefined when the line is not one. */
export function answerCommand(line: string, assertions: StreamAssertions): string | undefined {
  switch (line) {
    case 'PING':
      return 'PONG\n';
    case 'IS_TLS':
      return `${assertions.isTLS}\n`;
    case 'TEST':
      return `${goJsonMarshal(assertions)}\n`;
    default:
      return undefined;
  }
}

export function serveStreamEcho(socket: Socket, settings: StreamEchoSettings): void {
  runSession(socket, settings, undefined);
}

export function serveTlsStreamEcho(socket: TLSSocket, settings: StreamEchoSettings): void {
  runSession(socket, settings, readTlsFacts(socket));
}

function runSession(socket: Socket, settings: StreamEchoSettings, tls: TlsFacts | undefined): void {
  const assertions = streamAssertions(settings, tls);
  const echoOthers = settings.protocol === 'echo';
  let pending: Buffer = Buffer.alloc(0);
  socket.write(streamGreeting(settings.protocol, settings.pod.pod, tls !== undefined));

  const handleLine = (line: Buffer): void => {
    // Like bufio.ScanLines: the terminator and one carriage return before it are not part of the line.
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0a) end--;
    if (end > 0 && line[end - 1] === 0x0d) end--;
    const answer = answerCommand(line.subarray(0, end).toString('latin1'), assertions);
    if (answer !== undefined) socket.write(answer);
    else if (echoOthers) socket.write(line);
  };

  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let newline: number;
    while ((newline = pending.indexOf(0x0a)) !== -1) {
      handleLine(pending.subarray(0, newline + 1));
      pending = pending.subarray(newline + 1);
    }
    if (pending.length > maxLineBytes) {
      if (echoOthers) {
        // A stream without newlines still echoes, in pieces.
        socket.write(pending);
        pending = Buffer.alloc(0);
      } else {
        socket.destroy();
      }
    }
  });
  socket.on('end', () => {
    if (pending.length > 0) handleLine(pending);
    socket.end();
  });
}
