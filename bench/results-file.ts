// bench/RESULTS.md: the table, and everything needed to reproduce it — machine,
// versions, load on the machine, core assignment, exact commands and configurations.
import type { ControlPlaneResult } from './control-plane.js';
import type { DataPlaneResult } from './data-plane.js';
import type { HarnessResult } from './harness.js';
import type { CorePlan } from './lib/system.js';
import type { Row } from './report.js';

export interface ResultsInput {
  startedAt: Date;
  finishedAt: Date;
  loadBefore: string;
  loadAfter: string;
  versions: Record<string, string>;
  cores: CorePlan;
  seconds: number;
  rounds: number;
  warmUpSeconds: number;
  argv: string[];
  table: string;
  rows: Row[];
  skipped: string[];
  notes: string[];
  configs: { name: string; command: string; text?: string }[];
  backendKind: string;
  dataPlane?: DataPlaneResult | undefined;
  controlPlane?: ControlPlaneResult | undefined;
  harness: readonly HarnessResult[];
}

const fence = (text: string, lang = '') => `\`\`\`${lang}\n${text.trim()}\n\`\`\``;

export function resultsMarkdown(input: ResultsInput): string {
  const minutes = ((input.finishedAt.getTime() - input.startedAt.getTime()) / 60_000).toFixed(1);
  const parts: string[] = [];
  parts.push(`# Portcullis benchmarks: side by side with nginx and HAProxy

Written by \`npm run bench${input.argv.length ? ` -- ${input.argv.join(' ')}` : ''}\` (bench/run.ts) on ${input.startedAt.toISOString()} (${minutes} min).
Every figure is a median over alternating runs in the same session on the same machine;
read the **ratios**, not the absolute numbers: this machine is shared (${input.loadBefore} at the start,
${input.loadAfter} at the end, with other builds and test runs going on), so absolute figures drift
between runs while ratios measured side by side hold.

Ratio = Portcullis / best peer. For "higher is better" rows ≥ 1 means Portcullis is ahead; for
latency and time rows (lower is better) ≤ 1 means Portcullis is ahead. The data-plane ratios also
show their spread "by round": Portcullis against that peer within each round, where both met the
same moment of the machine; a wide spread says the machine was noisy. Targets (issue 7): ≥ 0.9× on
termination keep-alive req/s and handshakes/s, ≥ 1.0× on passthrough, route and Secret changes
served within 250 ms at p99 with 1,000 routes, a warm \`npm run conformance\` under 3 minutes.`);
  parts.push(`## Results\n\n${input.table}`);
  if (input.skipped.length || input.notes.length) parts.push(`### Not measured in this run\n\n${[...input.skipped, ...input.notes].map((s) => `- ${s}`).join('\n')}`);
  parts.push(`## Machine and versions\n\n${Object.entries(input.versions).map(([k, v]) => `- **${k}**: ${v}`).join('\n')}`);
  if (input.dataPlane) {
    parts.push(`## Data plane (measurements 1–4): how

- **Cores**: ${input.cores.note}. Every proxy runs **one worker** (Portcullis \`--workers 1\`,
  nginx \`worker_processes 1\`, HAProxy \`nbthread 1\`), all three started before the first sample
  and idle while another is measured.
- **Backend**: ${input.backendKind === 'nginx' ? 'a separate nginx (one worker, pinned with the load) answering a 22-byte body on plain HTTP/1.1, and on its own TLS port (ECDSA) for passthrough, where `/bulk` is a 16 MiB file' : 'bench/backend.ts (node:http and node:https, pinned with the load)'}. The same backend for every proxy;
  the proxies keep connections to it alive (nginx \`keepalive 128\`, HAProxy \`http-reuse always\`, Portcullis its lean HTTP/1.1 client pool).
- **Node floor** (a reference column, never a peer in the ratios): \`bench/node-floor.ts\`, what any proxy
  running on Node 20 costs at least. node:tls terminates each connection and relays its bytes to the
  backend with no HTTP at all; HTTP/2 streams (ALPN h2) become HTTP/1.1 requests on pooled backend
  connections with the least HTTP possible (request line and Host out, status and Content-Length in);
  the passthrough port relays each connection untouched, with no ClientHello read.
- **Certificates**: one CA; RSA-2048 and ECDSA P-256 leaves for \`localhost\` (so wrk and h2load send
  that SNI without /etc/hosts entries; s_time sends none), each key type on its own port per proxy; the
  passthrough port routes SNI \`localhost\` to the backend's TLS port (nginx \`ssl_preread\`, HAProxy
  \`req_ssl_sni\`, Portcullis a TLSRoute). New passthrough connections come from a Node client
  (\`tls.connect\` with SNI, 8 at a time, GET / then close), because s_time cannot send SNI.
- **Alternation**: per case, ${input.warmUpSeconds > 0 ? `one unrecorded ${input.warmUpSeconds} s warm-up per proxy (Node's JIT is still compiling after 1 s of handshakes)` : 'no warm-up'}, then ${input.rounds} round(s) of ${input.seconds} s samples,
  the proxy order rotating each round (A B C, B C A, C A B); the table shows medians.
- **Per proxy CPU-second**: utime+stime of the proxy's process tree (nginx master and worker) read from
  \`/proc/<pid>/stat\` before and after each sample; the count divided by that CPU time. This is the fairest
  figure when the load generator, not the proxy, limits the rate.
- **User + kernel** (the note on each per CPU-second row): the same CPU time per request (handshake,
  connection, MB) in µs, split into utime and stime. Kernel time is the sockets' work, which every
  proxy pays for the same traffic: the syscalls and the loopback TCP path they run (the receiver's
  side included). User time is the proxy's own: its code, its TLS library's, and for Node V8 and the
  runtime. Comparing the two across proxies shows which part a ratio comes from.
- **Load cores idle** (the note on each per CPU-second row): the share of the load cores' time spent idle
  during that proxy's samples, from \`/proc/stat\`. A proxy slower than the load leaves those cores idle, and
  then its writes (a response to wrk, a request to the backend) can wake a sleeping core. On a virtual
  machine whose idle vCPUs halt at once (see **idle cores** under Machine and versions), such a wake-up costs
  the writer a VM exit, which the guest counts only in part as the writer's CPU time. Portcullis holds its
  writes until the end of each event-loop iteration, so one wake-up serves many of them: the kernel time
  per request in the user + kernel split is about the same for every proxy, and what an idle load core
  shows is mostly that the proxy is the bottleneck. The bench reports the setting and never changes it.
- **Handshakes**: \`openssl s_time\`, 4 clients at once, TLS 1.3 (the default); \`-new\` full handshakes,
  \`-reuse\` resumed ones; each connection also fetches \`/\` through the proxy (with a Host header
  smuggled into \`-www\`: s_time sends none, and a backend answers that with 400 and a closed
  connection, which would charge an upstream reconnect to some proxies and not others). Whether a connection resumed is read from s_time's own per-connection mark
  (OpenSSL's \`SSL_session_reused\`), and the share is in the notes column: a "resumed" figure with a low
  share is really a full-handshake figure.

### Commands

${fence([...input.dataPlane.commands].map(([id, command]) => `# ${id}\n${command}`).join('\n'))}

### Proxies

${input.configs.map((c) => `#### ${c.name}\n\n${fence(c.command, 'sh')}\n\n${c.text ? fence(c.text) : ''}`).join('\n\n')}`);
  }
  if (input.controlPlane) parts.push(input.controlPlane.markdown);
  if (input.harness.length > 0) {
    const warm = input.harness.find((run) => !run.cold);
    const cold = input.harness.find((run) => run.cold);
    parts.push(`## The harness (measurement 6): how

${fence(input.harness.map((run) => run.command).join('\n'), 'sh')}

Each run starts its own local cluster in a temporary PORTCULLIS_HOME, runs every suite and deletes
the cluster. Warm means the control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
built from source once) are already in \`~/.cache/portcullis\`${warm ? `; outcome: ${warm.outcome}` : ''}. ${
      cold
        ? `Cold points that cache and Go's build cache (GOCACHE) at empty folders, so the control plane is
compiled from source first, as on a fresh machine; Go's module cache is kept (downloading the modules
adds about 30 s); outcome: ${cold.outcome}.`
        : 'Cold (empty caches) was not measured in this run (`--no-cold`).'
    }`);
  }
  return `${parts.join('\n\n')}\n`;
}
