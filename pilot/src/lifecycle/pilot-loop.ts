/**
 * The multi-job loop: each slot asks for a job, runs it, and asks again,
 * until the server has had nothing for `getjobWaitSec`, `maxJobs` ran, the
 * server said softkill, or the pilot is stopped.
 */
import { ErrorCode, type JobRequest } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { backoffDelay, isRetryable, pause, withJitter } from '../retry/index.js';
import type { JobContext } from './job-context.js';
import { runJob, type JobOutcome } from './job-runner.js';

export interface PilotLoopOptions {
  request: JobRequest;
  /** Stop after this many jobs (0 = no limit). */
  maxJobs: number;
  /** Keep asking this long after the last job before giving up (seconds). */
  getjobWaitSec: number;
  /** Seconds between getJob attempts when the server has no job. */
  pollSec: number;
  slots: number;
}

export interface PilotLoopResult {
  outcomes: JobOutcome[];
  /** getJob calls that got no reply at all, and whether the server was never reached. */
  communicationFailures: number;
  neverReached: boolean;
  stoppedBy: 'no-jobs' | 'max-jobs' | 'softkill' | 'signal';
}

export async function runPilotLoop(ctx: JobContext & { softkill: AbortSignal }, opts: PilotLoopOptions): Promise<PilotLoopResult> {
  const sleep = ctx.sleep ?? pause;
  const outcomes: JobOutcome[] = [];
  let claimed = 0;
  let reached = false;
  let communicationFailures = 0;
  let stoppedBy: PilotLoopResult['stoppedBy'] = 'no-jobs';
  // One slot's fatal error (credentials refused, disk full) stops every slot from asking; running jobs finish.
  const fatal = new AbortController();
  const stopAsking = AbortSignal.any([ctx.pilotSignal, ctx.softkill, fatal.signal]);

  const slot = async (index: number): Promise<void> => {
    let idleSince = Date.now();
    let failures = 0;
    while (!stopAsking.aborted) {
      if (opts.maxJobs > 0 && claimed >= opts.maxJobs) {
        stoppedBy = 'max-jobs';
        return;
      }
      claimed += 1; // claim before asking, so two slots never overshoot maxJobs
      let raw: Record<string, unknown> | null = null;
      try {
        raw = await ctx.server.getJob(opts.request, { signal: stopAsking });
        reached = true;
        failures = 0;
      } catch (err) {
        claimed -= 1;
        if (stopAsking.aborted) break;
        if (!isRetryable(err)) throw PilotError.from(err, ErrorCode.COMMUNICATIONFAILURE);
        failures += 1;
        communicationFailures += 1;
        ctx.log.warn({ event: 'getjob_failed', slot: index, attempt: failures, err: (err as Error).message }, 'getJob failed');
        if ((Date.now() - idleSince) / 1000 >= opts.getjobWaitSec) return;
        await sleep(backoffDelay(failures, { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.5 }), stopAsking).catch(() => undefined);
        continue;
      }
      if (!raw) {
        claimed -= 1;
        if ((Date.now() - idleSince) / 1000 >= opts.getjobWaitSec) return;
        await sleep(withJitter(opts.pollSec * 1000, 0.2), stopAsking).catch(() => undefined);
        continue;
      }
      outcomes.push(await runJob(ctx, raw));
      idleSince = Date.now();
    }
  };

  const guarded = async (index: number): Promise<void> => {
    try {
      await slot(index);
    } catch (err) {
      if (!fatal.signal.aborted) {
        ctx.log.error({ event: 'slot_fatal', slot: index, err: (err as Error).message }, 'fatal error: no slot takes new jobs; running jobs finish');
        fatal.abort(err);
      }
    }
  };
  // Every slot ends before this returns, so the caller's signal handlers and lifetime timer outlive them all.
  await Promise.all(Array.from({ length: Math.max(1, opts.slots) }, (_, i) => guarded(i)));
  if (fatal.signal.aborted) throw fatal.signal.reason;
  if (ctx.pilotSignal.aborted) stoppedBy = 'signal';
  else if (ctx.softkill.aborted) stoppedBy = 'softkill';
  return { outcomes, communicationFailures, neverReached: !reached, stoppedBy };
}
