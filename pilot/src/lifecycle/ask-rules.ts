/**
 * Whether a free slot may ask the server for another job: facts in, verdict
 * out (drain file, time left against what a job may need, queue timefloor,
 * pilot3's -v/-x request and failure limits).
 */
export interface AskFacts {
  nowMs: number;
  startedAtMs: number;
  /** When the pilot must be done (lifetime, or the batch job's end). */
  endsAtMs: number;
  /** The longest a job may need (its walltime, else the queue's maxtime), seconds; null when unknown. */
  jobNeedsSec: number | null;
  /** Queue timefloor, seconds (0: none). */
  timefloorSec: number;
  /** Jobs this pilot has taken so far. */
  jobsTaken: number;
  drainRequested: boolean;
  /** getJob requests made / failed so far, and pilot3's -v/-x limits (0: none). */
  requests: number;
  maxRequests: number;
  failures: number;
  maxFailures: number;
}

export type AskVerdict = { ask: true } | { ask: false; reason: 'drain' | 'time-short' | 'timefloor' | 'getjob-limit'; detail: string };

export function askVerdict(f: AskFacts): AskVerdict {
  if (f.drainRequested) return { ask: false, reason: 'drain', detail: 'drain file present: no more jobs' };
  if (f.maxRequests > 0 && f.requests >= f.maxRequests)
    return { ask: false, reason: 'getjob-limit', detail: `${f.requests} getJob requests made (-v ${f.maxRequests})` };
  if (f.maxFailures > 0 && f.failures >= f.maxFailures)
    return { ask: false, reason: 'getjob-limit', detail: `${f.failures} getJob requests failed (-x ${f.maxFailures})` };
  const leftSec = (f.endsAtMs - f.nowMs) / 1000;
  if (leftSec <= 0) return { ask: false, reason: 'time-short', detail: 'no time left' };
  if (f.jobNeedsSec !== null && leftSec < f.jobNeedsSec) {
    return { ask: false, reason: 'time-short', detail: `${Math.floor(leftSec)} s left, a job may need ${f.jobNeedsSec} s` };
  }
  // pilot3: after the first job, take more only while fewer than timefloor minutes have passed.
  if (f.timefloorSec > 0 && f.jobsTaken > 0 && (f.nowMs - f.startedAtMs) / 1000 >= f.timefloorSec) {
    return { ask: false, reason: 'timefloor', detail: `timefloor of ${f.timefloorSec / 60} min passed` };
  }
  return { ask: true };
}
