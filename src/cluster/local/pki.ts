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
  kubeconfig(identity: string): string;
}

export function pkiFiles(dir: string): PkiFiles {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    kubeconfig: (identity) => join(dir, `${identity}.kubeconfig`),
  };
}

/** Creates the PKI once; an existing one is kept so a restarted cluster keeps its identity. */
export async function ensurePki(dir: string, server: string): Promise<PkiFiles> {
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
