import { expect } from 'chai';
import { errorOf } from './portcullis-error.js';
import type { CommandResult } from '../../src/lib/process.js';
import {
  allowLoadBalancersOnControlPlaneCommand,
  buildImageCommand,
  cloudProviderKindCommand,
  createClusterCommand,
  deleteClusterCommand,
  exportLogsCommand,
  formatCommand,
  loadImagesCommands,
} from '../../src/cluster/kind/commands.js';
import { renderKindConfig } from '../../src/cluster/kind/config.js';
import { probeKindEnvironment, requireKindEnvironment, type CommandRunner } from '../../src/cluster/kind/detect.js';
import { defaultKindNodeImage, kindNodeImages, nodeImageFor, pinnedKindVersion } from '../../src/cluster/kind/node-images.js';

const image135 = 'kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0';

describe('kind provider: node images', () => {
  it('pins every image by digest, newest first, for the pinned kind release', () => {
    expect(pinnedKindVersion).to.equal('v0.33.0');
    expect(kindNodeImages.map((entry) => entry.kubernetesVersion)).to.deep.equal(['v1.37.0', 'v1.36.4', 'v1.35.8', 'v1.34.11']);
    for (const entry of kindNodeImages) expect(entry.image).to.match(new RegExp(`^kindest/node:${entry.kubernetesVersion.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    expect(defaultKindNodeImage.kubernetesVersion).to.equal('v1.37.0');
  });

  const rows: Array<[string, string]> = [
    ['a minor picks the patch release kind built', '1.35'],
    ['a leading v is accepted', 'v1.35'],
    ['a full version must match exactly', 'v1.35.8'],
    ['a full version without v', '1.35.8'],
  ];
  for (const [rule, input] of rows) {
    it(`finds the image: ${rule} (${input})`, () => {
      expect(nodeImageFor(input)).to.deep.equal({ kubernetesVersion: 'v1.35.8', image: image135 });
    });
  }

  it('says which versions exist when kind built none for the one asked', () => {
    const error = errorOf(() => nodeImageFor('1.33'));
    expect(error.code).to.equal('NO_KIND_NODE_IMAGE');
    expect(error.message).to.equal(
      'kind v0.33.0 has no node image for Kubernetes 1.33: use --k8s-version with one of v1.37.0, v1.36.4, v1.35.8, v1.34.11',
    );
    expect(errorOf(() => nodeImageFor('v1.35.7')).code).to.equal('NO_KIND_NODE_IMAGE');
    expect(errorOf(() => nodeImageFor('latest')).code).to.equal('BAD_K8S_VERSION');
  });
});

describe('kind provider: cluster config', () => {
  it('renders a single control-plane node with the image and loopback port mappings', () => {
    const yaml = renderKindConfig({
      name: 'portcullis',
      nodeImage: image135,
      portMappings: [
        { containerPort: 30443, hostPort: 8443 },
        { containerPort: 30899, hostPort: 8899, listenAddress: '0.0.0.0' },
      ],
    });
    expect(yaml).to.equal(
      [
        'kind: Cluster',
        'apiVersion: kind.x-k8s.io/v1alpha4',
        'name: portcullis',
        'networking:',
        '  apiServerAddress: 127.0.0.1',
        'nodes:',
        '  - role: control-plane',
        `    image: ${image135}`,
        '    extraPortMappings:',
        '      - containerPort: 30443',
        '        hostPort: 8443',
        '        listenAddress: 127.0.0.1',
        '        protocol: TCP',
        '      - containerPort: 30899',
        '        hostPort: 8899',
        '        listenAddress: 0.0.0.0',
        '        protocol: TCP',
        '',
      ].join('\n'),
    );
  });

  it('adds workers with the same image and no mappings when none are asked', () => {
    expect(renderKindConfig({ name: 'c1', nodeImage: 'img', workers: 2 })).to.equal(
      [
        'kind: Cluster',
        'apiVersion: kind.x-k8s.io/v1alpha4',
        'name: c1',
        'networking:',
        '  apiServerAddress: 127.0.0.1',
        'nodes:',
        '  - role: control-plane',
        '    image: img',
        '  - role: worker',
        '    image: img',
        '  - role: worker',
        '    image: img',
        '',
      ].join('\n'),
    );
  });

  it('rejects a bad cluster name, a port out of range and a host port mapped twice', () => {
    expect(errorOf(() => renderKindConfig({ name: 'Portcullis_1', nodeImage: 'img' })).code).to.equal('BAD_CLUSTER_NAME');
    expect(errorOf(() => renderKindConfig({ name: 'c', nodeImage: 'img', portMappings: [{ containerPort: 0, hostPort: 80 }] })).code).to.equal('BAD_PORT');
    const twice = errorOf(() => renderKindConfig({ name: 'c', nodeImage: 'img', portMappings: [{ containerPort: 1, hostPort: 80 }, { containerPort: 2, hostPort: 80 }] }));
    expect(twice.message).to.equal('host port 127.0.0.1:80/TCP is mapped twice: give each mapping its own hostPort');
  });
});

describe('kind provider: command lines', () => {
  it('creates, loads into, exports logs of and deletes a cluster', () => {
    expect(formatCommand(createClusterCommand({ name: 'portcullis', configPath: '.portcullis/portcullis/kind.yaml', kubeconfigPath: '.portcullis/portcullis/kubeconfig' }))).to.equal(
      'kind create cluster --name portcullis --config .portcullis/portcullis/kind.yaml --wait 5m --kubeconfig .portcullis/portcullis/kubeconfig',
    );
    expect(loadImagesCommands('portcullis', ['portcullis:dev', 'portcullis/echo:dev']).map(formatCommand)).to.deep.equal([
      'kind load docker-image --name portcullis portcullis:dev portcullis/echo:dev',
    ]);
    expect(formatCommand(exportLogsCommand('portcullis', 'reports/kind-logs'))).to.equal('kind export logs reports/kind-logs --name portcullis');
    expect(formatCommand(deleteClusterCommand('portcullis', '/tmp/kc'))).to.equal('kind delete cluster --name portcullis --kubeconfig /tmp/kc');
    expect(formatCommand(buildImageCommand())).to.equal('docker build -t portcullis:dev -f Dockerfile .');
    expect(formatCommand(buildImageCommand({ target: 'echo', tag: 'portcullis/echo:dev' }))).to.equal('docker build --target echo -t portcullis/echo:dev -f Dockerfile .');
  });

  it('with Podman, tells kind so and loads images through an archive', () => {
    const create = createClusterCommand({ name: 'c', configPath: 'k.yaml', kubeconfigPath: 'kc', wait: '120s', engine: 'podman' });
    expect(create).to.deep.equal({
      command: 'kind',
      args: ['create', 'cluster', '--name', 'c', '--config', 'k.yaml', '--wait', '120s', '--kubeconfig', 'kc'],
      env: { KIND_EXPERIMENTAL_PROVIDER: 'podman' },
    });
    expect(loadImagesCommands('c', ['portcullis:dev'], 'podman', '/tmp/images.tar').map(formatCommand)).to.deep.equal([
      'podman save -o /tmp/images.tar portcullis:dev',
      'KIND_EXPERIMENTAL_PROVIDER=podman kind load image-archive --name c /tmp/images.tar',
    ]);
    expect(formatCommand(buildImageCommand({ engine: 'podman', tag: 'portcullis/echo:dev', dockerfile: 'src/echo/Dockerfile' }))).to.equal(
      'podman build -t portcullis/echo:dev -f src/echo/Dockerfile .',
    );
  });

  it('runs cloud-provider-kind with its own Gateway and Ingress controllers off', () => {
    expect(formatCommand(cloudProviderKindCommand())).to.equal('cloud-provider-kind --gateway-channel disabled --enable-default-ingress=false');
    expect(formatCommand(allowLoadBalancersOnControlPlaneCommand('portcullis', 'kc'))).to.equal(
      'kubectl --kubeconfig kc label node portcullis-control-plane node.kubernetes.io/exclude-from-external-load-balancers-',
    );
  });

  it('quotes words a shell would split', () => {
    expect(formatCommand({ command: 'kind', args: ['export', 'logs', "/tmp/it's here"], env: { A: 'b c' } })).to.equal("A='b c' kind export logs '/tmp/it'\\''s here'");
  });
});

describe('kind provider: detection', () => {
  const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
  const failed = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr });
  const missing = () => Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });

  /** A fake machine: each `command args` maps to a result, or to "not installed". */
  function machine(answers: Record<string, CommandResult | 'missing'>): CommandRunner & { calls: string[] } {
    const calls: string[] = [];
    const run = async (command: string, args: string[]) => {
      const key = [command, ...args].join(' ');
      calls.push(key);
      const answer = answers[key] ?? 'missing';
      if (answer === 'missing') throw missing();
      return answer;
    };
    return Object.assign(run, { calls });
  }

  it('finds Docker and kind', async () => {
    const run = machine({ 'docker info': ok(), 'kind version': ok('kind v0.33.0 go1.25.4 linux/amd64\n') });
    expect(await requireKindEnvironment(run)).to.deep.equal({ engine: 'docker', kindVersion: 'v0.33.0' });
    expect(run.calls).to.deep.equal(['docker info', 'kind version']);
  });

  it('falls back to Podman when Docker is not installed', async () => {
    const run = machine({ 'podman info': ok(), 'kind version': ok('kind v0.32.0 go1.24.6 linux/arm64') });
    expect(await requireKindEnvironment(run)).to.deep.equal({ engine: 'podman', kindVersion: 'v0.32.0' });
  });

  const failures: Array<[string, Record<string, CommandResult | 'missing'>, string, string]> = [
    ['no engine at all', {}, 'NO_CONTAINER_ENGINE', 'the kind provider needs Docker or Podman and neither is on PATH: install one, or use --provider local'],
    [
      'Docker installed but its daemon down',
      { 'docker info': failed('\nCannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\nmore') },
      'CONTAINER_ENGINE_NOT_RUNNING',
      "`docker info` failed (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?): start the engine's daemon or give your user access to it, or use --provider local",
    ],
    [
      'no kind binary',
      { 'docker info': ok() },
      'NO_KIND',
      'the kind binary is not on PATH: install kind v0.33.0 (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), or use --provider local',
    ],
    [
      'kind printing something else',
      { 'docker info': ok(), 'kind version': ok('hello') },
      'KIND_BROKEN',
      '`kind version` printed "hello", not a kind version: install kind v0.33.0 (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), or use --provider local',
    ],
  ];
  for (const [situation, answers, code, message] of failures) {
    it(`says what to do with ${situation}`, async () => {
      const probe = await probeKindEnvironment(machine(answers));
      expect(probe.available).to.equal(false);
      if (probe.available) return;
      expect(probe.error.code).to.equal(code);
      expect(probe.error.message).to.equal(message);
      expect(probe.error.message).not.to.contain('\n');
    });
  }

  it('rethrows a failure that is not "not installed"', async () => {
    const run: CommandRunner = async () => {
      throw Object.assign(new Error('spawn EACCES'), { code: 'EACCES' });
    };
    let caught: unknown;
    await requireKindEnvironment(run).catch((err) => (caught = err));
    expect((caught as NodeJS.ErrnoException).code).to.equal('EACCES');
  });
});
