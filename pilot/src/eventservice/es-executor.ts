/**
 * The event-service executor for one job, as four steps: fetch (ranges
 * ahead of need), run (up to `cores` at a time), report (ordered, coalesced
 * bulk reports; the undelivered kept on disk) and outcome (the job's verdict
 * from what its ranges did). In more words: it fetches ranges ahead of need,
 * runs up to `cores` at a time (each in its own directory and process group,
 * under its own watchdog), reports each range in ordered, coalesced bulk
 * reports, merges range output into the job's `payload.stdout/.stderr`, and
 * honours `softkill` (finish what runs, take no more) and a stop (server
 * kill or pilot signal: every range's process group stops now). The job
 * ends with the ranges it got: a failed range is not waited for to come
 * back (real servers give its retry to another job). Reports the server
 * never answered are handed to `keepReports` (on disk, for recovery).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import type { JobDescription } from '../job/index.js';
import type { PayloadVerdict } from '../payload/index.js';
import { pause, Wakeup, type BackoffOptions, type Cutoff, type Sleep } from '../retry/index.js';
import type { EventRangesApi, RangeReport } from '../protocol/index.js';
import type { EventRange } from './event-range.js';
import { decideEsOutcome, type EsFacts } from './es-outcome.js';
import { batchSize, RangeFetcher } from './range-fetcher.js';
import { RangeReporter, type ReportFate } from './range-reporter.js';
import { notStarted, runRange, type RangeResult, type RangeSupervisor } from './range-runner.js';
import { findMapSources, loadRubinEsMap, rangeCommand, type RubinEsMap } from './rubin-map.js';
import { appendWorkerLog } from './worker-log.js';

/** Site/pilot settings of the event service (CLI flags). */
export interface EsSettings {
  /** Ranges side by side; default RUBIN_ES_CORES, else the job's coreCount. */
  cores?: number | undefined;
  /** Exit codes reported as fatal (never retried). */
  fatalExitCodes: readonly number[];
  /** Per-range looping limit (s); 0 = off. */
  loopingLimitSec: number;
  /** Longest a range report waits to be batched with others (ms). */
  reportDelayMs: number;
  /** Tries per range-report batch before its reports are kept on disk instead. */
  reportAttempts: number;
  /** Multiplier on a range's share of the job's memory: the range's memory (its cgroup's limit). */
  rssGrace: number;
}

export const DEFAULT_ES_SETTINGS: EsSettings = { fatalExitCodes: [65], loopingLimitSec: 7200, reportDelayMs: 2000, reportAttempts: 5, rssGrace: 2 };

/**
 * A range's memory (MB): its share of the job's memory (minRamCount split
 * over the ranges running side by side) times a grace factor, since a
 * quantum's peak may exceed its average share. 0 when the job set none.
 */
export function rangeMemoryMB(jobMemoryMB: number, concurrency: number, grace = 2): number {
  if (jobMemoryMB <= 0) return 0;
  return Math.round((jobMemoryMB / Math.max(1, concurrency)) * grace);
}

/** Makes the supervisor of one range: the pilot's one payload supervisor, with the range's memory and looping limit. */
export type SuperviseRange = (range: EventRange, memoryMB: number, loopingLimitSec: number | null) => RangeSupervisor;

/** Where the executor records the job's peak use, read by the job's heartbeats. */
export interface PeakSink {
  maxRssKb: number;
  maxVmemKb: number;
  cpuSec: number;
}

