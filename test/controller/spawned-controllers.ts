// Our own controller and proxy processes beside the shared cluster's, for tests of what
// only several processes show (leader election, the service address mode). They serve a
// GatewayClass controllerName and IngressClass of their own, so the cluster's controller
// and these never report on the same objects.
import { spawn, type ChildProcess } from 'node:child_process';
import { distEntry } from '../../src/lib/paths.js';
import { waitForLogLine, type LogLine } from '../support/log-lines.js';

export interface Spawned {
  child: ChildProcess;
  logs: LogLine[];
}

const startTimeoutMs = 60_000;

export async function startProxy(): Promise<Spawned & { adminUrl: string }> {
  const child = spawn(process.execPath, [distEntry('src/proxy/main.js'), '--admin', '127.0.0.1:0', '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: LogLine[] = [];
  const ready = await waitForLogLine(child, logs, (l) => l.msg === 'proxy admin API listening', 'proxy', startTimeoutMs);
  return { child, logs, adminUrl: `http://127.0.0.1:${ready.adminPort as number}` };
}

/**
 * `args` beyond the kubeconfig and the proxy; logs at debug level, so status writes show.
 * Its /healthz, /readyz and /metrics are on a port of its own (metricsUrl). Resolves once
 * the controller has started, or with `untilStarted: false` once that endpoint listens.
 */
export async function startController(kubeconfig: string, adminUrl: string, args: string[], options: { untilStarted?: boolean } = {}): Promise<Spawned & { metricsUrl: string }> {
  const child = spawn(process.execPath, [distEntry('src/controller/main.js'), `--kubeconfig=${kubeconfig}`, `--proxy-admin=${adminUrl}`, '--metrics-address=127.0.0.1:0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'debug' },
  });
  const logs: LogLine[] = [];
  const listening = (l: LogLine) => l.msg === 'health and metrics endpoint listening';
  await waitForLogLine(child, logs, options.untilStarted === false ? listening : (l) => l.msg === 'controller started', 'controller', startTimeoutMs);
  return { child, logs, metricsUrl: `http://127.0.0.1:${logs.find(listening)!.port as number}` };
}

export function stop(process: Spawned | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = process?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** The classes a spawned controller serves: `--gateway-controller-name …` etc. */
export function ownClasses(name: string): { controllerName: string; args: string[] } {
  const controllerName = `portcullis.dev/${name}`;
  return {
    controllerName,
    args: [`--gateway-controller-name=${controllerName}`, `--ingress-class=${name}`, `--ingress-controller-name=portcullis.dev/${name}-ingress`],
  };
}
