/**
 * Whether a finally failed job gets another attempt, and with what: the
 * server's retry rules in small. An out-of-memory failure (1212, 1235) comes
 * back with more memory — the next step of the memory ladder, or the task's
 * own multiplier, capped by the task's maximum (docs/panda-protocol.md §8); deliberate
 * stops never come back; anything else retries while attempts remain.
 */
import { ErrorCode } from '../../../pilot/src/protocol/index.js';

/** What the retry decision looks at in a failed job. */
export interface FailedJob {
  attemptNr: number;
  /** MB for the whole job. */
  minRamCount: number;
  cores: number;
  /** True when an operator killed the job. */
  killed: boolean;
}

/** What it looks at in the job's task. */
export interface RetryTask {
  maxAttempts: number;
  /** Multiplier for memory after an OOM, instead of the ladder. */
  memoryBoost?: number | null | undefined;
  /** Never boost past this (MB for the whole job). */
  maxMemoryMB?: number | null | undefined;
}

/** The outcome: a new attempt (with the attributes that change), or none and why. */
export type RetryAction =
  { action: 'retry'; attemptNr: number; minRamCount: number; memoryBoosted: boolean; reason: string } | { action: 'none'; reason: string };

/** Codes that mean "do not try again": the failure was a deliberate stop. */
export const NEVER_RETRY_CODES: ReadonlySet<number> = new Set([ErrorCode.PANDAKILL, ErrorCode.FAILEDBYSERVER]);

/** Codes that mean "it needed more memory". */
export const MEMORY_CODES: ReadonlySet<number> = new Set([ErrorCode.PAYLOADOUTOFMEMORY, ErrorCode.PAYLOADEXCEEDMAXMEM]);

/** MB per core, the steps PanDA's increase_memory action climbs. */
export const MEMORY_LADDER_MB_PER_CORE: readonly number[] = [1000, 2000, 3000, 4000, 6000, 8000];

/** Past the ladder's top, memory doubles. */
export const LADDER_TOP_MULTIPLIER = 2;

/**
 * The memory (MB, whole job) of the next attempt after an OOM: the task's
 * multiplier when it has one, else the next ladder step above the current
 * per-core memory; never more than the task's maximum.
 */
export function boostedMemory(currentMB: number, cores: number, task: RetryTask): number {
  const n = Math.max(1, cores);
  let next: number;
  if (task.memoryBoost && task.memoryBoost > 1) {
    next = Math.ceil(currentMB * task.memoryBoost);
  } else {
    const perCore = currentMB / n;
    const step = MEMORY_LADDER_MB_PER_CORE.find((s) => s > perCore);
    next = step !== undefined ? step * n : Math.ceil(currentMB * LADDER_TOP_MULTIPLIER);
  }
  return task.maxMemoryMB ? Math.min(next, task.maxMemoryMB) : next;
}

/** Decides whether a failed job is retried. `errorCode` is the pilot's error code (0 or absent if none). */
export function decideRetry(job: FailedJob, task: RetryTask, errorCode: number | undefined, diag: string | undefined): RetryAction {
  if (job.killed) return { action: 'none', reason: 'killed by operator' };
  if (errorCode !== undefined && NEVER_RETRY_CODES.has(errorCode)) {
    return { action: 'none', reason: `error code ${errorCode} is never retried` };
  }
  if (job.attemptNr >= task.maxAttempts) {
    return { action: 'none', reason: `attempt ${job.attemptNr} of ${task.maxAttempts} used` };
  }
  const why = errorCode ? `error ${errorCode}${diag ? `: ${diag.slice(0, 80)}` : ''}` : 'failed';
  if (errorCode !== undefined && MEMORY_CODES.has(errorCode)) {
    const next = boostedMemory(job.minRamCount, job.cores, task);
    if (next <= job.minRamCount) {
      return { action: 'none', reason: `out of memory at ${job.minRamCount} MB, already the task maximum (${task.maxMemoryMB ?? job.minRamCount} MB)` };
    }
    return {
      action: 'retry',
      attemptNr: job.attemptNr + 1,
      minRamCount: next,
      memoryBoosted: true,
      reason: `retry with more memory (${job.minRamCount} → ${next} MB) after ${why}`,
    };
  }
  return { action: 'retry', attemptNr: job.attemptNr + 1, minRamCount: job.minRamCount, memoryBoosted: false, reason: `retry after ${why}` };
}
