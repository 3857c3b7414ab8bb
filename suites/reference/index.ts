// The reference guide's scenarios, in the guide's order.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { scenario1 } from './scenario-1-gateway-termination.js';
import { scenario2 } from './scenario-2-ingress-termination.js';
import { scenario3 } from './scenario-3-gateway-passthrough.js';

export const referenceTests: ConformanceTest[] = [scenario1, scenario2, scenario3];
