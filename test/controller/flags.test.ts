// The controller's flags: defaults by where it runs, and one line naming the fix for each mistake.
import { expect } from 'chai';
import { parseControllerFlags } from '../../src/controller/flags.js';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const parsed = parseControllerFlags(args, env);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed.options;
};

describe('controller: flags', function () {
  it('elects a leader by default in a cluster, not on the local provider', function () {
    expect(parse([], { KUBERNETES_SERVICE_HOST: '10.96.0.1', POD_NAME: 'portcullis-0', POD_NAMESPACE: 'portcullis-system' }).leaderElection).to.deep.include({ namespace: 'portcullis-system', identity: 'portcullis-0', name: 'portcullis-controller' });
    expect(parse(['--kubeconfig=/tmp/k'], { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).leaderElection, 'an explicit kubeconfig is not in-cluster').to.equal(undefined);
    expect(parse([]).leaderElection).to.equal(undefined);
    expect(parse(['--leader-elect']).leaderElection).to.not.equal(undefined);
    expect(parse(['--no-leader-elect'], { KUBERNETES_SERVICE_HOST: '10.96.0.1' }).leaderElection).to.equal(undefined);
  });

  it('takes the address mode and the Service to publish', function () {
    expect(parse([]).addressMode).to.deep.equal({ kind: 'loopback', cidr: '127.16.0.0/16' });
    expect(parse(['--address-mode=service', '--publish-service=portcullis-system/portcullis-proxy']).addressMode).to.deep.equal({ kind: 'service', namespace: 'portcullis-system', name: 'portcullis-proxy' });
  });

  it('serves /healthz, /readyz and /metrics on loopback port 19001 unless told another address, or off', function () {
    const addressOf = (args: string[]) => {
      const parsed = parseControllerFlags(args, {});
      if (parsed === 'help') throw new Error('unexpected help');
      return parsed.metricsAddress;
    };
    expect(addressOf([])).to.deep.equal({ host: '127.0.0.1', port: 19001 });
    expect(addressOf(['--metrics-address=0.0.0.0:9090'])).to.deep.equal({ host: '0.0.0.0', port: 9090 });
    expect(addressOf(['--metrics-address=[::1]:0'])).to.deep.equal({ host: '::1', port: 0 });
    expect(addressOf(['--metrics-address=off'])).to.equal(undefined);
  });

  const mistakes: [string, string[], RegExp][] = [
    ['service mode without a Service', ['--address-mode=service'], /needs --publish-service NAMESPACE\/NAME/],
    ['a Service without a namespace', ['--address-mode=service', '--publish-service=proxy'], /needs --publish-service NAMESPACE\/NAME/],
    ['a Service in loopback mode', ['--publish-service=a/b'], /is for --address-mode service/],
    ['an unknown mode', ['--address-mode=nodeport'], /must be loopback or service, got "nodeport"/],
    ['both election flags', ['--leader-elect', '--no-leader-elect'], /contradict/],
    ['a renew deadline longer than the lease', ['--lease-duration=5', '--renew-deadline=10'], /--retry-period < --renew-deadline < --lease-duration/],
    ['a lease of no time', ['--lease-duration=0'], /--lease-duration must be a whole number of seconds/],
    ['a port out of range', ['--ingress-http-port=70000'], /--ingress-http-port must be a port number/],
    ['a metrics address without a port', ['--metrics-address=127.0.0.1'], /--metrics-address must be HOST:PORT \(port 0 picks one\) or off, got "127.0.0.1"/],
    ['a metrics address without a host', ['--metrics-address=:9090'], /--metrics-address must be HOST:PORT/],
    ['a metrics port out of range', ['--metrics-address=127.0.0.1:65536'], /--metrics-address must be HOST:PORT/],
  ];
  for (const [what, args, message] of mistakes) {
    it(`refuses ${what}, naming the fix`, function () {
      expect(() => parseControllerFlags(args, {})).to.throw(message);
    });
  }
});
