// Every wait of the harness is a named field of one TimeoutConfig, with the upstream
// conformance suite's defaults where the meaning is the same, and one convergence
// rule: N consecutive successes within the time limit, reset by any failure.
import { PortcullisError } from '../lib/errors.js';

export interface TimeoutConfig {
  /** Upstream MaxTimeToConsistency: how long a change may take to be served. */
  maxTimeToConsistencyMs: number;
  /** Upstream RequiredConsecutiveSuccesses. */
  requiredConsecutiveSuccesses: number;
  gatewayMustHaveAddressMs: number;
  gatewayStatusMustHaveListenersMs: number;
  routeMustHaveParentsMs: number;
  namespacesMustBeReadyMs: number;
  requestTimeoutMs: number;
  pollIntervalMs: number;
}

export const defaultTimeouts: TimeoutConfig = {
  maxTimeToConsistencyMs: 30_000,
  requiredConsecutiveSuccesses: 3,
  gatewayMustHaveAddressMs: 180_000,
  gatewayStatusMustHaveListenersMs: 60_000,
  routeMustHaveParentsMs: 60_000,
  namespacesMustBeReadyMs: 300_000,
  requestTimeoutMs: 10_000,
  pollIntervalMs: 250,
};

/** `--timeout-config-overrides MaxTimeToConsistency=60s,RequiredConsecutiveSuccesses=5` (upstream's names). */
export function parseTimeoutOverrides(text: string | undefined, base: TimeoutConfig = defaultTimeouts): TimeoutConfig {
  const config = { ...base };
  if (!text) return config;
  const fields: Record<string, keyof TimeoutConfig> = {
    MaxTimeToConsistency: 'maxTimeToConsistencyMs',
    RequiredConsecutiveSuccesses: 'requiredConsecutiveSuccesses',
    GatewayMustHaveAddress: 'gatewayMustHaveAddressMs',
    GatewayStatusMustHaveListeners: 'gatewayStatusMustHaveListenersMs',
    RouteMustHaveParents: 'routeMustHaveParentsMs',
    NamespacesMustBeReady: 'namespacesMustBeReadyMs',
    RequestTimeout: 'requestTimeoutMs',
  };
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, value] = pair.split('=');
    const field = fields[name ?? ''];
    if (!field || value === undefined) {
      throw new PortcullisError('BAD_TIMEOUT_OVERRIDE', `--timeout-config-overrides: "${pair}" is not NAME=VALUE with NAME one of ${Object.keys(fields).join(', ')}`);
    }
    const parsed = field === 'requiredConsecutiveSuccesses' ? Number(value) : parseDuration(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new PortcullisError('BAD_TIMEOUT_OVERRIDE', `--timeout-config-overrides: "${pair}" has no valid value (use e.g. 30s, 500ms, 2m, or a count)`);
    config[field] = parsed;
  }
  return config;
}

function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (!match) return NaN;
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

/**
 * Runs `attempt` until it succeeds `required` times in a row within `limitMs`. Each
 * failure resets the count. On timeout the error carries the last failure, which
 * should say what was expected, what was seen, and the state around it.
 */
export async function awaitConvergence(what: string, timeouts: TimeoutConfig, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + timeouts.maxTimeToConsistencyMs;
  let successes = 0;
  let lastFailure: unknown;
  for (;;) {
    try {
      await attempt();
      successes++;
      if (successes >= timeouts.requiredConsecutiveSuccesses) return;
    } catch (err) {
      successes = 0;
      lastFailure = err;
    }
    if (Date.now() > deadline) {
      const detail = lastFailure instanceof Error ? lastFailure.message : String(lastFailure ?? 'no attempt failed, but too few succeeded in time');
      throw new Error(`${what}: not ${timeouts.requiredConsecutiveSuccesses} consecutive successes within ${timeouts.maxTimeToConsistencyMs / 1000}s; last failure:\n${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, timeouts.pollIntervalMs));
  }
}
