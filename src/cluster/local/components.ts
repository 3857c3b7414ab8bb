// The processes of a local cluster, in start order, with the flags each needs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { distEntry } from '../../lib/paths.js';
import type { ControlPlaneBinaries } from './controlplane-build.js';
import { pkiFiles } from './pki.js';
import type { ClusterPaths, LocalClusterConfig } from './state.js';

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  /** An HTTP(S) endpoint that answers 200 once the component is ready. */
  readyUrl?: string;
  /** Seconds the component gets to stop after SIGTERM before SIGKILL. */
  stopGraceSeconds: number;
}

/** The controllers the local cluster needs: no scheduler, no node lifecycle (our node agent has no kubelet to evict for). */
export const controllers = [
  'namespace-controller',
  'garbage-collector-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'endpointslice-controller',
  'endpoints-controller',
  'replicaset-controller',
  'deployment-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
];

export function componentSpecs(config: LocalClusterConfig, paths: ClusterPaths, binaries: ControlPlaneBinaries): ComponentSpec[] {
  const pki = pkiFiles(paths.pki);
  const etcdUrl = `http://127.0.0.1:${config.etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${config.etcdPeerPort}`;
  return [
    {
      name: 'etcd',
      command: binaries.path('etcd'),
      args: [
        '--name=portcullis',
        `--data-dir=${paths.etcdData}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=portcullis=${peerUrl}`,
        // A throwaway development cluster: durability across power loss is not worth the fsync latency.
        '--unsafe-no-fsync',
        '--log-level=warn',
        '--quota-backend-bytes=2147483648',
      ],
      readyUrl: `${etcdUrl}/health`,
      stopGraceSeconds: 10,
    },
    {
      name: 'kube-apiserver',
      command: binaries.path('kube-apiserver'),
      args: [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${config.apiPort}`,
        `--cert-dir=${join(paths.pki, 'apiserver-generated')}`,
        `--tls-cert-file=${pki.apiserverCert}`,
        `--tls-private-key-file=${pki.apiserverKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--authorization-mode=RBAC',
        // The `kubernetes` Service's endpoint would be 127.0.0.1, which EndpointSlice validation rejects.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '--v=1',
        // Pod logs (`kubectl logs`) through the node agent's kubelet API, both ends verified.
        ...(existsSync(pki.kubeletClientCert)
          ? [`--kubelet-client-certificate=${pki.kubeletClientCert}`, `--kubelet-client-key=${pki.kubeletClientKey}`, `--kubelet-certificate-authority=${pki.caCert}`, '--kubelet-preferred-address-types=InternalIP']
          : []),
      ],
      readyUrl: `https://127.0.0.1:${config.apiPort}/readyz`,
      stopGraceSeconds: 10,
    },
    {
      name: 'kube-controller-manager',
      command: binaries.path('kube-controller-manager'),
      args: [
        `--kubeconfig=${pki.kubeconfig('kube-controller-manager')}`,
        `--authentication-kubeconfig=${pki.kubeconfig('kube-controller-manager')}`,
        `--authorization-kubeconfig=${pki.kubeconfig('kube-controller-manager')}`,
        '--bind-address=127.0.0.1',
        '--secure-port=0',
        `--controllers=${controllers.join(',')}`,
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ],
      stopGraceSeconds: 10,
    },
    {
      name: 'node-agent',
      command: process.execPath,
      args: ['--enable-source-maps', distEntry('src/cluster/local/node-agent/main.js'), paths.dir],
      stopGraceSeconds: 30,
    },
    {
      name: 'proxy',
      command: process.execPath,
      args: ['--enable-source-maps', distEntry('src/proxy/main.js'), '--admin', `127.0.0.1:${config.proxyAdminPort}`],
      readyUrl: `http://127.0.0.1:${config.proxyAdminPort}/healthz`,
      stopGraceSeconds: 10,
    },
    {
      name: 'controller',
      command: process.execPath,
      args: [
        '--enable-source-maps',
        distEntry('src/controller/main.js'),
        `--kubeconfig=${pki.kubeconfig('controller')}`,
        `--proxy-admin=http://127.0.0.1:${config.proxyAdminPort}`,
        `--gateway-cidr=${config.gatewayCIDR}`,
        // Never the default port: several clusters (and an installed controller) may share this machine.
        `--metrics-address=${config.controllerMetricsPort !== undefined ? `127.0.0.1:${config.controllerMetricsPort}` : 'off'}`,
      ],
      ...(config.controllerMetricsPort !== undefined ? { readyUrl: `http://127.0.0.1:${config.controllerMetricsPort}/healthz` } : {}),
      stopGraceSeconds: 10,
    },
  ];
}
