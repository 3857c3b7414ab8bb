// TLS termination beyond the reference scenario.
import type { ConformanceTest } from '../../src/harness/conformance-test.js';
import { certificateSelection } from './certificate-selection.js';
import { crossNamespaceCertificate } from './cross-namespace-certificate.js';
import { grpcOverTls } from './grpc-over-tls.js';
import { invalidCertificateRefs } from './invalid-certificate-refs.js';
import { deleteAndRestore } from './lifecycle.js';
import { secretRotation } from './secret-rotation.js';
import { misdirectedAndUnknown } from './status-codes.js';
import { tcpOverTls } from './tcp-over-tls.js';

export const terminationTests: ConformanceTest[] = [
  certificateSelection, misdirectedAndUnknown, invalidCertificateRefs, crossNamespaceCertificate, secretRotation, deleteAndRestore, grpcOverTls, tcpOverTls,
];
