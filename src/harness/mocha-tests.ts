// Turns declarative ConformanceTests into mocha tests: a fresh namespace per test,
// deleted afterwards (unless kept for debugging), and a skip — with the reason in
// the title — when a feature the test needs is not supported.
import Mocha from 'mocha';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ConformanceTest } from './conformance-test.js';
import { SuiteContext, type ContextOptions, type Implementation } from './context.js';
import type { TimeoutConfig } from './timeouts.js';

export interface TestEnvironment {
  kc: () => KubeConfig;
  implementation: Implementation;
  timeouts: TimeoutConfig;
  /** Features the implementation supports; undefined: all. */
  supportedFeatures?: Set<string>;
  keepNamespaces?: boolean;
  /** Features the cluster cannot exercise whatever the implementation supports (its Gateway API lacks the kind), with the reason. */
  unavailableFeatures?: Map<string, string>;
  context?: ContextOptions;
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

/** Why the test cannot run here, or undefined: features the cluster lacks first, then those the implementation does not support. */
export function skipReason(test: ConformanceTest, environment: Pick<TestEnvironment, 'supportedFeatures' | 'unavailableFeatures'>): string | undefined {
  const unavailable = test.features.filter((feature) => environment.unavailableFeatures?.has(feature));
  if (unavailable.length > 0) return unavailable.map((feature) => environment.unavailableFeatures!.get(feature)).join('; ');
  const missing = missingFeatures(test, environment.supportedFeatures);
  if (missing.length > 0) return `unsupported feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  return undefined;
}

/** Adds one mocha test per ConformanceTest to `suite`; returns the skip reasons by shortName. */
export function addConformanceTests(suite: Mocha.Suite, tests: ConformanceTest[], environment: () => TestEnvironment): Map<string, string> {
  const skipped = new Map<string, string>();
  for (const test of tests) {
    const title = `${test.shortName}: ${test.description}`;
    const reason = skipReason(test, environment());
    if (reason) {
      skipped.set(test.shortName, reason);
      suite.addTest(new Mocha.Test(`${title} (skipped: ${reason})`));
      continue;
    }
    suite.addTest(
      new Mocha.Test(title, async function (this: Mocha.Context) {
        this.timeout(0);
        const env = environment();
        const ctx = new SuiteContext(env.kc(), namespaceFor(test), env.implementation, env.timeouts, test.manifestDir, env.context);
        await ctx.createNamespace();
        try {
          await test.test(ctx);
        } finally {
          ctx.removeScratchDirs();
          if (!env.keepNamespaces) await ctx.cleanup().catch(() => {});
        }
      }),
    );
  }
  return skipped;
}
