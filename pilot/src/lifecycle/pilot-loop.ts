/**
 * The multi-job loop: each slot asks for a job, runs it, and asks again,
 * until the server has had nothing for `getjobWaitSec`, `maxJobs` ran, the
 * server said softkill, the ask rules say stop (drain, time, timefloor,
 * -v/-x), or the pilot is stopped.
 *
 * Slots share the allocation (ResourcePool): a slot asks only for the memory
 * still free, and a job runs once its cores and memory fit. Dispatch is
 * pipelined: a slot asks for its next job as soon as its payload ended (or
 * its event-service job took its last range: what its ranges no longer use
 * is free), and runs it while the previous job still reports (final update,
 * log) or runs its last ranges; at most one job of a slot reports while its
 * next one runs.
 *
 * One function per step: `runPilotLoop` (start the slots, end with the stop
 * reason) → `runSlot` (one slot's loop) → `stopDecision` (ask or stop),
 * `acquireJob` (one getJob and what its answer means), `idlePause` (how long
 * to wait after nothing came), `startJob` (reserve the job's share, run it).
 */
import { existsSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ErrorCode, type JobRequest } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { backoffDelay, isRetryable, pause, withJitter, type Sleep } from '../retry/index.js';
import { classifyRefusal, CredentialsRefusedError } from '../server/index.js';
import type { JobContext } from './job-context.js';
import { askVerdict } from './ask-rules.js';
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

/**
 * How the jobs ended, as counts: a pilot lives for days and takes thousands of jobs, and only
 * `pilot_end`'s summary reads them, so no outcome is kept after it was counted.
 */
export interface JobTally {
  jobs: number;
  finished: number;
  /** The server never acknowledged the job's final update (it is kept on disk for recovery). */
  unacknowledged: number;
}

export interface PilotLoopResult {
  tally: JobTally;
  /** getJob calls that got no reply at all, and whether the server was never reached. */
  communicationFailures: number;
  neverReached: boolean;
  stoppedBy: StopReason;
}

type LoopContext = JobContext & { softkill: AbortSignal };

/** What the slots share: the counters the rules read, the signals that stop asking, the jobs' tally. */
class LoopState {
  readonly startedAt = Date.now();
  readonly tally: JobTally = { jobs: 0, finished: 0, unacknowledged: 0 };
  count(o: JobOutcome): void {
    this.tally.jobs++;
    if (o.state === 'finished') this.tally.finished++;
    if (!o.acknowledged) this.tally.unacknowledged++;
  }
  /** Jobs taken or being asked for (claimed before asking, so two slots never overshoot maxJobs). */
  claimed = 0;
  reached = false;
  requests = 0;
  communicationFailures = 0;
  stoppedBy: StopReason = 'no-jobs';
  /** One slot's fatal error (credentials refused, disk full) stops every slot from asking; running jobs finish. */
  readonly fatal = new AbortController();
  /** The ask rules (drain, time) stop every slot at once, not just the one that looked. */
  readonly ruled = new AbortController();
  readonly stopAsking: AbortSignal;
  readonly pool: ResourcePool;
  readonly sleep: Sleep;

  constructor(
    readonly ctx: LoopContext,
    readonly opts: PilotLoopOptions,
  ) {
    this.stopAsking = AbortSignal.any([ctx.pilotSignal, ctx.softkill, this.fatal.signal, this.ruled.signal]);
    this.pool = opts.pool ?? new ResourcePool({ cores: null, memMB: null });
    this.sleep = ctx.sleep ?? pause;
  }

  /** The rules said stop: every slot stops asking; said once, by the first slot that saw it. */
  stopByRule(reason: StopReason, detail: string): void {
    if (this.ruled.signal.aborted) return;
    this.stoppedBy = reason;
    this.ctx.log.info({ event: 'stop_asking', reason, detail }, `no more jobs: ${detail}`);
    this.ruled.abort();
  }
}

