// TLS passthrough beyond the reference scenario.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { passthroughHostnameIntersection } from './hostname-intersection.js';
import { passthroughDeleteAndRestore } from './lifecycle.js';
import { passthroughBySni } from './routing-by-sni.js';

export const passthroughTests: ConformanceTest[] = [passthroughBySni, passthroughHostnameIntersection, passthroughDeleteAndRestore];
