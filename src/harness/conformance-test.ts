// A conformance test is a small declarative value, as in the upstream suite: what it
// checks, which features it needs, where its manifests are, and a short body built
// on the context's helpers.
import type { SuiteContext } from './context.js';

/** Upstream's profiles, and INGRESS for the Ingress tests (kept out of the ConformanceReport). */
export type Profile = 'GATEWAY-HTTP' | 'GATEWAY-TLS' | 'GATEWAY-GRPC' | 'INGRESS';

export interface ConformanceTest {
  shortName: string;
  description: string;
  /** The suite folder it belongs to: termination, passthrough, ingress, status, reference. */
  suite: string;
  /** Gateway API features it needs (skipped, with the reason, when one is unsupported). */
  features: string[];
  profile: Profile;
  extended?: boolean;
  /** Directory of its manifests (import.meta.url of the test file, resolved to src). */
  manifestDir: string;
  test(ctx: SuiteContext): Promise<void>;
}
