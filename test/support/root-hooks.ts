// Mocha root hooks (loaded with --require): whatever the suites started is stopped, and
// the temporary PORTCULLIS_HOME removed if nothing is left in it.
import { removeTestHome, stopSharedCluster } from './shared-cluster.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(120_000);
    await stopSharedCluster();
    removeTestHome();
  },
};
