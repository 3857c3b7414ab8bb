// Readiness checks run from the node's network namespace against the Pod's address,
// as the kubelet runs them: httpGet, tcpSocket. A container with no readiness probe
// is ready once every TCP port it declares accepts a connection (the kubelet would
// call it ready at once; waiting for the ports keeps EndpointSlices honest here).
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeCheck = () => Promise<boolean>;

function resolvePort(container: V1Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  const numeric = Number(port);
  if (Number.isInteger(numeric)) return numeric;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export function tcpCheck(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

function httpCheck(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}

/** Builds the readiness check of a container, or undefined when it is ready as soon as it runs. */
export function readinessCheck(container: V1Container, podAddress: string): ProbeCheck | undefined {
  const probe: V1Probe | undefined = container.readinessProbe;
  const timeoutMs = (probe?.timeoutSeconds ?? 1) * 1000;
  if (probe?.httpGet) {
    const { httpGet } = probe;
    const port = resolvePort(container, httpGet.port);
    const scheme = (httpGet.scheme ?? 'HTTP').toLowerCase();
    const url = new URL(`${scheme}://${httpGet.host || podAddress}:${port}${httpGet.path ?? '/'}`);
    const headers = Object.fromEntries((httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return () => httpCheck(url, headers, timeoutMs);
  }
  if (probe?.tcpSocket) {
    const port = resolvePort(container, probe.tcpSocket.port);
    return () => (port ? tcpCheck(probe.tcpSocket!.host || podAddress, port, timeoutMs) : Promise.resolve(false));
  }
  const ports = (container.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
  if (ports.length === 0) return undefined;
  return async () => (await Promise.all(ports.map((port) => tcpCheck(podAddress, port, timeoutMs)))).every(Boolean);
}
