// Warning Events for what a person should see with `kubectl describe` (a missing TLS
// Secret on an Ingress, a backend that does not exist). Each distinct warning is
// recorded once per object and message; a changed message records again.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { TranslationWarning } from '../translate/model.js';

const apiVersions: Record<string, string> = { Ingress: 'networking.k8s.io/v1' };

export class EventRecorder {
  private readonly core: CoreV1Api;
  private readonly recorded = new Set<string>();

  constructor(kc: KubeConfig, private readonly log: Logger, private readonly component: string) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async warn(warnings: TranslationWarning[], uidOf: (object: string) => string | undefined): Promise<void> {
    for (const warning of warnings) {
      const key = `${warning.object}|${warning.reason}|${warning.message}`;
      if (this.recorded.has(key)) continue;
      this.recorded.add(key);
      const [kind, namespace, name] = warning.object.split('/') as [string, string, string];
      const now = new Date();
      try {
        await this.core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { generateName: `${name}.`, namespace },
            involvedObject: { kind, namespace, name, uid: uidOf(warning.object), apiVersion: apiVersions[kind] ?? 'gateway.networking.k8s.io/v1' },
            type: 'Warning',
            reason: warning.reason,
            message: warning.message,
            source: { component: this.component },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (err) {
        this.recorded.delete(key);
        this.log.warn('could not record an Event', { object: warning.object, err: errorMessage(err) });
      }
    }
  }
}
