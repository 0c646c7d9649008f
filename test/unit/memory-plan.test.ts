/** Who enforces a payload's memory, and the watchdog limits a job gets. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MONITOR_SETTINGS, memoryPlan, watchdogLimits, type MonitorSettings } from '../../pilot/src/lifecycle/index.js';
import { parseJobDescription } from '../../pilot/src/job/index.js';

const job = (over: Record<string, unknown> = {}) =>
  parseJobDescription({ PandaID: 7, transformation: 'bash-c-enc', minRamCount: 2000, maxWalltime: 600, ...over });
const cg = { version: 1 as const, dir: '/sys/fs/cgroup/memory/x', cgroupPath: '/x' };
const settings = (over: Partial<MonitorSettings>): MonitorSettings => ({ ...DEFAULT_MONITOR_SETTINGS, ...over });

describe('memoryPlan', () => {
  it('a writable cgroup gets the job memory (plus grace) and takes over from a `job` watchdog', () => {
    const p = memoryPlan(job(), settings({ cgroupParent: cg, cgroupWritable: true, memoryGracePct: 10, maxRss: 'job' }));
    expect(p).toEqual({ useCgroup: true, cgroupLimitMB: 2200, watchdogMB: null });
  });

  it('without a writable cgroup the `job` watchdog enforces the job memory', () => {
    expect(memoryPlan(job(), settings({ cgroupParent: cg, cgroupWritable: false, maxRss: 'job' }))).toEqual({
      useCgroup: false,
      cgroupLimitMB: null,
      watchdogMB: 2000,
    });
    expect(memoryPlan(job(), settings({ maxRss: 'job' }))).toMatchObject({ watchdogMB: 2000 });
  });

  it('a numeric watchdog always applies; slot memory stands in for a job without minRamCount', () => {
    expect(memoryPlan(job(), settings({ cgroupParent: cg, cgroupWritable: true, maxRss: 3000 }))).toMatchObject({ cgroupLimitMB: 2000, watchdogMB: 3000 });
    expect(memoryPlan(job({ minRamCount: 0 }), settings({ cgroupParent: cg, cgroupWritable: true, slotMemoryMB: 4000 }))).toMatchObject({
      cgroupLimitMB: 4000,
    });
    expect(memoryPlan(job(), settings({ cgroupParent: cg, cgroupWritable: true, memoryLimit: 'slot', slotMemoryMB: 4000 }))).toMatchObject({
      cgroupLimitMB: 4000,
    });
    expect(memoryPlan(job(), settings({ cgroupParent: cg, cgroupWritable: true, memoryLimit: 'none' }))).toMatchObject({
      useCgroup: true,
      cgroupLimitMB: null,
    });
  });
});

describe('watchdogLimits', () => {
  it('walltime from the job, else the queue; looping off when the job says so', () => {
    const s = settings({ queueMaxtimeSec: 3600 });
    const plan = memoryPlan(job(), s);
    expect(watchdogLimits(job(), s, plan)).toMatchObject({ maxWalltimeSec: 600, loopingLimitSec: 7200, minDiskMB: 1024 });
    expect(watchdogLimits(job({ maxWalltime: 'NULL' }), s, plan).maxWalltimeSec).toBe(3600);
    expect(watchdogLimits(job({ loopingCheck: 'False' }), s, plan).loopingLimitSec).toBeNull();
  });
});
