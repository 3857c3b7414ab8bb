// The CoreDNS stand-in as the conformance suite's UDPRoute backend uses it: the manifest's
// Corefile, queried by real DNS clients (Node's resolver, dig when installed) and raw sockets.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { commandExists, runCommand } from '../../src/lib/process.js';
import { waitFor } from '../../src/lib/wait.js';
import { conformanceCorefile, decode, killAllDns, query, runDnsToExit, startDns, tcpExchange, udpExchange, type RunningDns } from './helpers.js';

function resolverFor(port: number): Resolver {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return resolver;
}

async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    const value = await promise;
    return `no error, got ${JSON.stringify(value)}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

describe('dns: CoreDNS stand-in with the conformance Corefile', function () {
  let dns: RunningDns;
  before(async () => {
    dns = await startDns(conformanceCorefile);
  });
  after(async () => {
    await dns?.stop();
    await killAllDns();
  });

  it('whoami over UDP: empty answer, the client address and port in the additional section, authoritative, TTL 0', async () => {
    const { reply, localPort } = await udpExchange(dns.port, query('foo.bar.com'));
    const packet = decode(reply);
    expect(packet).to.include({ id: 4242, type: 'response', rcode: 'NOERROR', flag_aa: true, flag_rd: true });
    expect(packet.questions).to.deep.equal([{ name: 'foo.bar.com', type: 'A', class: 'IN' }]);
    expect(packet.answers).to.deep.equal([]);
    expect(packet.additionals).to.deep.equal([
      { name: 'foo.bar.com', type: 'A', ttl: 0, class: 'IN', flush: false, data: '127.0.0.1' },
      { name: '_udp.foo.bar.com', type: 'SRV', ttl: 0, class: 'IN', flush: false, data: { priority: 0, weight: 0, port: localPort, target: '.' } },
    ]);
  });

  it('whoami over TCP: two queries on one connection, SRV _tcp with the connection port; names keep their case', async () => {
    const { replies, localPort } = await tcpExchange(dns.port, [query('Foo.BAR.com'), query('deep.foo.bar.com', 'TXT')], 2);
    const [first, second] = replies.map(decode);
    expect(first!.additionals!.map((record) => `${record.name} ${record.type}`)).to.deep.equal(['Foo.BAR.com A', '_tcp.Foo.BAR.com SRV']);
    expect(first!.additionals![1]).to.deep.include({ data: { priority: 0, weight: 0, port: localPort, target: '.' } });
    // Any type, any name under the zone: whoami answers them all the same way.
    expect(second).to.include({ rcode: 'NOERROR', flag_aa: true });
    expect(second!.additionals!.map((record) => `${record.name} ${record.type}`)).to.deep.equal(['deep.foo.bar.com A', '_tcp.deep.foo.bar.com SRV']);
  });

  it("Node's resolver sees whoami as NOERROR with no answer (ENODATA), and forwarded names as SERVFAIL", async () => {
    const resolver = resolverFor(dns.port);
    expect(await errorCode(resolver.resolve4('foo.bar.com'))).to.equal('ENODATA');
    expect(await errorCode(resolver.resolve4('kubernetes.io'))).to.equal('ESERVFAIL');
  });

  it('forwarded names get SERVFAIL over UDP and TCP, logged in CoreDNS format on stdout; whoami queries are not logged', async () => {
    const overUdp = decode((await udpExchange(dns.port, query('example.org'))).reply);
    expect(overUdp).to.include({ rcode: 'SERVFAIL', flag_aa: false });
    const [overTcp] = (await tcpExchange(dns.port, [query('www.example.org')], 1)).replies.map(decode);
    expect(overTcp).to.include({ rcode: 'SERVFAIL' });
    // The log line and the reply travel on different pipes: wait for the line, do not assume order.
    const logLine = (pattern: RegExp) =>
      waitFor({ what: `a stdout line matching ${pattern}`, timeoutMs: 5000, intervalMs: 50 }, async () => dns.stdout().split('\n').find((line) => pattern.test(line)), () => dns.stdout());
    await logLine(/^\[INFO\] 127\.0\.0\.1:\d+ - 4242 "A IN example\.org\. udp 29 false 512" SERVFAIL qr,rd 29 \d+\.\d{6}s$/);
    await logLine(/^\[INFO\] 127\.0\.0\.1:\d+ - 4242 "A IN www\.example\.org\. tcp 33 false 512" SERVFAIL qr,rd 33 /);
    expect(dns.stdout()).not.to.include('foo.bar.com');
  });

  it('answers FORMERR to an unreadable message, ignores runts and responses, and keeps serving', async () => {
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
    const formerr = decode((await udpExchange(dns.port, garbage)).reply);
    expect(formerr).to.include({ id: 0x1234, rcode: 'FORMERR' });
    expect((await udpExchange(dns.port, Buffer.from([1, 2, 3]), 300)).reply).to.equal(undefined);
    const response = dnsPacket.encode({ type: 'response', id: 7, questions: [{ type: 'A', name: 'foo.bar.com' }] });
    expect((await udpExchange(dns.port, response, 300)).reply).to.equal(undefined);
    const twoQuestions = dnsPacket.encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'foo.bar.com' }, { type: 'A', name: 'x.foo.bar.com' }] });
    expect(decode((await udpExchange(dns.port, twoQuestions)).reply)).to.include({ id: 8, rcode: 'FORMERR' });
    const [overTcp, after] = (await tcpExchange(dns.port, [garbage, query('foo.bar.com')], 2)).replies.map(decode);
    expect(overTcp).to.include({ rcode: 'FORMERR' });
    expect(after).to.include({ rcode: 'NOERROR', flag_aa: true });
    expect(decode((await udpExchange(dns.port, query('foo.bar.com'))).reply)).to.include({ rcode: 'NOERROR' });
  });

  it('echoes EDNS(0) and truncates a UDP reply that does not fit 512 bytes without it', async () => {
    const longName = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.foo.bar.com`;
    const plain = decode((await udpExchange(dns.port, query(longName))).reply);
    expect(plain).to.include({ rcode: 'NOERROR', flag_tc: true });
    expect(plain.additionals).to.deep.equal([]);
    const edns = query(longName, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as never] });
    const withEdns = decode((await udpExchange(dns.port, edns)).reply);
    expect(withEdns).to.include({ rcode: 'NOERROR', flag_tc: false });
    expect(withEdns.additionals!.map((record) => record.type)).to.deep.equal(['A', 'SRV', 'OPT']);
    expect(withEdns.additionals![2]).to.include({ udpPayloadSize: 1232, flag_do: true });
  });

  it('answers dig like CoreDNS (skipped when dig is not installed)', async function () {
    if (!(await commandExists('dig'))) this.skip();
    const result = await runCommand('dig', ['@127.0.0.1', '-p', String(dns.port), '+tries=1', '+time=2', 'foo.bar.com', 'A']);
    expect(result.stdout).to.match(/status: NOERROR/).and.to.match(/flags: qr aa rd;/).and.to.match(/ANSWER: 0,/);
    expect(result.stdout).to.match(/^foo\.bar\.com\.\s+0\s+IN\s+A\s+127\.0\.0\.1$/m).and.to.match(/^_udp\.foo\.bar\.com\.\s+0\s+IN\s+SRV\s+0 0 \d+ \.$/m);
  });
});

