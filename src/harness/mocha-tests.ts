// Turns declarative ConformanceTests into mocha tests: a fresh namespace per test,
// deleted afterwards (unless kept for debugging), and a skip — with the reason in
// the title — when a feature the test needs is not supported.
import Mocha from 'mocha';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConformanceTest } from './conformance-test.js';
import { SuiteContext, type Implementation } from './context.js';
import type { TimeoutConfig } from './timeouts.js';

export interface TestEnvironment {
  kc: () => KubeConfig;
  implementation: Implementation;
  timeouts: TimeoutConfig;
  /** Features the implementation supports; undefined: all. */
  supportedFeatures?: Set<string>;
  keepNamespaces?: boolean;
}

export function missingFeatures(test: ConformanceTest, supported: Set<string> | undefined): string[] {
  if (!supported) return [];
  return test.features.filter((feature) => !supported.has(feature));
}

let counter = 0;

function namespaceFor(test: ConformanceTest): string {
  const base = test.shortName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase().slice(0, 40);
  return `${base}-${process.pid % 10000}-${counter++}`;
}

/** Adds one mocha test per ConformanceTest to `suite`; returns the skip reasons by shortName. */
export function addConformanceTests(suite: Mocha.Suite, tests: ConformanceTest[], environment: () => TestEnvironment): Map<string, string> {
  const skipped = new Map<string, string>();
  for (const test of tests) {
    const title = `${test.shortName}: ${test.description}`;
    const missing = missingFeatures(test, environment().supportedFeatures);
    if (missing.length > 0) {
      const reason = `unsupported feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
      skipped.set(test.shortName, reason);
      suite.addTest(new Mocha.Test(`${title} (skipped: ${reason})`));
      continue;
    }
    suite.addTest(
      new Mocha.Test(title, async function (this: Mocha.Context) {
        this.timeout(0);
        const env = environment();
        const ctx = new SuiteContext(env.kc(), namespaceFor(test), env.implementation, env.timeouts, test.manifestDir);
        await ctx.createNamespace();
        try {
          await test.test(ctx);
        } finally {
          if (!env.keepNamespaces) await ctx.deleteNamespace().catch(() => {});
        }
      }),
    );
  }
  return skipped;
}
