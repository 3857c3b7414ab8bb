// TLS passthrough beyond the reference scenario.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { passthroughBySni } from './routing-by-sni.js';

export const passthroughTests: ConformanceTest[] = [passthroughBySni];
