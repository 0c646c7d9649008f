import { describe, expect, it } from 'vitest';
import { readAllocation, type AllocationFacts } from '../../pilot/src/config/index.js';
import { askVerdict, ResourcePool, type AskFacts } from '../../pilot/src/lifecycle/index.js';

const facts = (over: Partial<AllocationFacts> = {}): AllocationFacts => ({
  readFile: () => null,
  cgroupMemoryBytes: () => null,
  usableCpus: () => 2,
  slurmEndTime: () => null,
  ...over,
});

describe('readAllocation', () => {
  it('Slurm: CPUs on node, memory per node, else per CPU × CPUs; end time from the env, else squeue', () => {
    expect(
      readAllocation({ SLURM_JOB_ID: '1', SLURM_CPUS_ON_NODE: '8', SLURM_MEM_PER_NODE: '16000', SLURM_JOB_END_TIME: '1700000000' }, facts()),
    ).toMatchObject({ cores: 8, memMB: 16000, endsAt: 1700000000 });
    expect(
      readAllocation({ SLURM_JOB_ID: '1', SLURM_JOB_CPUS_PER_NODE: '4(x2)', SLURM_MEM_PER_CPU: '2000' }, facts({ slurmEndTime: () => 1234 })),
    ).toMatchObject({
      cores: 4,
      memMB: 8000,
      endsAt: 1234,
      source: { cores: 'SLURM_JOB_CPUS_PER_NODE', memMB: 'SLURM_MEM_PER_CPU × CPUs' },
    });
  });

  it('HTCondor: Cpus and Memory from the machine ad', () => {
    const ad = 'Cpus = 4\nMemory = 8192\nName = "slot1@node"\n';
    expect(readAllocation({ _CONDOR_MACHINE_AD: '/ad' }, facts({ readFile: (f) => (f === '/ad' ? ad : null) }))).toMatchObject({ cores: 4, memMB: 8192 });
  });

  it('nothing from a batch system: usable CPUs and the cgroup memory limit', () => {
    expect(readAllocation({}, facts({ cgroupMemoryBytes: () => 4 * 1024 ** 3, usableCpus: () => 3 }))).toMatchObject({
      cores: 3,
      memMB: 4096,
      endsAt: null,
      source: { memMB: 'cgroup memory limit' },
    });
    expect(readAllocation({}, facts()).memMB).toBeNull();
  });
});

const ask = (over: Partial<AskFacts> = {}): AskFacts => ({
  nowMs: 10_000_000,
  startedAtMs: 10_000_000,
  endsAtMs: 10_000_000 + 3_600_000,
  jobNeedsSec: null,
  timefloorSec: 0,
  jobsTaken: 0,
  drainRequested: false,
  requests: 0,
  maxRequests: 0,
  failures: 0,
  maxFailures: 0,
  ...over,
});

describe('askVerdict', () => {
  it('asks by default; drain, -v, -x, too little time and the timefloor each stop it', () => {
    expect(askVerdict(ask())).toEqual({ ask: true });
    expect(askVerdict(ask({ drainRequested: true }))).toMatchObject({ ask: false, reason: 'drain' });
    expect(askVerdict(ask({ requests: 5, maxRequests: 5 }))).toMatchObject({ ask: false, reason: 'getjob-limit' });
    expect(askVerdict(ask({ failures: 2, maxFailures: 2 }))).toMatchObject({ ask: false, reason: 'getjob-limit' });
    expect(askVerdict(ask({ jobNeedsSec: 7200 }))).toMatchObject({ ask: false, reason: 'time-short' });
    expect(askVerdict(ask({ jobNeedsSec: 1800 }))).toEqual({ ask: true });
    // timefloor: the first job always; after it, only while fewer than timefloor minutes have passed
    expect(askVerdict(ask({ timefloorSec: 600, nowMs: 10_000_000 + 700_000 }))).toEqual({ ask: true });
    expect(askVerdict(ask({ timefloorSec: 600, jobsTaken: 1, nowMs: 10_000_000 + 700_000 }))).toMatchObject({ ask: false, reason: 'timefloor' });
    expect(askVerdict(ask({ timefloorSec: 600, jobsTaken: 1, nowMs: 10_000_000 + 500_000 }))).toEqual({ ask: true });
  });
});

describe('ResourcePool', () => {
  it('reserves, waits for room, lets a too-large job in alone, releases', async () => {
    const pool = new ResourcePool({ cores: 8, memMB: 2000 });
    const stop = new AbortController();
    const a = await pool.reserve({ cores: 4, memMB: 1500 }, stop.signal);
    expect(a?.over).toBe(false);
    expect(pool.free()).toEqual({ cores: 4, memMB: 500 });
    let second: unknown = null;
    const waiting = pool.reserve({ cores: 1, memMB: 1500 }, stop.signal).then((r) => (second = r));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeNull();
    pool.release(a!);
    await waiting;
    expect(second).toMatchObject({ over: false });
    pool.release(second as never);
    const huge = await pool.reserve({ cores: 16, memMB: 1 }, stop.signal);
    expect(huge?.over).toBe(true);
    expect(pool.canAsk()).toBe(false);
  });
});
