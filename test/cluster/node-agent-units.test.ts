// The node agent's pure parts: image names, address plan, $(VAR) expansion, the
// kubelet-style atomic volume writer.
import { expect } from 'chai';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeVolume } from '../../src/cluster/local/node-agent/atomic-writer.js';
import { imageRepository, resolveImage } from '../../src/cluster/local/node-agent/images.js';
import { AddressPool } from '../../src/cluster/local/node-agent/network.js';
import { expandReferences } from '../../src/cluster/local/node-agent/pod-sandbox.js';
import { networkPlan, type LocalClusterConfig } from '../../src/cluster/local/state.js';

describe('node agent: image names', function () {
  const rows: [string, string][] = [
    ['portcullis/echo', 'portcullis/echo'],
    ['portcullis/echo:1.2', 'portcullis/echo'],
    ['docker.io/portcullis/echo:latest', 'portcullis/echo'],
    ['portcullis/echo@sha256:0123', 'portcullis/echo'],
    ['registry.example.com:5000/team/app:v1', 'registry.example.com:5000/team/app'],
    ['docker.io/library/nginx:1.25', 'nginx'],
  ];
  for (const [image, repository] of rows) {
    it(`${image} names ${repository}`, function () {
      expect(imageRepository(image)).to.equal(repository);
    });
  }

  it('resolves a known image to a program with the container args, and an unknown one to nothing', function () {
    const program = resolveImage({ name: 'c', image: 'portcullis/echo:dev', args: ['--format', 'json'] });
    expect(program?.args.slice(-2)).to.deep.equal(['--format', 'json']);
    expect(resolveImage({ name: 'c', image: 'example.com/unknown' })).to.equal(undefined);
  });

  it("runs the official conformance suite's images: echo-basic as our echo in its upstream profile, CoreDNS as our stand-in", function () {
    const echoBasic = resolveImage({ name: 'c', image: 'registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2' });
    expect(echoBasic?.args.some((a) => a.endsWith('src/echo/main.js'))).to.equal(true);
    expect(echoBasic?.args.slice(-2)).to.deep.equal(['--profile', 'echo-basic']);
    const coredns = resolveImage({ name: 'c', image: 'registry.k8s.io/coredns/coredns:v1.12.2', args: ['-conf', '/root/Corefile'] });
    expect(coredns?.args.some((a) => a.endsWith('src/dns/main.js'))).to.equal(true);
    expect(coredns?.args.slice(-2)).to.deep.equal(['-conf', '/root/Corefile']);
  });
});

describe('node agent: pod addresses', function () {
  const config = { ...networkPlan(1), name: 'x' } as LocalClusterConfig;

  it('hands out addresses from the cluster slot, skipping the bridge address', function () {
    const pool = new AddressPool(config);
    expect(config.podCIDR).to.equal('10.244.16.0/20');
    expect(pool.allocate()).to.equal('10.244.16.2');
    expect(pool.allocate()).to.equal('10.244.16.3');
  });

  it('gives a Pod back its previous address when free; a released address is reused only after going round', function () {
    const pool = new AddressPool(config);
    expect(pool.allocate('10.244.16.40')).to.equal('10.244.16.40');
    expect(pool.allocate('10.244.16.40')).to.equal('10.244.16.2');
    expect(pool.allocate('192.168.1.1'), 'outside the range').to.equal('10.244.16.3');
    pool.release('10.244.16.2');
    expect(pool.allocate(), 'not the address just released').to.equal('10.244.16.4');
    const small = new AddressPool({ ...networkPlan(1), podCIDR: '10.244.16.0/29', name: 'x' } as LocalClusterConfig);
    expect([1, 2, 3, 4, 5].map(() => small.allocate())).to.deep.equal(['10.244.16.2', '10.244.16.3', '10.244.16.4', '10.244.16.5', '10.244.16.6']);
    small.release('10.244.16.3');
    expect(small.allocate(), 'wraps round to the freed one').to.equal('10.244.16.3');
    expect(() => small.allocate()).to.throw(/no Pod address left/);
    expect(pool.contains('10.244.31.254')).to.equal(true);
    expect(pool.contains('10.244.31.255'), 'broadcast').to.equal(false);
  });
});

describe('node agent: $(VAR) expansion', function () {
  const env = { POD_NAME: 'echo-1', PORT: '1027' };
  const rows: [string, string, string][] = [
    ['a defined variable is replaced', '--name=$(POD_NAME)', '--name=echo-1'],
    ['several references', '$(POD_NAME):$(PORT)', 'echo-1:1027'],
    ['an undefined variable is left as written', '$(MISSING)', '$(MISSING)'],
    ['$$ escapes a reference', '$$(POD_NAME)', '$(POD_NAME)'],
    ['text without references is unchanged', 'plain $ text', 'plain $ text'],
  ];
  for (const [name, input, output] of rows) {
    it(name, function () {
      expect(expandReferences(input, env)).to.equal(output);
    });
  }
});

describe('node agent: atomic volume writer', function () {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'portcullis-volume-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const payload = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, { data: Buffer.from(v), mode: 0o644 }]));

  it('writes each key behind a ..data symlink and swaps all of them at once', function () {
    expect(writeVolume(dir, payload({ 'tls.crt': 'cert-1', 'tls.key': 'key-1' }))).to.equal(true);
    expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).to.equal('cert-1');
    expect(lstatSync(join(dir, 'tls.crt')).isSymbolicLink()).to.equal(true);
    const firstTarget = readlinkSync(join(dir, '..data'));

    expect(writeVolume(dir, payload({ 'tls.crt': 'cert-2', 'tls.key': 'key-2' }))).to.equal(true);
    expect(readFileSync(join(dir, 'tls.crt'), 'utf8')).to.equal('cert-2');
    expect(readFileSync(join(dir, 'tls.key'), 'utf8')).to.equal('key-2');
    expect(readlinkSync(join(dir, '..data'))).to.not.equal(firstTarget);
    expect(existsSync(join(dir, firstTarget)), 'the previous version is removed').to.equal(false);
  });

  it('does nothing when the contents are unchanged, and removes keys that went away', function () {
    writeVolume(dir, payload({ a: '1', b: '2' }));
    expect(writeVolume(dir, payload({ a: '1', b: '2' }))).to.equal(false);
    writeVolume(dir, payload({ a: '1' }));
    expect(readdirSync(dir).filter((e) => !e.startsWith('..'))).to.deep.equal(['a']);
  });

  it('writes nested item paths', function () {
    writeVolume(dir, payload({ 'certs/ca.crt': 'ca' }));
    expect(readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8')).to.equal('ca');
  });
});
