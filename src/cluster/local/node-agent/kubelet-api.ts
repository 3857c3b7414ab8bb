// The one part of the kubelet's API the node agent serves: container logs, which the
// API server proxies for `kubectl logs` and the pods/log subresource (GET
// /containerLogs/<namespace>/<pod>/<container>). HTTPS on the node's address, port
// 10250 as the kubelet; only the API server's client certificate is let in. The logs
// carry no timestamps, so `sinceTime` and `sinceSeconds` cannot be honoured: the whole
// log is returned (what a reader filters by content still finds), as is `tailLines`.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createLogger } from '../../../lib/log.js';
import { KUBELET_CLIENT_USER, type PkiFiles } from '../pki.js';

const log = createLogger('node-agent');

export const KUBELET_PORT = 10250;

/** Kubernetes names: DNS labels and subdomains; nothing that could climb out of the logs directory. */
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface KubeletApi {
  close(): Promise<void>;
}

/** Serves container logs from `logsRoot` (files `<namespace>_<pod>_<container>.log`); undefined when the PKI has no kubelet certificate. */
export async function startKubeletApi(address: string, pki: PkiFiles, logsRoot: string): Promise<KubeletApi | undefined> {
  if (!existsSync(pki.kubeletCert)) {
    log.warn('no kubelet certificate in this cluster\'s PKI (made by an older version): pod logs are not served; recreate the cluster to have them', { file: pki.kubeletCert });
    return undefined;
  }
  const server = https.createServer(
    { cert: readFileSync(pki.kubeletCert), key: readFileSync(pki.kubeletKey), ca: readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      if (peer.subject?.CN !== KUBELET_CLIENT_USER) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end(`only ${KUBELET_CLIENT_USER} may read logs here\n`);
        return;
      }
      const url = new URL(req.url ?? '/', 'https://node');
      const [, kind, namespace, pod, container] = url.pathname.split('/');
      if (req.method !== 'GET' || kind !== 'containerLogs' || ![namespace, pod, container].every((part) => part !== undefined && NAME.test(part))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('this node serves only GET /containerLogs/<namespace>/<pod>/<container>\n');
        return;
      }
      const file = join(logsRoot, `${namespace}_${pod}_${container}.log`);
      if (!existsSync(file)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no log for container ${container} of Pod ${namespace}/${pod} on this node\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(KUBELET_PORT, address, () => resolve());
  });
  log.info('kubelet API serving container logs', { address, port: KUBELET_PORT });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
