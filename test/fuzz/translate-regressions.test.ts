// Inputs the translator fuzz found, that a golden case cannot express (golden Gateways
// each get their own address): kept here and translated on every run.
import { expect } from 'chai';
import { translate } from '../../src/controller/translate/index.js';
import { validateConfig } from '../../src/ir/validate.js';
import { loadGoldenInput } from '../controller/golden-support.js';

const sharedAddressGateways = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portcullis}
spec: {controllerName: portcullis.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: secure}
spec:
  gatewayClassName: portcullis
  listeners:
    - {name: https, port: 80, protocol: HTTPS, hostname: good.example.com, tls: {certificateRefs: [{name: good}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: portcullis
  listeners:
    - {name: http, port: 80, protocol: HTTP}
---
apiVersion: v1
kind: Secret
metadata:
  name: good
  annotations: {portcullis.test/certificate: "rsa good.example.com"}
`;

describe('translate: inputs the fuzz found', function () {
  it('two Gateways on one address (Service address mode) with HTTPS and HTTP on one port: the later one is not programmed, the IR stays valid', async function () {
    // Found by the translator fuzz (seed 8, input 700): both blocks went onto one socket,
    // the proxy's validator refused the IR, and with it every other Gateway's changes.
    const input = await loadGoldenInput(sharedAddressGateways);
    input.options.gateway.gatewayAddress = () => ({ address: '10.96.0.10' });
    const translation = translate(input.snapshot, input.options);
    const validation = validateConfig({ version: 'fuzz', listeners: translation.listeners });
    expect(validation.ok, JSON.stringify(validation.ok ? [] : validation.problems.map((p) => p.message))).to.equal(true);
    expect(translation.listeners.map((l) => `${l.name} ${l.protocol}`)).to.deep.equal(['10.96.0.10:80 HTTPS']);
    const web = Object.entries(translation.statuses.gateways).find(([key]) => key.endsWith('/web'))?.[1];
    expect(JSON.stringify(web), 'the HTTP listener says why it is not programmed').to.match(/cannot share the socket with HTTP/);
  });
});
