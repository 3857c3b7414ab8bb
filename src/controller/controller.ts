// The control loop: caches change → (debounced) snapshot → translate → program the
// proxy → write statuses. One pass at a time; changes during a pass cause one more.
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { createSelfSignedCertificate } from '../lib/certs.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { TlsCertificate } from '../ir/types.js';
import { LoopbackAddressPool } from './addresses.js';
import { controllerName, ingressClassName } from './gatewayapi-types.js';
import { configVersion, programProxy } from './program/proxy-client.js';
import { EventRecorder } from './status/events.js';
import { StatusWriter, type ProgrammingState } from './status/writer.js';
import { translate, type TranslateOptions } from './translate/index.js';
import { ClusterCaches } from './watch/informers.js';
import { supportedFeatures } from './features.js';

/** Features this implementation claims in GatewayClass status (GEP-2162); only those its tests pass. */

export interface ControllerOptions {
  kc: KubeConfig;
  log: Logger;
  proxyAdminUrl: string;
  gatewayCidr: string;
  debounceMs?: number;
}

export class Controller {
  private readonly caches: ClusterCaches;
  private readonly writer: StatusWriter;
  private readonly events: EventRecorder;
  private readonly pool: LoopbackAddressPool;
  private defaultCertificate?: TlsCertificate;
  private lastApplied?: string;
  private programming: ProgrammingState = { applied: false };
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;
  private watchdog?: NodeJS.Timeout;

  constructor(private readonly options: ControllerOptions) {
    this.pool = new LoopbackAddressPool(options.gatewayCidr);
    this.caches = new ClusterCaches(options.kc, options.log, () => this.schedule());
    this.writer = new StatusWriter(options.kc, options.log, controllerName);
    this.events = new EventRecorder(options.kc, options.log, 'portcullis-controller');
  }

  async start(): Promise<void> {
    const material = await createSelfSignedCertificate({ commonName: 'portcullis-default', dnsNames: ['portcullis.invalid'], algorithm: 'ecdsa-p256' });
    this.defaultCertificate = { id: 'portcullis-default', source: 'the controller default certificate', keyType: 'ECDSA', certificateChainPem: material.certPem, privateKeyPem: material.keyPem };
    await this.caches.start();
    this.watchdog = setInterval(() => void this.checkProxy(), 2000);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    await this.caches.stop();
  }

  private schedule(delayMs = this.options.debounceMs ?? 30): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), delayMs);
  }

  /** A restarted proxy has no configuration: send it again. */
  private async checkProxy(): Promise<void> {
    if (!this.lastApplied) return;
    try {
      const response = await request(new URL('/config', this.options.proxyAdminUrl), { headersTimeout: 2000, bodyTimeout: 2000 });
      const body = (await response.body.json()) as { version?: string };
      if (body.version !== this.lastApplied) {
        this.options.log.warn('the proxy does not serve the last configuration (restarted?); programming it again', { serving: body.version ?? null });
        this.lastApplied = undefined;
        this.schedule(0);
      }
    } catch {
      // unreachable for now: the next check, or the next pass, will tell
    }
  }

  private translateOptions(): TranslateOptions {
    return {
      gateway: { controllerName, supportedFeatures, gatewayAddress: (gateway) => this.pool.assign(gateway) },
      ingress: { className: ingressClassName, controller: 'portcullis.dev/ingress-controller', address: this.pool.ingressAddress(), httpPort: 80, httpsPort: 443, defaultCertificate: this.defaultCertificate },
    };
  }

  private async pass(): Promise<void> {
    this.running = true;
    this.again = false;
    const { log } = this.options;
    try {
      const snapshot = this.caches.snapshot();
      this.pool.retain(snapshot.gateways);
      const translation = translate(snapshot, this.translateOptions());
      const version = configVersion(translation.listeners);
      if (version !== this.lastApplied) {
        const result = await programProxy(this.options.proxyAdminUrl, { version, listeners: translation.listeners });
        if (result.kind === 'applied') {
          this.lastApplied = version;
          this.programming = { applied: true };
          log.info('proxy programmed', { version, listeners: translation.listeners.length });
        } else {
          this.programming = { applied: false, message: result.kind === 'rejected' ? `the proxy rejected configuration ${version}: ${result.message}` : `the proxy is not reachable: ${result.message}` };
          log.warn('programming the proxy failed', { version, result: result.kind, message: result.message });
          setTimeout(() => this.schedule(0), 1000);
        }
      }
      for (const warning of translation.warnings) log.warn('translation warning', { ...warning });
      const uids = new Map(snapshot.ingresses.map((i) => [`Ingress/${i.metadata?.namespace}/${i.metadata?.name}`, i.metadata?.uid]));
      await this.events.warn(translation.warnings, (object) => uids.get(object));
      await this.writer.write(snapshot, translation.statuses, this.caches.servedVersions(), this.programming, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    } catch (err) {
      // One broken object must not stop the others: the proxy keeps its last good configuration.
      log.error('reconcile failed; the proxy keeps its last good configuration', { err: errorMessage(err) });
      setTimeout(() => this.schedule(0), 2000);
    } finally {
      this.running = false;
      if (this.again) this.schedule();
    }
  }
}
