// client-node 1.4 gives every API call a new https.Agent, so a new TLS connection (and
// the client key parsed again) per request: most of the controller's CPU at 1,000
// routes. loadKubeConfig's PooledKubeConfig keeps one keep-alive agent per set of TLS
// options. Checked against the real API server, counting TLS connections.
import { expect } from 'chai';
import type https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { CoreV1Api, HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/lib/kube.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

describe('loadKubeConfig: API calls share keep-alive connections', function () {
  this.timeout(clusterStartTimeoutMs);

  /** The agent client-node's generated APIs would send a request with. */
  const agentOf = async (kc: KubeConfig) => {
    const context = new RequestContext(`${kc.getCurrentCluster()!.server}/api`, HttpMethod.GET);
    await kc.applySecurityAuthentication(context);
    return context.getAgent() as https.Agent;
  };

  it('gives every request the same keep-alive agent, and 20 calls one TLS connection', async function () {
    const kc = loadKubeConfig((await sharedCluster()).kubeconfigPath);
    const agent = await agentOf(kc);
    expect(await agentOf(kc), 'the agent of a second request').to.equal(agent);
    expect(agent.options.keepAlive).to.equal(true);

    const connections = new Set<TLSSocket>();
    agent.on('keylog', (_line: Buffer, socket: TLSSocket) => connections.add(socket));
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 20; i++) expect((await core.listNamespace()).items.length).to.be.greaterThan(0);
    expect(connections.size, 'TLS connections opened for 20 sequential API calls').to.equal(1);
  });

  it('keeps a separate agent for other TLS options (another client certificate)', async function () {
    const kc = loadKubeConfig((await sharedCluster()).kubeconfigPath);
    const first = await agentOf(kc);
    // A rotated client certificate: the same user, new key material.
    const user = kc.getCurrentUser()!;
    Object.assign(user, { certData: Buffer.from('-----BEGIN CERTIFICATE-----\nrotated\n-----END CERTIFICATE-----\n').toString('base64') });
    expect(await agentOf(kc), 'the agent after the client certificate changed').to.not.equal(first);
  });
});
