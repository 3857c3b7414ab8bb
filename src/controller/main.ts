// Entry point of the controller: `node dist/src/controller/main.js --kubeconfig FILE --proxy-admin URL --gateway-cidr CIDR`.
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { Controller } from './controller.js';

const log = createLogger('controller');
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'proxy-admin': { type: 'string', default: 'http://127.0.0.1:19000' },
    'gateway-cidr': { type: 'string', default: '127.16.0.0/16' },
  },
});
const kc = new KubeConfig();
if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
else kc.loadFromDefault();
const controller = new Controller({ kc, log, proxyAdminUrl: values['proxy-admin']!, gatewayCidr: values['gateway-cidr']! });
const shutdown = async () => {
  await controller.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
try {
  await controller.start();
  log.info('controller started', { proxyAdmin: values['proxy-admin'], gatewayCidr: values['gateway-cidr'] });
} catch (err) {
  log.error('controller could not start', { err: errorMessage(err) });
  process.exit(1);
}
