// The echo backend as a Deployment + Service for end-to-end tests on the local provider:
// TCP 1025, HTTP 1027 and, with a serving Secret, TLS 1030 (mounted where the echo looks,
// /etc/tls). With a client CA ConfigMap the echo verifies client certificates it is sent
// (and accepts clients that send none), which tests read back from its JSON answer.
import type { KubernetesObject } from '@kubernetes/client-node';

export interface EchoWorkloadOptions {
  /** A kubernetes.io/tls Secret: serve TLS on 1030. */
  tlsSecret?: string;
  /** A ConfigMap with `ca.crt`: verify client certificates against it. */
  clientCaConfigMap?: string;
  /** `json` for the upstream echo's JSON answers (request and TLS facts); default plain text. */
  format?: 'plain' | 'json';
}

export function echoWorkload(name: string, options: EchoWorkloadOptions = {}): KubernetesObject[] {
  const labels = { app: name };
  const { tlsSecret, clientCaConfigMap, format } = options;
  const mounts = [
    ...(tlsSecret ? [{ volume: { name: 'tls', secret: { secretName: tlsSecret } }, mountPath: '/etc/tls' }] : []),
    ...(clientCaConfigMap ? [{ volume: { name: 'client-ca', configMap: { name: clientCaConfigMap } }, mountPath: '/etc/client-ca' }] : []),
  ];
  const env = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...(format ? [{ name: 'ECHO_FORMAT', value: format }] : []),
    ...(clientCaConfigMap ? [{ name: 'TLS_CLIENT_CA_FILE', value: '/etc/client-ca/ca.crt' }] : []),
  ];
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
      spec: {
        replicas: 1, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'echo', image: 'portcullis/echo', env,
              ...(mounts.length ? { volumeMounts: mounts.map((m) => ({ name: m.volume.name, mountPath: m.mountPath, readOnly: true })) } : {}),
            }],
            ...(mounts.length ? { volumes: mounts.map((m) => m.volume) } : {}),
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, labels },
      spec: {
        selector: labels,
        ports: [
          { name: 'tcp', port: 1025, targetPort: 1025 },
          { name: 'http', port: 1027, targetPort: 1027 },
          ...(tlsSecret ? [{ name: 'https', port: 1030, targetPort: 1030 }] : []),
        ],
      },
    },
  ] as unknown as KubernetesObject[];
}
