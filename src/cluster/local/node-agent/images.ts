// The local node runs no container images: each image it knows maps to a program
// on this machine. An image it does not know leaves the Pod not Ready, saying so.
import type { V1Container } from '@kubernetes/client-node';
import { distEntry } from '../../../lib/paths.js';

export interface ContainerCommand {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

type ImageProgram = (container: V1Container) => ContainerCommand;

const node = process.execPath;

const echo: ImageProgram = (container) => ({
  command: node,
  args: ['--enable-source-maps', distEntry('src/echo/main.js'), ...(container.args ?? [])],
});

/** The upstream conformance backends' image, whose environment selects HTTP, gRPC or TCP. */
const echoBasic: ImageProgram = (container) => ({
  command: node,
  args: ['--enable-source-maps', distEntry('src/echo/main.js'), '--profile', 'echo-basic', ...(container.args ?? [])],
});

/** CoreDNS as the conformance suite's UDPRoute backend uses it (`-conf /root/Corefile`); see src/dns/README.md. */
const coredns: ImageProgram = (container) => ({
  command: node,
  args: ['--enable-source-maps', distEntry('src/dns/main.js'), ...(container.args ?? [])],
});

/** Image repository (without registry host for docker.io, and without tag or digest) → program. */
const imageTable: Record<string, ImageProgram> = {
  'portcullis/echo': echo,
  'registry.k8s.io/gateway-api/echo-basic': echoBasic,
  'registry.k8s.io/coredns/coredns': coredns,
};

/** `docker.io/portcullis/echo:1.0` and `portcullis/echo@sha256:…` both name `portcullis/echo`. */
export function imageRepository(image: string): string {
  let name = image.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon >= 0) name = name.slice(0, colon);
  for (const prefix of ['docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  }
  return name;
}

export function knownImages(): string[] {
  return Object.keys(imageTable);
}

export function resolveImage(container: V1Container): ContainerCommand | undefined {
  const program = imageTable[imageRepository(container.image ?? '')];
  return program?.(container);
}