export interface EsRunInput {
  job: JobDescription;
  jobDir: string;
  /** The job's command line (decoded jobPars), the template every range is made from. */
  command: string;
  /** The payload environment of the job; each range adds its own variables. */
  env: NodeJS.ProcessEnv;
  server: EventRangesApi;
  log: Logger;
  settings: EsSettings;
  /** A range payload's SIGTERM → SIGKILL grace, read when its stop comes (it shrinks once the pilot is stopping). */
  killGraceMs: () => number;
  /** Where each range's process group is recorded while it lives (pilot home `payloads/`). */
  recordDir?: string | undefined;
  /** Aborted with a PilotError when every range must stop now. */
  stop: AbortSignal;
  /** Aborted on the pilot's second signal: running ranges are killed without their grace. */
  kill: AbortSignal;
  /** Aborted when the server said softkill. */
  softkill: AbortSignal;
  /** Supervises each range as a payload of its own (cgroup, watchdogs, time series, leftovers). */
  supervise: SuperviseRange;
  /** The stopping pilot's one cut-off: once armed, range reports get half of what is left, no more retries. */
  cutoff: Cutoff;
  /** Keeps final range reports the server never answered (on disk, for recovery); returns where. */
  keepReports: (reports: RangeReport[], error: string) => string;
  /** Commands from range report replies (tobekilled, softkill, …). */
  onCommand: (command: string) => void;
  peak: PeakSink;
  /**
   * Told once the job took its last range (none will start again), with the
   * share (0..1) of its ranges' places still busy, and again as each of the
   * ranges still running ends: the pilot may ask for its next job now and
   * give what is idle to it (pipelined dispatch).
   */
  onTail: (busyShare: number) => void;
  /** How long reports are retried at the end (ms). */
  reportDeadlineMs: number;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
}

export interface EsRunResult {
  verdict: PayloadVerdict;
  ranges: number;
  requests: { getEventRanges: number; updateEventRanges: number };
}

/** Ranges side by side: --es-cores, then RUBIN_ES_CORES, then the job's coreCount. */
export function esConcurrency(settings: EsSettings, env: NodeJS.ProcessEnv, coreCount: number): number {
  const fromEnv = Number(env.RUBIN_ES_CORES);
  const n = settings.cores ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : coreCount);
  return Math.max(1, Math.floor(n));
}

/** What the steps of one event-service job share. */
interface EsRun {
  input: EsRunInput;
  cores: number;
  fetcher: RangeFetcher;
  reporter: RangeReporter;
  /** What became of each range's final report. */
  fates: Map<string, ReportFate>;
  /** Woken when ranges arrive or run out, a stop comes, or a range ends. */
  wakeup: Wakeup;
  results: RangeResult[];
  /** The longest range so far (s): sizes the next fetch. */
  longestSec: number | null;
}

export async function runEventService(input: EsRunInput): Promise<EsRunResult> {
  const run = openRun(input);
  // The pilot is stopping: reports get half of what is left of the cut-off (the final update the rest);
  // a second signal (the cut-off tightened) shortens that again.
  const onHurry = () => run.reporter.hurry(input.cutoff.leftMs() / 2);
  if (input.cutoff.armed.aborted) onHurry();
  else input.cutoff.armed.addEventListener('abort', onHurry, { once: true });
  input.kill.addEventListener('abort', onHurry, { once: true });
  try {
    await runRanges(run, rangeStarter(run));
    await deliverReports(run);
  } finally {
    input.cutoff.armed.removeEventListener('abort', onHurry);
    input.kill.removeEventListener('abort', onHurry);
    run.reporter.close();
  }
  keepUndelivered(run);
  return outcome(run);
}

/** Fetch and report: the job's range fetcher and reporter, wired to its server calls. */
function openRun(input: EsRunInput): EsRun {
  const { job, log, settings } = input;
  const cores = esConcurrency(settings, input.env, job.coreCount);
  const wakeup = new Wakeup();
  const fates = new Map<string, ReportFate>();
  const reporter = new RangeReporter({
    pandaId: job.pandaId,
    send: (reports, signal) => input.server.updateEventRanges(job.pandaId, reports, { signal }),
    log,
    maxBatch: Math.max(10, 2 * cores),
    maxDelayMs: settings.reportDelayMs,
    maxAttempts: settings.reportAttempts,
    onCommand: input.onCommand,
    onFinal: (r, fate) => fates.set(r.eventRangeID, fate),
    sleep: input.sleep,
    backoff: input.backoff,
  });
  const fetcher = new RangeFetcher({
    fetch: (n, signal) =>
      input.server.getEventRanges({ pandaId: job.pandaId, jobsetId: job.jobsetId ?? 0, taskId: job.taskId ?? undefined, nRanges: n }, { signal }),
    log,
    onChange: () => wakeup.wake(),
    signal: AbortSignal.any([input.stop, input.softkill]),
    sleep: input.sleep,
  });
  return { input, cores, fetcher, reporter, fates, wakeup, results: [], longestSec: null };
}

