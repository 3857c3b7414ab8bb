import { expect } from 'chai';
import { PortcullisError } from '../../src/lib/errors.js';
import { formatCommand } from '../../src/cluster/kind/commands.js';
import { defaultK3sImage, importImagesExec, k3sContainerOptions, saveImagesCommand } from '../../src/cluster/k3s/options.js';

describe('k3s provider: testcontainers options', () => {
  it('starts the K3s server without Traefik and exposes the scenario listener ports', () => {
    expect(k3sContainerOptions({ clusterName: 'portcullis' })).to.deep.equal({
      image: 'rancher/k3s:v1.37.1-k3s1',
      command: ['server', '--disable=traefik'],
      exposedPorts: [80, 443, 8899],
      labels: { 'dev.portcullis.cluster': 'portcullis', 'dev.portcullis.provider': 'k3s' },
      startupTimeoutMs: 180_000,
    });
    expect(defaultK3sImage).to.equal('rancher/k3s:v1.37.1-k3s1');
  });

  it('keeps `server` first when extra flags are given, and de-duplicates ports', () => {
    const options = k3sContainerOptions({ clusterName: 'c', image: 'docker.io/rancher/k3s:v1.35.4-k3s1', listenerPorts: [443, 443, 9443], serverArgs: ['--disable=metrics-server'] });
    expect(options.image).to.equal('docker.io/rancher/k3s:v1.35.4-k3s1');
    expect(options.command).to.deep.equal(['server', '--disable=traefik', '--disable=metrics-server']);
    expect(options.exposedPorts).to.deep.equal([443, 9443]);
  });

  it('rejects an image that is not a rancher/k3s release and a port out of range', () => {
    expect(() => k3sContainerOptions({ clusterName: 'c', image: 'rancher/k3s:latest' })).to.throw(PortcullisError, 'is not a rancher/k3s release tag');
    expect(() => k3sContainerOptions({ clusterName: 'c', listenerPorts: [70000] })).to.throw(PortcullisError, 'listener port 70000 is outside 1–65535');
  });

  it('moves local images into K3s through an archive and containerd', () => {
    expect(formatCommand(saveImagesCommand(['portcullis:dev', 'portcullis/echo:dev'], '/tmp/images.tar'))).to.equal('docker save -o /tmp/images.tar portcullis:dev portcullis/echo:dev');
    expect(importImagesExec('/tmp/images.tar')).to.deep.equal(['ctr', '--namespace', 'k8s.io', 'images', 'import', '/tmp/images.tar']);
  });
});