describe('dns: zones and plugins', function () {
  after(killAllDns);

  it('the longest matching zone wins; a name in no zone is REFUSED; a block without an answering plugin gives SERVFAIL', async () => {
    const dns = await startDns(`bar.com:PORT {
    forward . 192.0.2.1
}
foo.bar.com:PORT {
    whoami
}
other.test:PORT {
    log
}
`);
    try {
      const rcodeOf = async (name: string): Promise<string> => decode((await udpExchange(dns.port, query(name))).reply).rcode;
      expect(await rcodeOf('x.foo.bar.com')).to.equal('NOERROR');
      expect(await rcodeOf('bar.com')).to.equal('SERVFAIL');
      expect(await rcodeOf('xfoo.bar.com')).to.equal('SERVFAIL');
      expect(await rcodeOf('example.org')).to.equal('REFUSED');
      expect(await rcodeOf('www.other.test')).to.equal('SERVFAIL');
    } finally {
      await dns.stop();
    }
  });

  it('exits 1 naming the port when it is taken', async () => {
    const first = await startDns(conformanceCorefile);
    try {
      const { code, stderrLines } = await runDnsToExit(conformanceCorefile.replaceAll('PORT', String(first.port)));
      expect(code).to.equal(1);
      expect(stderrLines, stderrLines.join('\n')).to.have.length(1);
      expect(stderrLines[0]).to.include(`cannot listen on udp 0.0.0.0:${first.port}`).and.to.include('DNS_LISTEN_FAILED');
    } finally {
      await first.stop();
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const dns = await startDns(conformanceCorefile);
    expect(await dns.stop()).to.equal(0);
  });

  it('refuses a Corefile with a plugin it does not have: exit 1, one line naming the plugin and the line', async () => {
    const { code, stderrLines } = await runDnsToExit('.:53 {\n    cache 30\n    whoami\n}\n');
    expect(code).to.equal(1);
    expect(stderrLines, stderrLines.join('\n')).to.have.length(1);
    const line = JSON.parse(stderrLines[0]!) as { level: string; component: string; code: string; msg: string };
    expect(line).to.include({ level: 'error', component: 'dns', code: 'DNS_COREFILE_INVALID' });
    expect(line.msg).to.match(/Corefile:2: plugin "cache" is not supported .*\(supported: whoami, forward, log, errors\)/);
  });

  it('names the flag to use when -conf is missing or the Corefile cannot be read', async () => {
    const missing = await runCommand(process.execPath, [new URL('../../src/dns/main.js', import.meta.url).pathname], { timeout: 10_000 });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('pass -conf /root/Corefile');
    const unreadable = await runCommand(process.execPath, [new URL('../../src/dns/main.js', import.meta.url).pathname, '-conf', '/nonexistent/Corefile'], { timeout: 10_000 });
    expect(unreadable.code).to.equal(1);
    expect(unreadable.stderr).to.include('cannot read Corefile /nonexistent/Corefile');
  });
});