/** Starts one range (by its worker number) and resolves with its result; never rejects. */
type StartRange = (range: EventRange, worker: number, onRss: (rssKb: number) => void) => Promise<RangeResult>;

/** Run: how one range is started — its command mapped from the job's, its environment, its supervisor. */
function rangeStarter(run: EsRun): StartRange {
  const { input } = run;
  const { job, settings } = input;
  let map: RubinEsMap | null = null;
  let mapError: string | null = null;
  try {
    map = loadRubinEsMap(findMapSources(input.command, input.env), (f) => readFileSync(f, 'utf8'));
  } catch (err) {
    mapError = (err as Error).message;
    input.log.error({ event: 'rubin_es_map_error', error: mapError }, 'cannot load the Rubin ES map');
  }
  const memoryMB = rangeMemoryMB(job.minRamCount, run.cores, settings.rssGrace);
  const loopingLimitSec = job.loopingCheck && settings.loopingLimitSec > 0 ? settings.loopingLimitSec : null;
  const fatalExitCodes = new Set(settings.fatalExitCodes);
  return (range, worker, onRss) => {
    const dir = path.join(input.jobDir, range.eventRangeID);
    const mapped = mapError ? ({ ok: false, error: mapError } as const) : rangeCommand(input.command, range, map);
    // The command cannot be made for this range, and trying again will not change that.
    if (!mapped.ok) return Promise.resolve(notStarted(range, worker, dir, 'fatal', ErrorCode.ESFATAL, mapped.error));
    run.reporter.report({ eventRangeID: range.eventRangeID, eventStatus: 'running' });
    return runRange({
      range,
      worker,
      command: mapped.command,
      jobDir: input.jobDir,
      env: {
        ...input.env,
        PANDA_EVENTRANGE_ID: range.eventRangeID,
        PANDA_EVENTRANGE_START: String(range.startEvent),
        PANDA_EVENTRANGE_LAST: String(range.lastEvent),
        PANDA_EVENTRANGE_LFN: range.LFN,
        PANDA_ES_WORKER: String(worker),
      },
      supervisor: input.supervise(range, memoryMB, loopingLimitSec),
      fatalExitCodes,
      stop: input.stop,
      kill: input.kill,
      killGraceMs: input.killGraceMs,
      recordDir: input.recordDir,
      onSample: onRss,
      sleep: input.sleep,
    }).catch((err: unknown) => notStarted(range, worker, dir, 'failed', ErrorCode.INTERNALPILOTPROBLEM, (err as Error).message));
  };
}

/**
 * Run: keeps up to `cores` ranges running while the fetcher has ranges and
 * no stop or softkill came; returns when every started range has ended.
 * Once no range will start again, the job's tail is told to the pilot.
 */
async function runRanges(run: EsRun, start: StartRange): Promise<void> {
  const { input, fetcher, cores, wakeup } = run;
  const running = new Map<number, { promise: Promise<void>; rssKb: number }>();
  let worker = 0;
  let tail = false;
  const onRss = (w: number) => (rssKb: number) => {
    const slot = running.get(w);
    if (slot) slot.rssKb = rssKb;
    let sum = 0;
    for (const s of running.values()) sum += s.rssKb;
    input.peak.maxRssKb = Math.max(input.peak.maxRssKb, sum);
  };
  const onAbort = () => wakeup.wake();
  input.stop.addEventListener('abort', onAbort, { once: true });
  input.softkill.addEventListener('abort', onAbort, { once: true });
  const sleep = input.sleep ?? pause;
  try {
    for (;;) {
      const taking = !input.stop.aborted && !input.softkill.aborted;
      while (taking && running.size < cores) {
        const range = fetcher.take();
        if (!range) break;
        worker += 1;
        const w = worker;
        const done = start(range, w, onRss(w)).then((result) => recordRange(run, result));
        running.set(w, { promise: done.finally(() => running.delete(w)), rssKb: 0 });
      }
      if (taking) fetcher.pump(cores + 1, batchSize(cores, run.longestSec));
      // No range starts again: every place not running one is idle for good.
      if (!fetcher.inFlight && (!taking || (fetcher.exhausted && fetcher.buffered === 0))) {
        if (!tail) input.log.info({ event: 'es_last_range_taken', running: running.size, cores }, 'event-service job took its last range');
        tail = true;
        input.onTail(running.size / cores);
        if (running.size === 0) break;
      }
      await Promise.race([...[...running.values()].map((r) => r.promise), sleep(60_000, wakeup.signal).catch(() => undefined)]);
      wakeup.wake(); // ends the pending sleep (and its timer) whichever way the race went
    }
  } finally {
    input.stop.removeEventListener('abort', onAbort);
    input.softkill.removeEventListener('abort', onAbort);
  }
}

