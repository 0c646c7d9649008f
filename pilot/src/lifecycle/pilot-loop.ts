/**
 * The multi-job loop: each slot asks for a job, runs it, and asks again,
 * until the server has had nothing for `getjobWaitSec`, `maxJobs` ran, the
 * server said softkill, the ask rules say stop (drain, time, timefloor,
 * -v/-x), or the pilot is stopped.
 *
 * Slots share the allocation (ResourcePool): a slot asks only for the memory
 * still free, and a job runs once its cores and memory fit. Dispatch is
 * pipelined: a slot asks for its next job as soon as its payload ended,
 * while the previous job still reports (final update, log).
 */
import { existsSync } from 'node:fs';
import { ErrorCode, type JobRequest } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { backoffDelay, isRetryable, pause, withJitter } from '../retry/index.js';
import { classifyRefusal, CredentialsRefusedError } from '../server/index.js';
import type { JobContext } from './job-context.js';
import { askVerdict, type AskVerdict } from './ask-rules.js';
import { runJob, type JobOutcome } from './job-runner.js';
import { ResourcePool, type Need } from './resource-pool.js';

export interface PilotLoopOptions {
  /** The getJob request, made anew for every call (remainingTime is of that moment). */
  request: () => JobRequest;
  /** Stop after this many jobs (0 = no limit). */
  maxJobs: number;
  /** Keep asking this long after the last job before giving up (seconds). */
  getjobWaitSec: number;
  /** First pause after an empty reply (seconds); it doubles with each empty reply in a row. */
  pollSec: number;
  /** Cap of that pause (seconds). */
  pollMaxSec: number;
  slots: number;
  /** The allocation the slots share; unlimited when absent. */
  pool?: ResourcePool | undefined;
  /** When the pilot must be done (ms since epoch). */
  endsAtMs: number;
  /** The longest a job may need (s; the queue's maxtime or job walltime limit), null when unknown. */
  jobNeedsSec: number | null;
  timefloorSec: number;
  /** A file whose existence stops the pilot taking jobs. */
  drainFile: string | null;
  /** pilot3's -v / -x: getJob request and failure limits (0: none). */
  maxGetJobRequests: number;
  maxGetJobFailures: number;
  /** Benchmark baseline: ask for the next job only after the previous one reported. */
  noPipeline?: boolean | undefined;
}

export type StopReason = 'no-jobs' | 'max-jobs' | 'softkill' | 'signal' | 'drain' | 'time-short' | 'timefloor' | 'getjob-limit';

export interface PilotLoopResult {
  outcomes: JobOutcome[];
  /** getJob calls that got no reply at all, and whether the server was never reached. */
  communicationFailures: number;
  neverReached: boolean;
  stoppedBy: StopReason;
}

/** A job's reservation: its cores and memory as the description gives them (unparsable → 1 core, 0 MB; runJob refuses it). */
function needOf(raw: Record<string, unknown>): Need {
  const int = (v: unknown, d: number) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? Math.floor(Number(v)) : d);
  return { cores: Math.max(1, int(raw.coreCount, 1)), memMB: int(raw.minRamCount, 0) };
}

