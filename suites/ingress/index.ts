// Ingress beyond the reference scenario.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { secretAfterIngress } from './secret-after-ingress.js';
import { severalHostsOneTlsEntry } from './several-hosts.js';

export const ingressTests: ConformanceTest[] = [secretAfterIngress, severalHostsOneTlsEntry];
