/**
 * The event-service executor for one job: fetches ranges ahead of need,
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
import { pause, Wakeup, type BackoffOptions, type Sleep } from '../retry/index.js';
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
  killGraceMs: number;
  /** Where each range's process group is recorded while it lives (pilot home `payloads/`). */
  recordDir?: string | undefined;
  /** Aborted with a PilotError when every range must stop now. */
  stop: AbortSignal;
  /** Aborted when the server said softkill. */
  softkill: AbortSignal;
  /** Supervises each range as a payload of its own (cgroup, watchdogs, time series, leftovers). */
  supervise: SuperviseRange;
  /** Aborted when the pilot itself is stopping (signal, lifetime): range reports get `killGraceMs`, no more retries. */
  hurry: AbortSignal;
  /** Keeps final range reports the server never answered (on disk, for recovery); returns where. */
  keepReports: (reports: RangeReport[], error: string) => string;
  /** Commands from range report replies (tobekilled, softkill, …). */
  onCommand: (command: string) => void;
  peak: PeakSink;
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

export async function runEventService(input: EsRunInput): Promise<EsRunResult> {
  const { job, log, settings } = input;
  const cores = esConcurrency(settings, input.env, job.coreCount);
  const wakeup = new Wakeup();
  const fetchStop = AbortSignal.any([input.stop, input.softkill]);
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
    signal: fetchStop,
    sleep: input.sleep,
  });

  let map: RubinEsMap | null = null;
  let mapError: string | null = null;
  try {
    map = loadRubinEsMap(findMapSources(input.command, input.env), (f) => readFileSync(f, 'utf8'));
  } catch (err) {
    mapError = (err as Error).message;
    log.error({ event: 'rubin_es_map_error', error: mapError }, 'cannot load the Rubin ES map');
  }

  const results: RangeResult[] = [];
  const running = new Map<number, { promise: Promise<void>; rssKb: number }>();
  let worker = 0;
  let longestSec: number | null = null;
  const memoryMB = rangeMemoryMB(job.minRamCount, cores, settings.rssGrace);
  const loopingLimitSec = job.loopingCheck && settings.loopingLimitSec > 0 ? settings.loopingLimitSec : null;
  const fatalCodes = new Set(settings.fatalExitCodes);

  const finish = (result: RangeResult) => {
    results.push(result);
    longestSec = Math.max(longestSec ?? 0, result.wallSec);
    input.peak.cpuSec += result.cpuSec;
    appendWorkerLog(path.join(result.dir, 'payload.stdout'), path.join(input.jobDir, 'payload.stdout'), result.worker);
    appendWorkerLog(path.join(result.dir, 'payload.stderr'), path.join(input.jobDir, 'payload.stderr'), result.worker);
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
    reporter.report(report);
    log.info(
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
  };

  const start = (range: EventRange) => {
    worker += 1;
    const w = worker;
    const dir = path.join(input.jobDir, range.eventRangeID);
    const mapped = mapError ? ({ ok: false, error: mapError } as const) : rangeCommand(input.command, range, map);
    let promise: Promise<RangeResult>;
    if (!mapped.ok) {
      // The command cannot be made for this range, and trying again will not change that.
      promise = Promise.resolve(notStarted(range, w, dir, 'fatal', ErrorCode.ESFATAL, mapped.error));
    } else {
      reporter.report({ eventRangeID: range.eventRangeID, eventStatus: 'running' });
      promise = runRange({
        range,
        worker: w,
        command: mapped.command,
        jobDir: input.jobDir,
        env: {
          ...input.env,
          PANDA_EVENTRANGE_ID: range.eventRangeID,
          PANDA_EVENTRANGE_START: String(range.startEvent),
          PANDA_EVENTRANGE_LAST: String(range.lastEvent),
          PANDA_EVENTRANGE_LFN: range.LFN,
          PANDA_ES_WORKER: String(w),
        },
        supervisor: input.supervise(range, memoryMB, loopingLimitSec),
        fatalExitCodes: fatalCodes,
        stop: input.stop,
        killGraceMs: input.killGraceMs,
        recordDir: input.recordDir,
        onSample: (rss) => {
          const slot = running.get(w);
          if (slot) slot.rssKb = rss;
          let sum = 0;
          for (const s of running.values()) sum += s.rssKb;
          input.peak.maxRssKb = Math.max(input.peak.maxRssKb, sum);
        },
        sleep: input.sleep,
      });
    }
    const done = promise.then(finish, (err: unknown) => finish(notStarted(range, w, dir, 'failed', ErrorCode.INTERNALPILOTPROBLEM, (err as Error).message)));
    running.set(w, { promise: done.finally(() => running.delete(w)), rssKb: 0 });
  };

  const onAbort = () => wakeup.wake();
  const onHurry = () => reporter.hurry(input.killGraceMs);
  input.stop.addEventListener('abort', onAbort, { once: true });
  input.softkill.addEventListener('abort', onAbort, { once: true });
  if (input.hurry.aborted) onHurry();
  else input.hurry.addEventListener('abort', onHurry, { once: true });
  const sleep = input.sleep ?? pause;
  try {
    for (;;) {
      const taking = !input.stop.aborted && !input.softkill.aborted;
      while (taking && running.size < cores) {
        const range = fetcher.take();
        if (!range) break;
        start(range);
      }
      if (taking) fetcher.pump(cores + 1, batchSize(cores, longestSec));
      if (running.size === 0 && !fetcher.inFlight && (!taking || (fetcher.exhausted && fetcher.buffered === 0))) break;
      const waitFor = [...[...running.values()].map((r) => r.promise), sleep(60_000, wakeup.signal).catch(() => undefined)];
      await Promise.race(waitFor);
      wakeup.wake(); // ends the pending sleep (and its timer) whichever way the race went
    }
    await Promise.all([...running.values()].map((r) => r.promise));
    for (const bad of fetcher.invalid) {
      if (bad.eventRangeID) reporter.report({ eventRangeID: bad.eventRangeID, eventStatus: 'fatal', errorCode: ErrorCode.ESFATAL, errorDiag: bad.error });
    }
    await reporter.flush(input.reportDeadlineMs);
  } finally {
    input.stop.removeEventListener('abort', onAbort);
    input.softkill.removeEventListener('abort', onAbort);
    input.hurry.removeEventListener('abort', onHurry);
    reporter.close();
  }
  if (reporter.undelivered.length > 0) {
    try {
      const file = input.keepReports(reporter.undelivered, 'no answer from the server');
      log.error({ event: 'range_reports_kept', file, ranges: reporter.undelivered.length }, 'range reports not delivered; kept on disk for recovery');
    } catch (err) {
      log.error(
        { event: 'range_reports_not_kept', err: (err as Error).message, ranges: reporter.undelivered.map((r) => r.eventRangeID) },
        'range reports not delivered and could not be kept on disk',
      );
    }
  }

  const unprocessed = fetcher.drain().length;
  const facts: EsFacts = {
    results: results.map((r) => ({ ...r, fate: fates.get(r.range.eventRangeID) ?? 'undelivered' })),
    received: fetcher.received + fetcher.invalid.length,
    unprocessed,
    stopReason: input.stop.aborted ? PilotError.from(input.stop.reason, ErrorCode.KILLSIGNAL) : null,
    fetchError: fetcher.error,
    softkilled: input.softkill.aborted,
  };
  return {
    verdict: decideEsOutcome(facts),
    ranges: results.length,
    requests: { getEventRanges: fetcher.requests, updateEventRanges: reporter.requests },
  };
}
