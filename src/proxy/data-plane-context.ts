// What every connection handler of one process shares: tunables, metrics, logs and
// the HTTP forwarder. Built once per process (main.ts), passed down explicitly.
import type { Logger } from '../lib/log.js';
import type { HttpForwarder } from './http-forwarder.js';
import type { ProxyMetrics } from './metrics.js';
import type { ProxyOptions } from './proxy-options.js';

export interface DataPlaneContext {
  readonly options: ProxyOptions;
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
  readonly forwarder: HttpForwarder;
}
