// TLS termination beyond the reference scenario.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { certificateSelection } from './certificate-selection.js';
import { grpcOverTls } from './grpc-over-tls.js';
import { deleteAndRestore } from './lifecycle.js';
import { misdirectedAndUnknown } from './status-codes.js';

export const terminationTests: ConformanceTest[] = [certificateSelection, misdirectedAndUnknown, deleteAndRestore, grpcOverTls];
