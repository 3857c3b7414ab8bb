// The UDP echo.
// - `echo` (the reference guide's echo on 1026): for each datagram, a greeting datagram
//   "Running on Pod <pod>.\n", then the datagram itself back.
// - `gateway-api` (upstream echo-basic/udpechoserver): one JSON datagram
//   {"request": <payload>, "namespace", "ingress", "service", "pod"}; upstream reads at
//   most 1024 bytes of a datagram, so we do too.
import type { Socket as UdpSocket } from 'node:dgram';
import type { DatagramProtocol, PodIdentity } from './config.js';
import { goJsonMarshal } from './go-compat.js';

const gatewayApiReadBytes = 1024;

export function datagramReplies(protocol: DatagramProtocol, pod: PodIdentity, message: Buffer): Buffer[] {
  if (protocol === 'gateway-api') {
    const request = message.subarray(0, gatewayApiReadBytes).toString('utf8');
    return [Buffer.from(goJsonMarshal({ request, namespace: pod.namespace, ingress: pod.ingress, service: pod.service, pod: pod.pod }))];
  }
  return [Buffer.from(`Running on Pod ${pod.pod}.\n`), message];
}

export function answerDatagram(protocol: DatagramProtocol, pod: PodIdentity): (socket: UdpSocket, message: Buffer, remote: { address: string; port: number }) => void {
  return (socket, message, remote) => {
    for (const reply of datagramReplies(protocol, pod, message)) socket.send(reply, remote.port, remote.address);
  };
}
