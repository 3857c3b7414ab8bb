// The controller's command line: flags → ControllerOptions, with one line naming the fix for each bad flag.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { ControllerOptions } from './controller.js';
import { controllerName, ingressClassName } from './gatewayapi-types.js';
import { parseHostPort } from '../lib/flags.js';

export const usage = `usage: node dist/src/controller/main.js [flags]

  --kubeconfig FILE                 default: in-cluster config, else $KUBECONFIG or ~/.kube/config
  --proxy-admin URL                 the local proxy's admin API (default http://127.0.0.1:19000)
  --address-mode loopback|service   loopback (default): each Gateway its own address from --gateway-cidr;
                                    service: the proxy binds 0.0.0.0, status publishes --publish-service's address
  --gateway-cidr CIDR               loopback mode (default 127.16.0.0/16)
  --publish-service NS/NAME         service mode: the proxy's Service (LoadBalancer ingress, else ClusterIP)
  --leader-elect / --no-leader-elect
                                    only the Lease holder writes status (default: on in a cluster, off otherwise)
  --lease-namespace NS              default: $POD_NAMESPACE, else portcullis-system
  --lease-name NAME                 default portcullis-controller
  --lease-duration S / --renew-deadline S / --retry-period S   (defaults 15, 10, 2)
  --identity ID                     this replica in the Lease (default: $POD_NAME, else host_pid)
  --gateway-controller-name NAME    GatewayClass controllerName served (default ${controllerName})
  --ingress-class NAME              IngressClass served (default ${ingressClassName})
  --ingress-controller-name NAME    IngressClass spec.controller served (default portcullis.dev/ingress-controller)
  --ingress-http-port P / --ingress-https-port P   where Ingresses are served (defaults 80, 443)
  --metrics-address HOST:PORT|off   /healthz, /readyz and /metrics (default 127.0.0.1:19001; port 0 picks one)
`;

export class FlagError extends Error {}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new FlagError(`--${flag} must be a port number 1–65535, got "${value}"`);
  return n;
}

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new FlagError(`--${flag} must be a whole number of seconds ≥ 1, got "${value}"`);
  return n;
}

/** Where the controller serves /healthz, /readyz and /metrics; undefined: nowhere. */
export interface MetricsAddress {
  host: string;
  port: number;
}

function metricsAddress(value: string): MetricsAddress | undefined {
  if (value === 'off') return undefined;
  const address = parseHostPort(value);
  if (!address) throw new FlagError(`--metrics-address must be HOST:PORT (port 0 picks one) or off, got "${value}"`);
  return address;
}

export function parseControllerFlags(argv: string[], env: NodeJS.ProcessEnv): { options: Omit<ControllerOptions, 'kc' | 'log'>; kubeconfig?: string; metricsAddress?: MetricsAddress } | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'proxy-admin': { type: 'string', default: 'http://127.0.0.1:19000' },
      'address-mode': { type: 'string', default: 'loopback' },
      'gateway-cidr': { type: 'string', default: '127.16.0.0/16' },
      'publish-service': { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'no-leader-elect': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string', default: 'portcullis-controller' },
      'lease-duration': { type: 'string', default: '15' },
      'renew-deadline': { type: 'string', default: '10' },
      'retry-period': { type: 'string', default: '2' },
      identity: { type: 'string' },
      'gateway-controller-name': { type: 'string', default: controllerName },
      'ingress-class': { type: 'string', default: ingressClassName },
      'ingress-controller-name': { type: 'string', default: 'portcullis.dev/ingress-controller' },
      'ingress-http-port': { type: 'string', default: '80' },
      'ingress-https-port': { type: 'string', default: '443' },
      'metrics-address': { type: 'string', default: '127.0.0.1:19001' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const inCluster = !values.kubeconfig && Boolean(env.KUBERNETES_SERVICE_HOST);
  let addressMode: ControllerOptions['addressMode'];
  if (values['address-mode'] === 'loopback') {
    if (values['publish-service']) throw new FlagError('--publish-service is for --address-mode service: drop it, or add --address-mode service');
    addressMode = { kind: 'loopback', cidr: values['gateway-cidr']! };
  } else if (values['address-mode'] === 'service') {
    const [namespace, name, extra] = (values['publish-service'] ?? '').split('/');
    if (!namespace || !name || extra !== undefined) throw new FlagError('--address-mode service needs --publish-service NAMESPACE/NAME: the proxy\'s Service whose address Gateways and Ingresses publish');
    addressMode = { kind: 'service', namespace, name };
  } else {
    throw new FlagError(`--address-mode must be loopback or service, got "${values['address-mode']}"`);
  }
  if (values['leader-elect'] && values['no-leader-elect']) throw new FlagError('--leader-elect and --no-leader-elect contradict each other: give one');
  const leaderElect = values['leader-elect'] ?? (values['no-leader-elect'] ? false : inCluster);
  const leaseDurationSeconds = seconds('lease-duration', values['lease-duration']!);
  const renewDeadlineSeconds = seconds('renew-deadline', values['renew-deadline']!);
  const retryPeriodSeconds = seconds('retry-period', values['retry-period']!);
  if (!(retryPeriodSeconds < renewDeadlineSeconds && renewDeadlineSeconds < leaseDurationSeconds)) {
    throw new FlagError(`leader election needs --retry-period < --renew-deadline < --lease-duration, got ${retryPeriodSeconds} < ${renewDeadlineSeconds} < ${leaseDurationSeconds}`);
  }
  const metrics = metricsAddress(values['metrics-address']!);
  return {
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(metrics ? { metricsAddress: metrics } : {}),
    options: {
      proxyAdminUrl: values['proxy-admin']!,
      addressMode,
      classes: {
        gatewayControllerName: values['gateway-controller-name']!,
        ingressClassName: values['ingress-class']!,
        ingressControllerName: values['ingress-controller-name']!,
      },
      ingressPorts: { http: port('ingress-http-port', values['ingress-http-port']!), https: port('ingress-https-port', values['ingress-https-port']!) },
      ...(leaderElect
        ? {
            leaderElection: {
              namespace: values['lease-namespace'] ?? env.POD_NAMESPACE ?? 'portcullis-system',
              name: values['lease-name']!,
              identity: values.identity ?? env.POD_NAME ?? `${hostname()}_${process.pid}`,
              leaseDurationSeconds,
              renewDeadlineSeconds,
              retryPeriodSeconds,
            },
          }
        : {}),
    },
  };
}
