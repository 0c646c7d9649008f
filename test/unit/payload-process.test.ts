import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseBashTimes, signalFromStatus } from '../../pilot/src/run/index.js';
import { startPayload } from '../support/payloads.js';
import { sessionProcesses } from '../../pilot/src/monitor/index.js';

const start = (command: string) => startPayload(command);

/** Alive and not a zombie (an orphaned zombie waits for init, which may never reap it in a container). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe('PayloadProcess', () => {
  it('reports the exit status, writes stdout/stderr to files and measures CPU', async () => {
    const { p, dir } = start('echo out; echo err >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 7');
    const exit = await p.done;
    expect(exit.exitCode).toBe(7);
    expect(exit.signal).toBeNull();
    expect(readFileSync(path.join(dir, 'payload.stdout'), 'utf8')).toBe('out\n');
    expect(readFileSync(path.join(dir, 'payload.stderr'), 'utf8')).toBe('err\n');
    expect(exit.cpuUserSec).not.toBeNull();
    expect((exit.cpuUserSec ?? 0) + (exit.cpuSysSec ?? 0)).toBeGreaterThan(0);
  });

  it('sees a payload killed by a signal as that signal', async () => {
    const { p } = start('kill -KILL $$');
    const exit = await p.done;
    expect(exit.exitCode).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
  });

  it('stops the whole process group, grandchildren included, escalating to SIGKILL', async () => {
    // Written under another name and renamed, so the test never reads a half-written pid.
    const { p, dir } = start(`trap '' TERM; (trap '' TERM; sleep 300) & echo $! > child.tmp && mv child.tmp child.pid; sleep 300`);
    for (let i = 0; i < 500 && !existsSync(path.join(dir, 'child.pid')); i++) await new Promise((r) => setTimeout(r, 20));
    const grandchild = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    expect(alive(grandchild)).toBe(true);
    expect(sessionProcesses(p.pid).map((s) => s.pid)).toContain(grandchild);
    const t0 = Date.now();
    await p.stop(300);
    expect(Date.now() - t0).toBeLessThan(5_000);
    for (let i = 0; i < 500 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(grandchild)).toBe(false);
  });

  it('parses bash times and shell statuses', () => {
    expect(parseBashTimes('0m0.001s 0m0.002s\n1m2.500s 0m0.250s\n')).toEqual({ user: 62.5, sys: 0.25 });
    expect(parseBashTimes('garbage')).toBeNull();
    expect(signalFromStatus(143)).toBe('SIGTERM');
    expect(signalFromStatus(1)).toBeNull();
  });
});
