/** The stub's retry rules: more memory after 1212/1235 (ladder, multiplier, cap), no retry for deliberate stops. */
import { describe, expect, it } from 'vitest';
import { boostedMemory, decideRetry, MEMORY_LADDER_MB_PER_CORE } from '../../server-stub/src/model/retry-policy.js';
import { resourceTypeFor } from '../../server-stub/src/model/resource-types.js';
import { parseTaskFile } from '../../server-stub/src/model/task-file.js';

const job = { attemptNr: 1, minRamCount: 4000, cores: 1, killed: false };

describe('boostedMemory', () => {
  it('climbs the per-core memory ladder', () => {
    expect(MEMORY_LADDER_MB_PER_CORE).toEqual([1000, 2000, 3000, 4000, 6000, 8000]);
    expect(boostedMemory(4000, 1, { maxAttempts: 3 })).toBe(6000);
    expect(boostedMemory(6000, 1, { maxAttempts: 3 })).toBe(8000);
    expect(boostedMemory(200, 1, { maxAttempts: 3 })).toBe(1000);
    expect(boostedMemory(16000, 4, { maxAttempts: 3 })).toBe(24000); // 4000/core → 6000/core
  });

  it('doubles past the top of the ladder, or uses the task multiplier', () => {
    expect(boostedMemory(8000, 1, { maxAttempts: 3 })).toBe(16000);
    expect(boostedMemory(200, 1, { maxAttempts: 3, memoryBoost: 2 })).toBe(400);
    expect(boostedMemory(8000, 1, { maxAttempts: 3, memoryBoost: 1.5 })).toBe(12000);
  });

  it('never goes past the task maximum', () => {
    expect(boostedMemory(8000, 1, { maxAttempts: 3, maxMemoryMB: 12000 })).toBe(12000);
  });
});

describe('decideRetry after running out of memory', () => {
  it('1212 and 1235 come back as a new attempt with more memory', () => {
    for (const code of [1212, 1235]) {
      const a = decideRetry(job, { maxAttempts: 3 }, code, 'Memory cgroup out of memory: Killed process 1 (python)');
      expect(a).toMatchObject({ action: 'retry', attemptNr: 2, minRamCount: 6000, memoryBoosted: true });
      if (a.action === 'retry') expect(a.reason).toMatch(/4000 → 6000 MB/);
    }
  });

  it('8 GB → 16 GB moves the job to a bigger resource type', () => {
    const a = decideRetry({ ...job, minRamCount: 8000 }, { maxAttempts: 2 }, 1212, 'oom');
    expect(a).toMatchObject({ action: 'retry', minRamCount: 16000 });
    if (a.action === 'retry') expect(resourceTypeFor(a.minRamCount, 1)).not.toBe(resourceTypeFor(8000, 1));
  });

  it('does not retry an OOM already at the task maximum, nor past max attempts', () => {
    expect(decideRetry({ ...job, minRamCount: 400 }, { maxAttempts: 3, maxMemoryMB: 400 }, 1212, 'oom')).toMatchObject({ action: 'none' });
    expect(decideRetry({ ...job, attemptNr: 2 }, { maxAttempts: 2 }, 1212, 'oom')).toMatchObject({ action: 'none' });
  });

  it('other failures retry with the same memory; server kills never retry', () => {
    expect(decideRetry(job, { maxAttempts: 2 }, 1305, 'exit 3')).toMatchObject({ action: 'retry', minRamCount: 4000, memoryBoosted: false });
    expect(decideRetry(job, { maxAttempts: 5 }, 1144, 'killed')).toMatchObject({ action: 'none' });
    expect(decideRetry(job, { maxAttempts: 5 }, 1236, 'failed by server')).toMatchObject({ action: 'none' });
  });
});

describe('task file memory options', () => {
  it('accepts memoryBoost and maxMemoryMB, and refuses a boost that shrinks memory', () => {
    const ok = parseTaskFile({ name: 't', site: 'S', memoryMB: 200, memoryBoost: 2, maxMemoryMB: 400, command: 'true' });
    expect(ok.ok && ok.spec.tasks[0]).toMatchObject({ memoryBoost: 2, maxMemoryMB: 400 });
    const plain = parseTaskFile({ name: 't', site: 'S', command: 'true' });
    expect(plain.ok && plain.spec.tasks[0]).toMatchObject({ memoryBoost: null, maxMemoryMB: null });
    const bad = parseTaskFile({ name: 't', site: 'S', memoryBoost: 0.5, command: 'true' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.join()).toMatch(/memoryBoost: memoryBoost must be more than 1/);
  });
});
