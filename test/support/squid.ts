/**
 * A real Squid (Debian's `squid`) on a loopback port, started and stopped by
 * the test: the site proxy a worker node reaches its PanDA server through.
 * It allows CONNECT to any port (the stub's https port is not 443) and only
 * clients from 127.0.0.1. Unavailable → `squidMissing()` says why, to skip with.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import path from 'node:path';

export const SQUID_BIN = ['/usr/sbin/squid', '/usr/bin/squid'].find((p) => existsSync(p)) ?? 'squid';

/** Why Squid cannot run here, or null. */
export function squidMissing(): string | null {
  const r = spawnSync(SQUID_BIN, ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? null : `squid not installed (${r.error?.message ?? r.stderr}); .ci/run installs it with apt-get`;
}

export interface RunningSquid {
  url: string;
  port: number;
  /** Requests squid logged (access.log lines). */
  accessLog: () => string;
  stop: () => Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
}

/** Starts squid in the foreground (-N) with its own config, pid file and logs under `dir`. */
export async function startSquid(dir: string): Promise<RunningSquid> {
  // Squid started as root drops to its effective user; it must write its logs here.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const conf = path.join(dir, 'squid.conf');
  writeFileSync(
    conf,
    [
      `http_port 127.0.0.1:${port}`,
      `pid_filename ${dir}/squid.pid`,
      `access_log stdio:${dir}/access.log`,
      `cache_log ${dir}/cache.log`,
      `coredump_dir ${dir}`,
      'cache deny all',
      'cache_mem 8 MB',
      'shutdown_lifetime 0 seconds',
      'acl from_loopback src 127.0.0.1/32',
      'acl CONNECT method CONNECT',
      'http_access allow from_loopback',
      'http_access deny all',
      '',
    ].join('\n'),
  );
  for (const f of ['access.log', 'cache.log']) {
    writeFileSync(path.join(dir, f), '');
    chmodSync(path.join(dir, f), 0o666);
  }
  const proc: ChildProcess = spawn(SQUID_BIN, ['-N', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`squid exited (${proc.exitCode ?? proc.signalCode}):\n${output}\n${readFileSync(path.join(dir, 'cache.log'), 'utf8')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`squid did not listen on ${port} within 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accessLog: () => readFileSync(path.join(dir, 'access.log'), 'utf8'),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
