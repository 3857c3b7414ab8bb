// Status: attachment and reference errors, each with its exact Gateway API reason.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { listenerConditions } from './listener-conditions.js';
import { routeConditions } from './route-conditions.js';

export const statusTests: ConformanceTest[] = [listenerConditions, routeConditions];
