/**
 * Whether a finally failed job gets another attempt. A function of the job,
 * its task and the failure, so later rules (memory boost after 1212/1235)
 * can return a richer action without touching the engine.
 */
import { ErrorCode } from '../../../pilot/src/protocol/index.js';

/** What the retry decision looks at in a failed job. */
export interface FailedJob {
  attemptNr: number;
  minRamCount: number;
  /** True when an operator killed the job. */
  killed: boolean;
}

/** What it looks at in the job's task. */
export interface RetryTask {
  maxAttempts: number;
}

/** The outcome: a new attempt (with the attributes that change), or none and why. */
export type RetryAction =
  | { action: 'retry'; attemptNr: number; minRamCount: number; reason: string }
  | { action: 'none'; reason: string };

/** Codes that mean "do not try again": the failure was a deliberate stop. */
export const NEVER_RETRY_CODES: ReadonlySet<number> = new Set([ErrorCode.PANDAKILL]);

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
  return { action: 'retry', attemptNr: job.attemptNr + 1, minRamCount: job.minRamCount, reason: `retry after ${why}` };
}