/** Run: what a range's end leaves — its report queued, its output in the job's, its figures in the job's peak, a log line. */
function recordRange(run: EsRun, result: RangeResult): void {
  const { input } = run;
  run.results.push(result);
  run.longestSec = Math.max(run.longestSec ?? 0, result.wallSec);
  input.peak.cpuSec += result.cpuSec;
  appendWorkerLog(path.join(result.dir, 'payload.stdout'), path.join(input.jobDir, 'payload.stdout'), result.worker);
  appendWorkerLog(path.join(result.dir, 'payload.stderr'), path.join(input.jobDir, 'payload.stderr'), result.worker);
  run.reporter.report(rangeReport(result));
  input.log.info(
    {
      event: 'range_end',
      eventRangeID: result.range.eventRangeID,
      worker: result.worker,
      status: result.status,
      exitCode: result.exitCode,
      errorCode: result.errorCode,
      wallSec: result.wallSec,
    },
    `event range ${result.status}`,
  );
}

/** Report: a range's final report, as updateEventRanges takes it. */
export function rangeReport(result: RangeResult): RangeReport {
  const report: RangeReport = {
    eventRangeID: result.range.eventRangeID,
    eventStatus: result.status,
    coreCount: 1,
    cpuConsumptionTime: Math.round(result.cpuSec),
  };
  if (result.status !== 'finished') {
    report.errorCode = result.errorCode;
    report.errorDiag = result.errorDiag;
  }
  return report;
}

/** Report: ranges the server sent unusable are fatal; everything pending goes out, within the final deadline. */
async function deliverReports(run: EsRun): Promise<void> {
  for (const bad of run.fetcher.invalid) {
    if (bad.eventRangeID) run.reporter.report({ eventRangeID: bad.eventRangeID, eventStatus: 'fatal', errorCode: ErrorCode.ESFATAL, errorDiag: bad.error });
  }
  await run.reporter.flush(run.input.reportDeadlineMs);
}

/** Report: final range reports the server never answered go to disk, for the next pilot or `--recover`. */
function keepUndelivered(run: EsRun): void {
  const { reporter, input } = run;
  if (reporter.undelivered.length === 0) return;
  try {
    const file = input.keepReports(reporter.undelivered, 'no answer from the server');
    input.log.error({ event: 'range_reports_kept', file, ranges: reporter.undelivered.length }, 'range reports not delivered; kept on disk for recovery');
  } catch (err) {
    input.log.error(
      { event: 'range_reports_not_kept', err: (err as Error).message, ranges: reporter.undelivered.map((r) => r.eventRangeID) },
      'range reports not delivered and could not be kept on disk',
    );
  }
}

/** Outcome: the job's verdict from what its ranges did on this node. */
function outcome(run: EsRun): EsRunResult {
  const { fetcher, input } = run;
  const facts: EsFacts = {
    results: run.results.map((r) => ({ ...r, fate: run.fates.get(r.range.eventRangeID) ?? 'undelivered' })),
    received: fetcher.received + fetcher.invalid.length,
    unprocessed: fetcher.drain().length,
    stopReason: input.stop.aborted ? PilotError.from(input.stop.reason, ErrorCode.KILLSIGNAL) : null,
    fetchError: fetcher.error,
    softkilled: input.softkill.aborted,
  };
  return {
    verdict: decideEsOutcome(facts),
    ranges: run.results.length,
    requests: { getEventRanges: fetcher.requests, updateEventRanges: run.reporter.requests },
  };
}