/** Whether a free slot asks again, or why not (max jobs, then the ask rules). */
// The previous job may report now; one reason for all (abort() without one builds a DOMException each time).
const LET_REPORT = new Error('the next payload started');

function stopDecision(s: LoopState): { ask: true } | { ask: false; reason: StopReason; detail: string } {
  const o = s.opts;
  if (o.maxJobs > 0 && s.claimed >= o.maxJobs) return { ask: false, reason: 'max-jobs', detail: `${o.maxJobs} jobs taken` };
  return askVerdict({
    nowMs: Date.now(),
    startedAtMs: s.startedAt,
    endsAtMs: o.endsAtMs,
    jobNeedsSec: o.jobNeedsSec,
    timefloorSec: o.timefloorSec,
    jobsTaken: s.claimed,
    drainRequested: o.drainFile !== null && existsSync(o.drainFile),
    requests: s.requests,
    maxRequests: o.maxGetJobRequests,
    failures: s.communicationFailures,
    maxFailures: o.maxGetJobFailures,
  });
}

/** A job's reservation: its cores and memory as the description gives them (unparsable → 1 core, 0 MB; runJob refuses it). */
function needOf(raw: Record<string, unknown>): Need {
  const int = (v: unknown, d: number) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? Math.floor(Number(v)) : d);
  return { cores: Math.max(1, int(raw.coreCount, 1)), memMB: int(raw.minRamCount, 0) };
}

type Acquired = { kind: 'job'; raw: Record<string, unknown> } | { kind: 'empty' } | { kind: 'failed' } | { kind: 'stopped' };

/**
 * One getJob for what is free now. A retryable failure or an empty reply
 * comes back as such (the caller pauses); refused credentials and other
 * fatal errors are thrown with their own code.
 */
async function acquireJob(s: LoopState, slot: number): Promise<Acquired> {
  const { ctx, opts, pool } = s;
  s.claimed += 1;
  const free = pool.free();
  const base = opts.request();
  // A pipelined ask happens once the previous payload ended and gave its share back: only what is free is asked for.
  const mem = Number.isFinite(free.memMB) ? Math.min(base.mem ?? Infinity, free.memMB) : base.mem;
  let raw: Record<string, unknown> | null;
  ctx.log.debug({ event: 'getjob', slot, mem: mem ?? null, freeCores: Number.isFinite(free.cores) ? free.cores : null }, 'asking for a job');
  try {
    s.requests += 1;
    // Only a signal cuts an ask short. A sibling's fatal error, a rule (drain, time) or a softkill stop the
    // next ask, not this one: its reply may carry a job the server has already marked sent to this pilot,
    // which must run and report rather than be lost until the server's watchdog finds it.
    raw = await ctx.server.getJob({ ...base, mem }, { signal: ctx.pilotSignal });
    s.reached = true;
  } catch (err) {
    s.claimed -= 1;
    if (s.stopAsking.aborted) return { kind: 'stopped' };
    if (!isRetryable(err)) {
      // Refused credentials are not an unreachable server: their own code and exit, naming what is missing.
      const refusal = classifyRefusal(err, ctx.server.dialect);
      if (refusal?.kind === 'credentials') throw new CredentialsRefusedError(refusal.diagnostic);
      throw PilotError.from(err, ErrorCode.COMMUNICATIONFAILURE);
    }
    s.communicationFailures += 1;
    ctx.log.warn({ event: 'getjob_failed', slot, err: (err as Error).message }, 'getJob failed');
    return { kind: 'failed' };
  }
  if (raw) return { kind: 'job', raw };
  s.claimed -= 1;
  return { kind: 'empty' };
}

/** The pause after `n` failed (backoff with jitter) or empty (doubling poll, capped) replies in a row. */
export function idlePause(kind: 'failed' | 'empty', n: number, opts: Pick<PilotLoopOptions, 'pollSec' | 'pollMaxSec'>): number {
  if (kind === 'failed') return backoffDelay(n, { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.5 });
  // Idle: the central services carry thousands of pilots.
  return withJitter(Math.min(opts.pollMaxSec * 1000, opts.pollSec * 1000 * 2 ** (n - 1)), 0.2);
}

