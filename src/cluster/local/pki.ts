// The local cluster's credentials: a CA, the API server's serving certificate,
// client certificates for the admin and each component, and the service-account
// signing key. ECDSA P-256 throughout: fast to make, accepted by every component.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  createCertificateAuthority,
  generateKeyPair,
  issueCertificate,
  privateKeyPem,
  publicKeyPem,
  type KeyMaterial,
} from '../../lib/certs.js';

export interface ClientIdentity {
  /** File stem under pki/, e.g. `admin` → admin.crt, admin.key, admin.kubeconfig. */
  name: string;
  user: string;
  groups?: string[];
}

/** Who talks to the API server, and as whom (the bootstrap RBAC policy knows these users). */
export const clientIdentities: ClientIdentity[] = [
  { name: 'admin', user: 'portcullis-admin', groups: ['system:masters'] },
  { name: 'kube-controller-manager', user: 'system:kube-controller-manager' },
  { name: 'node-agent', user: 'portcullis-node-agent', groups: ['system:masters'] },
  { name: 'controller', user: 'portcullis-controller', groups: ['system:masters'] },
];

export interface PkiFiles {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** The node agent's kubelet API (pod logs): its serving certificate, for the node's address. */
  kubeletCert: string;
  kubeletKey: string;
  /** The API server's client certificate towards the kubelet API. */
  kubeletClientCert: string;
  kubeletClientKey: string;
  kubeconfig(identity: string): string;
}

/** The user the API server presents to the node agent's kubelet API; no one else may read logs there. */
export const KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';

export function pkiFiles(dir: string): PkiFiles {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    kubeletCert: join(dir, 'kubelet.crt'),
    kubeletKey: join(dir, 'kubelet.key'),
    kubeletClientCert: join(dir, 'apiserver-kubelet-client.crt'),
    kubeletClientKey: join(dir, 'apiserver-kubelet-client.key'),
    kubeconfig: (identity) => join(dir, `${identity}.kubeconfig`),
  };
}

/**
 * Creates the PKI once; an existing one is kept so a restarted cluster keeps its identity
 * (one made before the kubelet API certificates existed goes without pod logs).
 */
export async function ensurePki(dir: string, server: string, nodeAddress: string): Promise<PkiFiles> {
  const files = pkiFiles(dir);
  if (existsSync(files.kubeconfig('admin'))) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority('portcullis-local-ca');
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    usage: 'server',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '10.96.0.1'],
  });
  const serviceAccount = await generateKeyPair('ecdsa-p256');
  writeSecret(files.caCert, ca.certPem);
  writeSecret(files.caKey, ca.keyPem);
  writeSecret(files.apiserverCert, serving.certPem);
  writeSecret(files.apiserverKey, serving.keyPem);
  writeSecret(files.serviceAccountKey, await privateKeyPem(serviceAccount));
  writeSecret(files.serviceAccountPub, await publicKeyPem(serviceAccount));
  const kubelet = await issueCertificate(ca, { commonName: 'portcullis-node-kubelet', usage: 'server', ipAddresses: [nodeAddress] });
  const kubeletClient = await issueCertificate(ca, { commonName: KUBELET_CLIENT_USER, usage: 'client' });
  writeSecret(files.kubeletCert, kubelet.certPem);
  writeSecret(files.kubeletKey, kubelet.keyPem);
  writeSecret(files.kubeletClientCert, kubeletClient.certPem);
  writeSecret(files.kubeletClientKey, kubeletClient.keyPem);
  for (const identity of clientIdentities) {
    const client = await issueCertificate(ca, {
      commonName: identity.user,
      organization: identity.groups?.[0],
      usage: 'client',
    });
    writeSecret(files.kubeconfig(identity.name), renderKubeconfig('portcullis', server, ca.certPem, identity.user, client));
  }
  return files;
}

function writeSecret(file: string, contents: string): void {
  writeFileSync(file, contents, { mode: 0o600 });
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function renderKubeconfig(clusterName: string, server: string, caPem: string, user: string, client: KeyMaterial): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server, 'certificate-authority-data': base64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': base64(client.certPem), 'client-key-data': base64(client.keyPem) } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user } }],
    'current-context': clusterName,
  });
}
