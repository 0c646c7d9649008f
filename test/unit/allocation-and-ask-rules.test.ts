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

  it("ARC: the batch system underneath gives the figures (ARC on Slurm), else the pilot's own cgroup; the scratch flag is no core count", () => {
    // ARC on Slurm: the xrsl's count and per-core memory arrive as Slurm's.
    const onSlurm = { GRID_GLOBAL_JOBID: 'gsiftp://ce/jobs/abc', SLURM_JOB_ID: '7', SLURM_CPUS_ON_NODE: '4', SLURM_MEM_PER_CPU: '1500' };
    expect(readAllocation(onSlurm, facts())).toMatchObject({ cores: 4, memMB: 6000, source: { memMB: 'SLURM_MEM_PER_CPU × CPUs' } });
    // ARC's fork backend (or one the pilot does not read): nothing in the environment; the cgroup the site enforces.
    const fork = { GRID_GLOBAL_JOBID: 'gsiftp://ce/jobs/abc', RUNTIME_ENABLE_MULTICORE_SCRATCH: '1' };
    expect(readAllocation(fork, facts({ cgroupMemoryBytes: () => 2 * 1024 ** 3, usableCpus: () => 8 }))).toEqual({
      cores: 8,
      memMB: 2048,
      endsAt: null,
      source: { cores: 'usable CPUs (ARC exports none)', memMB: 'cgroup memory limit (ARC exports none)' },
    });
    expect(readAllocation(fork, facts()).source.memMB).toBe('none (ARC exports none, and no cgroup limit)');
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
  it("holdOnly gives an event-service job's idle share back (only ever less); release frees the rest", async () => {
    const pool = new ResourcePool({ cores: 4, memMB: 2000 });
    const r = (await pool.reserve({ cores: 4, memMB: 2000 }, new AbortController().signal))!;
    expect(pool.canAsk()).toBe(false);
    pool.holdOnly(r, 3 / 4); // three of four ranges still run
    expect(pool.free()).toEqual({ cores: 1, memMB: 500 });
    pool.holdOnly(r, 1); // never grows back
    expect(pool.free()).toEqual({ cores: 1, memMB: 500 });
    const next = (await pool.reserve({ cores: 1, memMB: 500 }, new AbortController().signal))!;
    pool.holdOnly(r, 1 / 4);
    expect(pool.free()).toEqual({ cores: 2, memMB: 1000 });
    pool.release(r);
    expect(pool.free()).toEqual({ cores: 3, memMB: 1500 });
    pool.release(next);
    expect(pool.free()).toEqual({ cores: 4, memMB: 2000 });
    expect(pool.jobs).toBe(0);
  });

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
