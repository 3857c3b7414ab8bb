// What every benchmark needs from the machine: CPU time of a process tree (from
// /proc/<pid>/stat), core pinning, spawning long-running servers, tool detection,
// versions, and small statistics.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { onInterrupt } from '../../src/lib/interrupt.js';
import { commandExists, runCommand } from '../../src/lib/process.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime: in user space (the process's own code and its libraries). */
  userTicks: number;
  /** stime: in the kernel on its behalf (syscalls, and the network stack they run). */
  systemTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is stat field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(fields[1]), userTicks: Number(fields[11]), systemTicks: Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** CPU seconds of a set of processes, in user space and in the kernel. */
export interface CpuTimes {
  user: number;
  system: number;
}

/** utime and stime in seconds of these processes (those still alive), summed. */
export function cpuTimesOf(pids: readonly number[]): CpuTimes {
  let user = 0;
  let system = 0;
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) continue;
    user += stat.userTicks;
    system += stat.systemTicks;
  }
  return { user: user / CLOCK_TICKS, system: system / CLOCK_TICKS };
}

/** utime+stime in seconds of these processes (those still alive). */
export function cpuSecondsOf(pids: readonly number[]): number {
  const { user, system } = cpuTimesOf(pids);
  return user + system;
}

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** The CPU numbers in a taskset list such as `1`, `1-3` or `0,2-3`. */
export function cpuList(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number);
    return Array.from({ length: last! - first! + 1 }, (_, i) => first! + i);
  });
}

/** Jiffies these CPUs have spent idle (idle + iowait) and in all, since boot, from /proc/stat. */
export function cpuTicks(cpus: readonly number[]): { idle: number; total: number } {
  const wanted = new Set(cpus.map((cpu) => `cpu${cpu}`));
  let idle = 0;
  let total = 0;
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const [name, ...fields] = line.split(/\s+/);
    if (!wanted.has(name!)) continue;
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const ticks = fields.slice(0, 8).map(Number);
    idle += ticks[3]! + ticks[4]!;
    total += ticks.reduce((sum, value) => sum + value, 0);
  }
  return { idle, total };
}

/**
 * How an idle core waits, when Linux says: the cpuidle driver, and on a VM guest with the
 * haltpoll driver how long it polls before halting. It matters to the data-plane ratios:
 * waking a task on a halted vCPU costs the waker a VM exit, so a proxy that leaves the load
 * core idle pays more per write than one that keeps it busy.
 */
export function idleBehaviour(): string | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const driver = read('/sys/devices/system/cpu/cpuidle/current_driver');
  if (driver === undefined) return undefined;
  const pollNs = driver === 'haltpoll' ? read('/sys/module/haltpoll/parameters/guest_halt_poll_ns') : undefined;
  return pollNs === undefined ? `cpuidle driver ${driver}` : `cpuidle driver haltpoll, guest_halt_poll_ns ${pollNs}${pollNs === '0' ? ' (an idle vCPU halts at once)' : ''}`;
}

/** Which cores the proxy and the rest (load, backend) get. On one core, both share it. */
export interface CorePlan {
  proxy: string;
  rest: string;
  note: string;
}

export function corePlan(): CorePlan {
  const cores = os.availableParallelism();
  if (cores >= 2) {
    return { proxy: '0', rest: cores === 2 ? '1' : `1-${cores - 1}`, note: `proxy under test pinned to CPU 0 (taskset -c 0); load generator and backend pinned to CPU ${cores === 2 ? '1' : `1-${cores - 1}`}` };
  }
  return { proxy: '0', rest: '0', note: 'one core: proxy, load and backend share CPU 0' };
}

/** `taskset -c cpus command args…`, or the bare command where taskset is missing. */
export function pinned(cpus: string, command: string, args: string[], hasTaskset: boolean): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}

export interface Tools {
  taskset: boolean;
  nginx: boolean;
  nginxStream: boolean;
  haproxy: boolean;
  wrk: boolean;
  h2load: boolean;
  openssl: boolean;
}

const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export async function detectTools(): Promise<Tools> {
  const [taskset, nginx, haproxy, wrk, h2load, openssl] = await Promise.all(['taskset', 'nginx', 'haproxy', 'wrk', 'h2load', 'openssl'].map((tool) => commandExists(tool)));
  let nginxStream = false;
  try {
    readFileSync(NGINX_STREAM_MODULE, { flag: 'r' });
    nginxStream = true;
  } catch {
    nginxStream = false;
  }
  return { taskset: taskset!, nginx: nginx!, nginxStream: nginx! && nginxStream, haproxy: haproxy!, wrk: wrk!, h2load: h2load!, openssl: openssl! };
}

export { NGINX_STREAM_MODULE };

/** One line per component: OS, CPU, Node, OpenSSL and each tool's version. */
export async function versions(tools: Tools): Promise<Record<string, string>> {
  const firstLine = async (command: string, args: string[]): Promise<string> => {
    const result = await runCommand(command, args).catch(() => undefined);
    if (!result) return 'absent';
    return `${result.stdout}${result.stderr}`.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown';
  };
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const found: Record<string, string> = {
    machine: `${os.availableParallelism()} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    node: `${process.version} (OpenSSL ${process.versions.openssl})`,
  };
  const idle = idleBehaviour();
  if (idle) found['idle cores'] = idle;
  if (tools.openssl) found.openssl = await firstLine('openssl', ['version']);
  if (tools.nginx) found.nginx = await firstLine('nginx', ['-v']);
  if (tools.haproxy) found.haproxy = await firstLine('haproxy', ['-v']);
  if (tools.wrk) found.wrk = await firstLine('wrk', ['--version']);
  if (tools.h2load) found.h2load = await firstLine('h2load', ['--version']);
  return found;
}

/** The 1-, 5- and 15-minute load averages, to say how shared the machine was. */
export function machineLoad(): string {
  const [one, five, fifteen] = os.loadavg().map((value) => value.toFixed(2));
  return `load average ${one}, ${five}, ${fifteen} on ${os.availableParallelism()} cores`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** A long-running server: started, then killed with its whole process group at the end. */
export interface Server {
  name: string;
  child: ChildProcess;
  /** Output so far, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export function startServer(name: string, command: string, args: string[], options: SpawnOptions = {}): Server {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    });
  child.once('exit', onInterrupt(stop));
  return { name, child, output: () => output, stop };
}

/** Resolves once `text` appears in the server's output, rejects if it exits first or after `timeoutMs`. */
export function waitForOutput(server: Server, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = pattern.exec(server.output());
      if (match) {
        cleanup();
        resolve(match);
        return true;
      }
      return false;
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${server.name} exited (${code}) before it was ready:\n${server.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${server.name} was not ready within ${timeoutMs} ms:\n${server.output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      server.child.stdout?.off('data', check);
      server.child.stderr?.off('data', check);
      server.child.off('exit', onExit);
    };
    server.child.stdout?.on('data', check);
    server.child.stderr?.on('data', check);
    server.child.once('exit', onExit);
    check();
  });
}

/** Resolves once a TCP connect to the port succeeds. */
export async function waitForPort(port: number, timeoutMs = 20_000, host = '127.0.0.1'): Promise<void> {
  const net = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
