// translate(snapshot) → IR listeners + desired statuses + warnings. Pure: no I/O, no
// clock. The Gateway API and Ingress processors run in that order over one builder,
// so Gateways claim hostnames on a shared socket before Ingresses.
import type { Snapshot } from '../gatewayapi-types.js';
import { indexBackendTlsPolicies } from './backend-tls.js';
import { indexBackends } from './backends.js';
import { processGateways, type GatewayProcessorOptions } from './gateway-processor.js';
import { processIngresses, type IngressProcessorOptions } from './ingress-processor.js';
import { IrBuilder } from './ir-builder.js';
import { emptyStatuses, type Translation, type TranslationWarning } from './model.js';

export interface TranslateOptions {
  gateway: GatewayProcessorOptions;
  ingress: IngressProcessorOptions;
}

export function translate(snapshot: Snapshot, options: TranslateOptions): Translation {
  const index = indexBackends(snapshot.services, snapshot.endpointSlices, snapshot.referenceGrants, indexBackendTlsPolicies(snapshot.backendTlsPolicies, snapshot.configMaps));
  const builder = new IrBuilder();
  const statuses = emptyStatuses();
  const warnings: TranslationWarning[] = [];
  processGateways(snapshot, index, builder, statuses, options.gateway);
  processIngresses(snapshot, index, builder, statuses, warnings, options.ingress);
  return { listeners: builder.build(), statuses, warnings };
}

export type { Translation } from './model.js';
