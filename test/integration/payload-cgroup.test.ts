/**
 * Real memory cgroups (root, or a delegated cgroup; v1 or v2, whichever
 * this machine has): the payload's launcher joins its cgroup before the
 * payload runs, the kernel enforces the limit, and removal kills leftovers.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PayloadCgroup, PayloadMonitor, NO_LIMITS } from '../../pilot/src/monitor/index.js';
import { cgroupAvailability } from '../support/cgroups.js';
import { startPayload } from '../support/payloads.js';

const { parent, skipReason } = cgroupAvailability();
if (skipReason) console.warn(`payload-cgroup tests skipped: ${skipReason}`);

const start = (command: string, cg: PayloadCgroup) => startPayload(command, { cgroupProcsFile: cg.procsFile });

describe.skipIf(skipReason !== null)(`payload cgroup (real, v${parent?.version ?? '?'})`, () => {
  it('the payload is inside its cgroup from its first instruction', async () => {
    const cg = PayloadCgroup.create(parent!, { name: `test-join-${process.pid}`, limitMB: 100 });
    try {
      const { p, dir } = await start('cat /proc/self/cgroup', cg);
      const exit = await p.done;
      expect(exit.exitCode).toBe(0);
      const own = readFileSync(path.join(dir, 'payload.stdout'), 'utf8');
      expect(own).toContain(cg.cgroupPath);
    } finally {
      expect(await cg.remove()).toBe(true);
    }
    expect(existsSync(cg.dir)).toBe(false);
  });

  it('the kernel OOM-kills past the limit; the counter moves and the peak sits at the limit', async () => {
    const cg = PayloadCgroup.create(parent!, { name: `test-oom-${process.pid}`, limitMB: 50 });
    try {
      const { p } = await start('head -c 120M /dev/zero | tail > /dev/null', cg);
      const monitor = PayloadMonitor.start({
        sid: p.pid,
        cgroup: { dir: cg.dir, version: cg.version, own: true },
        intervalMs: 100,
        limits: NO_LIMITS,
        workDir: null,
      });
      const exit = await p.done;
      const { cgroupAtEnd } = await monitor.stop();
      expect(exit.signal).toBe('SIGKILL');
      expect(cgroupAtEnd?.oomKills).toBeGreaterThanOrEqual(1);
      expect(cgroupAtEnd?.limitKb).toBe(50 * 1024);
      expect(cgroupAtEnd?.peakKb).toBeGreaterThanOrEqual(50 * 1024 * 0.99);
    } finally {
      await cg.remove();
    }
  });

  it('remove() kills a process that left the payload session and removes the cgroup', async () => {
    const cg = PayloadCgroup.create(parent!, { name: `test-leftover-${process.pid}`, limitMB: null });
    // The daemon writes its pid only once setsid() is done, and the launcher waits for that: the launcher's
    // own group is killed as it exits (no orphans), which must not be what takes the daemon here.
    const { p, dir } = await start(
      `setsid sh -c 'echo $$ > daemon.pid.tmp && mv daemon.pid.tmp daemon.pid; exec sleep 300' & while [ ! -s daemon.pid ]; do sleep 0.01; done; exit 0`,
      cg,
    );
    await p.done;
    const pid = Number(readFileSync(path.join(dir, 'daemon.pid'), 'utf8'));
    expect(cg.pids()).toContain(pid);
    expect(await cg.remove()).toBe(true);
    expect(existsSync(`/proc/${pid}/cgroup`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z')).toBe(false);
  });
});
