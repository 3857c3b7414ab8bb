// A proxy whose stderr reader goes away (a closed pipe: EPIPE on every log line) must keep
// serving and still stop on SIGTERM. It used to loop: each failed write raised an error
// that the uncaught-exception handler logged, whose write failed in turn, and the process
// spun at full CPU and never finished its shutdown.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { proxyMain } from './proxy-harness.js';

function request(port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('proxy: its log reader goes away', function () {
  this.timeout(20_000);

  it('keeps answering and exits on SIGTERM after stderr breaks (EPIPE)', async () => {
    const child = spawn(process.execPath, [proxyMain, '--admin', '127.0.0.1:0', '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', PORTCULLIS_LOG_LEVEL: 'debug' } });
    try {
      const adminPort = await new Promise<number>((resolve, reject) => {
        let text = '';
        child.stderr!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const match = /"adminPort":(\d+)/.exec(text);
          if (match) resolve(Number(match[1]));
        });
        child.once('exit', (code) => reject(new Error(`proxy exited (${code}) before listening:\n${text}`)));
      });
      child.stderr!.destroy(); // the reader is gone: the proxy's next log lines hit EPIPE
      // Each of these logs (a rejected config, an applied one).
      for (let i = 0; i < 5; i++) {
        expect(await request(adminPort, 'PUT', '/config', '{"version":')).to.equal(400);
        expect(await request(adminPort, 'PUT', '/config', JSON.stringify({ version: `v${i}`, listeners: [] }))).to.equal(200);
      }
      expect(await request(adminPort, 'GET', '/metrics')).to.equal(200);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
