// The reference guide's three scenarios (../shared/SCENARIOS.md) on the local provider,
// and the other suites, run from the same declarative tests `npm run conformance` runs.
import { expect } from 'chai';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controllerName, ingressClassName } from '../../src/controller/gatewayapi-types.js';
import { addConformanceTests } from '../../src/harness/mocha-tests.js';
import { defaultTimeouts } from '../../src/harness/timeouts.js';
import type { StartedLocalCluster } from '../../src/cluster/local/provider.js';
import { allTests } from '../../src/harness/runner.js';
import { clusterStartTimeoutMs, sharedCluster } from '../support/shared-cluster.js';

describe('conformance suites on the local provider (as `npm run conformance` runs them)', function () {
  let cluster: StartedLocalCluster;
  let startedAt: number;
  before(async function () {
    startedAt = Date.now();
    this.timeout(clusterStartTimeoutMs);
    cluster = await sharedCluster();
  });
  addConformanceTests(this, allTests, () => ({
    kc: () => cluster.kubeConfig(),
    implementation: { gatewayClass: 'portcullis', ingressClass: ingressClassName, controllerName },
    timeouts: defaultTimeouts,
  }));

  it('leaves none of the guide\'s certificate files (curl --cacert) behind in the temporary folder', function () {
    const left = readdirSync(tmpdir()).filter((name) => name.startsWith('portcullis-guide-') && statSync(join(tmpdir(), name)).mtimeMs >= startedAt);
    expect(left).to.deep.equal([]);
  });
});