export async function runPilotLoop(ctx: JobContext & { softkill: AbortSignal }, opts: PilotLoopOptions): Promise<PilotLoopResult> {
  const sleep = ctx.sleep ?? pause;
  const pool = opts.pool ?? new ResourcePool({ cores: null, memMB: null });
  const startedAt = Date.now();
  const outcomes: JobOutcome[] = [];
  let claimed = 0;
  let reached = false;
  let requests = 0;
  let communicationFailures = 0;
  let stoppedBy: StopReason = 'no-jobs';
  // One slot's fatal error (credentials refused, disk full) stops every slot from asking; running jobs finish.
  const fatal = new AbortController();
  // The ask rules (drain, time) stop every slot at once, not just the one that looked.
  const ruled = new AbortController();
  const stopAsking = AbortSignal.any([ctx.pilotSignal, ctx.softkill, fatal.signal, ruled.signal]);

  const verdict = (): AskVerdict =>
    askVerdict({
      nowMs: Date.now(),
      startedAtMs: startedAt,
      endsAtMs: opts.endsAtMs,
      jobNeedsSec: opts.jobNeedsSec,
      timefloorSec: opts.timefloorSec,
      jobsTaken: claimed,
      drainRequested: opts.drainFile !== null && existsSync(opts.drainFile),
      requests,
      maxRequests: opts.maxGetJobRequests,
      failures: communicationFailures,
      maxFailures: opts.maxGetJobFailures,
    });

  const slot = async (index: number): Promise<void> => {
    let idleSince = Date.now();
    let failures = 0;
    let empties = 0;
    // The previous job of this slot, still reporting while the next one is asked for.
    let reporting: Promise<void> = Promise.resolve();
    try {
      while (!stopAsking.aborted) {
        if (opts.maxJobs > 0 && claimed >= opts.maxJobs) {
          stoppedBy = 'max-jobs';
          return;
        }
        const v = verdict();
        if (!v.ask) {
          if (!ruled.signal.aborted) {
            stoppedBy = v.reason;
            ctx.log.info({ event: 'stop_asking', reason: v.reason, detail: v.detail }, `no more jobs: ${v.detail}`);
            ruled.abort();
          }
          return;
        }
        // Nothing free (other slots' jobs hold it all): wait for one to end rather than ask for what cannot run.
        if (!pool.canAsk()) {
          await pool.changedOr(stopAsking);
          continue;
        }
        claimed += 1; // claim before asking, so two slots never overshoot maxJobs
        let raw: Record<string, unknown> | null = null;
        const free = pool.free();
        const base = opts.request();
        const mem = Number.isFinite(free.memMB) ? Math.min(base.mem ?? Infinity, free.memMB) : base.mem;
        try {
          requests += 1;
          raw = await ctx.server.getJob({ ...base, mem }, { signal: stopAsking });
          reached = true;
          failures = 0;
        } catch (err) {
          claimed -= 1;
          if (stopAsking.aborted) break;
          if (!isRetryable(err)) {
            // Refused credentials are not an unreachable server: their own code and exit, naming what is missing.
            const refusal = classifyRefusal(err, ctx.server.dialect);
            if (refusal?.kind === 'credentials') throw new CredentialsRefusedError(refusal.diagnostic);
            throw PilotError.from(err, ErrorCode.COMMUNICATIONFAILURE);
          }
          failures += 1;
          communicationFailures += 1;
          ctx.log.warn({ event: 'getjob_failed', slot: index, attempt: failures, err: (err as Error).message }, 'getJob failed');
          if ((Date.now() - idleSince) / 1000 >= opts.getjobWaitSec) return;
          await sleep(backoffDelay(failures, { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.5 }), stopAsking);
          continue;
        }
        if (!raw) {
          claimed -= 1;
          if ((Date.now() - idleSince) / 1000 >= opts.getjobWaitSec) return;
          // Idle: back off between empty replies (the central services carry thousands of pilots).
          empties += 1;
          const delay = Math.min(opts.pollMaxSec * 1000, opts.pollSec * 1000 * 2 ** (empties - 1));
          await sleep(withJitter(delay, 0.2), stopAsking);
          continue;
        }
        empties = 0;
        const need = needOf(raw);
        // Sent to us: it runs once it fits (running jobs end), or alone when it can never fit; never dropped.
        const reservation = await pool.reserve(need, ctx.pilotSignal);
        if (reservation?.over)
          ctx.log.warn(
            { event: 'job_over_allocation', cores: need.cores, memMB: need.memMB, total: pool.total },
            'job is larger than the allocation; running it alone',
          );
        let released = false;
        const release = () => {
          if (!released && reservation) pool.release(reservation);
          released = true;
        };
        let payloadEnded!: () => void;
        const ended = new Promise<void>((r) => (payloadEnded = r));
        await reporting; // at most one job of this slot reports while the next runs
        const job = runJob(ctx, raw, {
          onPayloadEnded: () => {
            release();
            payloadEnded();
          },
        })
          .then((o) => void outcomes.push(o))
          .finally(release);
        if (opts.noPipeline) await job;
        else await Promise.race([job, ended]);
        reporting = job;
        idleSince = Date.now();
      }
    } finally {
      await reporting;
    }
  };

  // A slot in a long idle pause must still see the drain file soon.
  const drainWatch = setInterval(() => {
    if (opts.drainFile !== null && !ruled.signal.aborted && existsSync(opts.drainFile)) {
      stoppedBy = 'drain';
      ctx.log.info({ event: 'stop_asking', reason: 'drain', detail: opts.drainFile }, 'drain file present: no more jobs');
      ruled.abort();
    }
  }, 1_000);
  drainWatch.unref();

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
  clearInterval(drainWatch);
  if (fatal.signal.aborted) throw fatal.signal.reason;
  if (ctx.pilotSignal.aborted) stoppedBy = 'signal';
  else if (ctx.softkill.aborted) stoppedBy = 'softkill';
  return { outcomes, communicationFailures, neverReached: !reached, stoppedBy };
}