/**
 * The longest a job's reporting waits for its slot's next payload to start
 * (ms). Reporting (tarball, gzip, final update) is CPU and server time the
 * next dispatch would otherwise queue behind; the bound keeps a final from
 * waiting on a slow getJob or a job that waits for room.
 */
export const REPORT_GATE_MS = 250;

/**
 * A job this slot started: when its payload ended (its share is free again: the slot may ask),
 * when its final is on disk (the slot's next payload may start), when it reported (final update
 * acknowledged or kept), when it is done (its job dir removed too), and how to let it report now.
 */
interface StartedJob {
  payloadEnded: Promise<void>;
  settled: Promise<void>;
  reported: Promise<void>;
  done: Promise<void>;
  letReport: () => void;
}

/**
 * Reserves the job's cores and memory (it waits for running jobs to free
 * room, or runs alone when it can never fit: the server sent it to us, it is
 * never dropped), then runs it. The share is given back the moment its
 * payload ends, so a pipelined ask sees it free. `onStarted` is told when
 * its payload started (or it ended without one).
 */
async function startJob(s: LoopState, raw: Record<string, unknown>, onStarted: () => void): Promise<StartedJob> {
  const { ctx, pool } = s;
  const need = needOf(raw);
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
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));
  let reportDone!: () => void;
  const reported = new Promise<void>((r) => (reportDone = r));
  // Told once, then let go: `onStarted` is the previous job's letReport, whose scope holds its own
  // onStarted, and so on; kept, every job of the pilot's life stayed reachable from the running one
  // (bench/pilot-long-life: the live heap grew ~9 KB a job).
  let notify: (() => void) | null = onStarted;
  const started = () => {
    const f = notify;
    notify = null;
    f?.();
  };
  const gate = new AbortController();
  const letReport = () => gate.abort(LET_REPORT);
  // Serial dispatch (the benchmark's baseline) waits for the report itself: nothing to let go first.
  if (s.opts.noPipeline) letReport();
  const done = runJob(ctx, raw, {
    onPayloadStarted: started,
    // An event-service job's last ranges run: what they leave idle goes to the next job, asked for now.
    onTail: (busyShare) => {
      if (reservation && !released) pool.holdOnly(reservation, busyShare);
      payloadEnded();
      settle(); // its last ranges run beside the next job, as they always did
    },
    onPayloadExited: () => {
      release();
      payloadEnded();
    },
    onPayloadEnded: async () => {
      release();
      payloadEnded();
      settle();
      // The next payload of this slot starts first; a stopping pilot reports at once.
      await pause(REPORT_GATE_MS, [gate.signal, ctx.pilotSignal]);
      // And its first update leaves first: node writes a request once the microtasks ran, and the
      // report (tarball, stage-out, final) is one long stretch of them that would hold its
      // `starting` 2-5 ms (and so its `running`, sent on that answer, into the slot's next idle).
      await nextTurn();
    },
    onReported: reportDone,
  })
    .then((o) => s.count(o))
    .finally(() => {
      release();
      started(); // a job that failed before its payload must not hold the previous one's report
      payloadEnded(); // nor its slot
      settle();
      reportDone();
    });
  return { payloadEnded: ended, settled, reported, done, letReport };
}

