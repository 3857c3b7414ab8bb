// Mocha root hooks (loaded with --require): whatever the suites started is stopped.
import { stopSharedCluster } from './shared-cluster.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    await stopSharedCluster();
  },
};