/** One slot: ask, run, ask again as soon as the payload ended, until a rule, the server or a stop says no more. */
async function runSlot(s: LoopState, index: number): Promise<void> {
  const { opts, pool } = s;
  let idleSince = Date.now();
  let failures = 0;
  let empties = 0;
  // The slot's last job (its payload ended; it reports once the next payload started) and the one before it.
  let last: Promise<void> = Promise.resolve();
  let older: Promise<void> = Promise.resolve();
  // When those two and the one before them are done (job dir removed): a dir's removal may run beside the next start.
  let lastDone: Promise<void> = Promise.resolve();
  let olderDone: Promise<void> = Promise.resolve();
  let oldestDone: Promise<void> = Promise.resolve();
  // The last job's final is on disk: its payload ended before the slot asked again, its final is written meanwhile.
  let lastSettled: Promise<void> = Promise.resolve();
  let letLastReport: () => void = () => undefined;
  try {
    while (!s.stopAsking.aborted) {
      const decision = stopDecision(s);
      if (!decision.ask) {
        if (decision.reason === 'max-jobs') s.stoppedBy = 'max-jobs';
        else s.stopByRule(decision.reason, decision.detail);
        return;
      }
      // Nothing free (other slots' jobs hold it all): wait for one to end rather than ask for what cannot run.
      if (!pool.canAsk()) {
        letLastReport();
        await pool.changedOr(s.stopAsking);
        continue;
      }
      const got = await acquireJob(s, index);
      switch (got.kind) {
        case 'stopped':
          return;
        case 'failed':
        case 'empty': {
          letLastReport(); // no next payload soon: the last job reports now
          // A reply, even an empty one, ends a run of failures.
          if (got.kind === 'failed') failures += 1;
          else [failures, empties] = [0, empties + 1];
          if ((Date.now() - idleSince) / 1000 >= opts.getjobWaitSec) return;
          await s.sleep(idlePause(got.kind, got.kind === 'failed' ? failures : empties, opts), s.stopAsking);
          continue;
        }
        case 'job':
          break;
      }
      failures = 0;
      empties = 0;
      // At most one job of this slot reports while the next runs: the one before the last reported first
      // (its job dir may still be being removed; the one before it is gone). The last one's final is on
      // disk before the next payload starts.
      await Promise.all([older, lastSettled, oldestDone]);
      const job = await startJob(s, got.raw, letLastReport);
      if (opts.noPipeline) await job.done;
      else await job.payloadEnded;
      older = last;
      last = job.reported;
      [oldestDone, olderDone, lastDone] = [olderDone, lastDone, job.done];
      lastSettled = job.settled;
      letLastReport = job.letReport;
      idleSince = Date.now();
    }
  } finally {
    letLastReport();
    await Promise.all([oldestDone, olderDone, lastDone]);
  }
}

/** Runs every slot; a slot's fatal error stops the others from asking, and is thrown once all have ended. */
export async function runPilotLoop(ctx: LoopContext, opts: PilotLoopOptions): Promise<PilotLoopResult> {
  const s = new LoopState(ctx, opts);
  // A slot in a long idle pause must still see the drain file soon.
  const drainWatch = setInterval(() => {
    if (opts.drainFile !== null && existsSync(opts.drainFile)) s.stopByRule('drain', 'drain file present: no more jobs');
  }, 1_000);
  drainWatch.unref();
  const guarded = async (index: number): Promise<void> => {
    try {
      await runSlot(s, index);
    } catch (err) {
      if (!s.fatal.signal.aborted) {
        ctx.log.error({ event: 'slot_fatal', slot: index, err: (err as Error).message }, 'fatal error: no slot takes new jobs; running jobs finish');
        s.fatal.abort(err);
      }
    }
  };
  try {
    // Every slot ends before this returns, so the caller's signal handlers and lifetime timer outlive them all.
    await Promise.all(Array.from({ length: Math.max(1, opts.slots) }, (_, i) => guarded(i)));
  } finally {
    clearInterval(drainWatch);
  }
  if (s.fatal.signal.aborted) throw s.fatal.signal.reason;
  return { tally: { ...s.tally }, communicationFailures: s.communicationFailures, neverReached: !s.reached, stoppedBy: finalStopReason(s) };
}

/** Why the loop ended: a signal or softkill wins over what the slots saw last. */
function finalStopReason(s: LoopState): StopReason {
  if (s.ctx.pilotSignal.aborted) return 'signal';
  if (s.ctx.softkill.aborted) return 'softkill';
  return s.stoppedBy;
}
