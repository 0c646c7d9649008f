/**
 * Runs one job as named steps: validate → prepare → execute → collect →
 * report. Each step's failure becomes a PilotError with its code, and the
 * final update always goes out (or is kept on disk when the server stays away).
 */
import { existsSync, mkdirSync, renameSync, writeFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import path from 'node:path';
import { ErrorCode, pandaTime, type UpdateReply } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import { DEFAULT_ES_SETTINGS, esConcurrency, runEventService, type PeakSink } from '../eventservice/index.js';
import { parseJobDescription, MalformedJobError, type JobDescription } from '../job/index.js';
import { jobLogger } from '../log/index.js';
import { jobMetrics, MetricsAccumulator, updateFields, type MetricsSummary } from '../monitor/index.js';
import { HeartbeatSchedule, markFinalUpdateAcked, RANGE_REPORTS_FILE, runHeartbeats, type FinalOutcome, type JobUpdateSender } from '../report/index.js';
import {
  adler32File,
  createJobDir,
  DEFAULT_LOG_LIMITS,
  PAYLOAD_RECORDS_DIR,
  PayloadProcess,
  redactSecrets,
  writeLogTarball,
  type PayloadExit,
} from '../run/index.js';
import { stageOut } from '../transfer/index.js';
import { Wakeup } from '../retry/index.js';
import type { JobContext } from './job-context.js';
import { finalsDir, identityFields, keepFinalUpdate, keepRangeReports, refuseMalformed, tail, updateSender, type JobOutcome } from './job-reporting.js';
import { commandAction, type JobPhase } from './server-command.js';
import { judgePayload, signalNumber, type PayloadVerdict } from '../payload/index.js';
import { payloadEnv } from './payload-env.js';
import { preparePayload } from './payload-preparation.js';
import { startLiveLogs } from './live-logs.js';
import { DEFAULT_MONITOR_SETTINGS, PayloadGuard } from './payload-guard.js';

export type { JobOutcome } from './job-reporting.js';

/** What the pilot loop hears about a job while it runs. */
export interface JobHooks {
  /** The payload (or the first range's run) started. */
  onPayloadStarted: () => void;
  /**
   * The payload's processes ended: its cores and memory are free, and the
   * slot may ask for its next job now, while this one reads its last figures
   * and writes its final to disk (the next payload starts only after
   * `onPayloadEnded`).
   */
  onPayloadExited: () => void;
  /**
   * The payload (or the last range) ended and the final is on disk.
   * Reporting (log tarball, final update) starts when the returned promise
   * resolves: the pilot loop lets the slot's next payload start first.
   */
  onPayloadEnded: () => Promise<void>;
  /**
   * An event-service job took its last range: only `busyShare` (0..1) of its
   * cores and memory are still in use, and less as its last ranges end (told
   * again each time). The pilot may ask for its next job from the first call.
   */
  onTail: (busyShare: number) => void;
  /**
   * The final update was acknowledged (or kept on disk) and `job_end` logged:
   * the job has reported. What is left, removing its job dir, runs on (the
   * returned promise of `runJob` waits for it); the slot's next start does
   * not wait for those few ms of syscalls.
   */
  onReported: () => void;
}

export async function runJob(ctx: JobContext, rawJob: Record<string, unknown>, hooks?: JobHooks): Promise<JobOutcome> {
  let job: JobDescription;
  try {
    job = parseJobDescription(rawJob);
  } catch (err) {
    return refuseMalformed(ctx, err as MalformedJobError);
  }
  return new JobRun(ctx, job, hooks).run();
}

/**
 * Where a job run stands, with exactly what exists at that point: the job
 * dir once made (the final update is kept there), the start time once the
 * payload (or the first range) started, the guard whose live figures the
 * heartbeats read while a payload runs, then the frozen figures the final
 * update reads.
 */
type RunState =
  | { phase: 'preparing'; jobDir: string | null }
  | { phase: 'running'; jobDir: string; startedAt: Date; watch: { kind: 'payload'; guard: PayloadGuard } | { kind: 'ranges' } }
  | { phase: 'reporting'; jobDir: string | null; startedAt: Date | null; figures: FinalFigures }
  | { phase: 'done'; jobDir: string | null; outcome: JobOutcome };

interface FinalFigures {
  /** The monitor's figures when it stopped (null: no monitor ran, e.g. an event-service job or a failure before the payload). */
  metrics: MetricsSummary | null;
  /** CPU seconds the launcher measured for the whole tree, once it ended. */
  exitCpuSec: number;
}

class JobRun {
  private readonly log;
  private readonly channel: JobUpdateSender;
  private readonly jobStop = new AbortController();
  /** Aborted when the server says softkill: an event-service job takes no more ranges. */
  private readonly softkill = new AbortController();
  private readonly heartbeatWake = new Wakeup();
  private readonly schedule: HeartbeatSchedule;
  private state: RunState = { phase: 'preparing', jobDir: null };
  /** Run in order at the end of run(), whatever happened: stop a payload still running, then remove its cgroup. */
  private readonly cleanups: (() => Promise<unknown>)[] = [];
  /** Peak figures of an event-service job's ranges (its heartbeats and final update read them). */
  private readonly esPeak: PeakSink = { maxRssKb: 0, maxVmemKb: 0, cpuSec: 0 };
  /** Where this job's lines can start in the pilot log (its tarball reads from here, not the whole log). */
  private readonly pilotLogFrom: number;
  /** Whether the `starting` update was made (see `announceStarting`). */
  private startingAnnounced = false;

  constructor(
    private readonly ctx: JobContext,
    private readonly job: JobDescription,
    private readonly hooks?: JobHooks,
  ) {
    // Before this job's first line is written.
    this.pilotLogFrom = ctx.files?.pilotLogFile ? (statSync(ctx.files.pilotLogFile, { throwIfNoEntry: false })?.size ?? 0) : 0;
    this.log = jobLogger(ctx.log, job.pandaId, job.attemptNr);
    this.schedule = new HeartbeatSchedule({
      intervalMs: (job.debug ? ctx.debugHeartbeatSec : ctx.heartbeatSec) * 1000,
      gridOriginMs: ctx.bulk?.gridOriginMs,
    });
    this.channel = updateSender(
      ctx,
      job.pandaId,
      job.attemptNr,
      this.log,
      (reply) => this.onCommand(reply),
      () => this.state.jobDir ?? finalsDir(ctx, job.pandaId, job.attemptNr),
    );
  }

  /** Commands come back on this job's own channel, so they can only ever touch this job. */
  private onCommand(reply: UpdateReply): void {
    const phase: JobPhase = this.state.phase;
    const action = commandAction(reply.command, phase);
    switch (action.kind) {
      case 'kill':
        this.log.warn({ event: 'server_kill', phase }, 'server asked to kill this job');
        this.stopJob(new PilotError(ErrorCode.PANDAKILL, 'job killed by the server (command tobekilled)'));
        break;
      case 'stale-kill':
        this.log.warn({ event: 'server_kill_ignored', phase }, 'tobekilled for a job whose payload already ended: ignored');
        break;
      case 'debug': {
        const sec = action.on || this.job.debug ? this.ctx.debugHeartbeatSec : this.ctx.heartbeatSec;
        this.schedule.setInterval(sec * 1000);
        this.heartbeatWake.wake(); // the pending (long) wait ends now, not after the old interval
        this.log.info({ event: action.on ? 'debug_on' : 'debug_off', text: reply.commandText, heartbeatSec: sec }, 'server changed the heartbeat interval');
        break;
      }
      case 'softkill':
        this.log.info({ event: 'softkill' }, 'server asked the pilot to stop after the current jobs');
        this.softkill.abort();
        this.ctx.onSoftkill();
        break;
      case 'alreadydone':
        this.log.info({ event: 'alreadydone' }, 'server says the job is already done; no more updates');
        break;
      default:
        break;
    }
  }

  private stopJob(reason: PilotError): void {
    if (!this.jobStop.signal.aborted) this.jobStop.abort(reason);
  }

  /** The figures an update carries now: live from the guard while the payload runs, frozen once it ended. */
  private figures(): { startedAt: Date | null } & FinalFigures {
    const s = this.state;
    switch (s.phase) {
      case 'preparing':
      case 'done':
        return { startedAt: null, metrics: null, exitCpuSec: 0 };
      case 'running':
        return { startedAt: s.startedAt, metrics: s.watch.kind === 'payload' ? s.watch.guard.summary() : null, exitCpuSec: 0 };
      case 'reporting':
        return { startedAt: s.startedAt, ...s.figures };
    }
  }

  /** Enters `reporting` (once): the figures freeze as they are now. */
  private toReporting(figures?: FinalFigures): { startedAt: Date | null; figures: FinalFigures } {
    const s = this.state;
    if (s.phase === 'reporting' && !figures) return s;
    const now = this.figures();
    const next = {
      phase: 'reporting' as const,
      jobDir: s.jobDir,
      startedAt: now.startedAt,
      figures: figures ?? { metrics: now.metrics, exitCpuSec: now.exitCpuSec },
    };
    this.state = next;
    return next;
  }

  private fields(extra: Record<string, string | number> = {}, view = this.figures()): Record<string, string | number> {
    const f: Record<string, string | number> = { ...identityFields(this.ctx), coreCount: this.job.coreCount, timestamp: new Date().toISOString() };
    const { startedAt, metrics: m, exitCpuSec } = view;
    if (startedAt) f.startTime = pandaTime(startedAt);
    if (m) Object.assign(f, updateFields(m));
    else if (this.esPeak.maxRssKb > 0) f.maxRSS = this.esPeak.maxRssKb;
    const cpuSec = Math.max(m?.cpuSec ?? 0, exitCpuSec, this.esPeak.cpuSec);
    if (cpuSec > 0) {
      f.cpuConsumptionTime = Math.round(cpuSec);
      f.cpuConsumptionUnit = 's';
    }
    return { ...f, ...extra };
  }

  /**
   * The `starting` update, once, before anything else the job sends. Made as the payload is handed
   * over, not when the job arrives: building its request is ~0.3 ms the slot's next payload would
   * wait for (it leaves in the same turn either way). Before then only when the server would
   * otherwise not hear of the job for long (a download) or the job fails before its payload.
   * Its fields are those of a job not yet started (no start time, no figures).
   */
  private announceStarting(): void {
    if (this.startingAnnounced) return;
    this.startingAnnounced = true;
    this.channel.stateChange('starting', this.fields({}, { startedAt: null, metrics: null, exitCpuSec: 0 }));
  }

  async run(): Promise<JobOutcome> {
    const onPilotStop = () => this.stopJob(PilotError.from(this.ctx.pilotSignal.reason, ErrorCode.KILLSIGNAL));
    if (this.ctx.pilotSignal.aborted) onPilotStop();
    this.ctx.pilotSignal.addEventListener('abort', onPilotStop, { once: true });
    this.log.info({ event: 'job_start', jobName: this.job.jobName, transformation: this.job.transformation }, 'job received');
    try {
      const jobDir = createJobDir(this.ctx.pilotHome, this.job.pandaId, this.job.attemptNr);
      this.state = { phase: 'preparing', jobDir };
      // Secret-looking fields never reach the job dir (payloads read it; the log tarball holds it).
      writeFileSync(path.join(jobDir, 'job-description.json'), `${JSON.stringify(redactSecrets(this.job.raw), null, 1)}\n`);
      const command = await preparePayload(this.job, jobDir, this.ctx.env, this.ctx.preparation, this.log, this.jobStop.signal, () => this.announceStarting());
      if (this.jobStop.signal.aborted) throw this.jobStop.signal.reason;
      const verdict = this.job.eventService ? await this.executeEventService(jobDir, command) : await this.execute(jobDir, command);
      // On disk before anything else happens (the slot's next payload, the log): a SIGKILL from here on loses nothing.
      const fields = this.settle(verdict, new Date());
      await this.hooks?.onPayloadEnded();
      return await this.report(verdict, fields);
    } catch (err) {
      const failure = PilotError.from(err);
      this.log.error({ event: 'job_error', code: failure.code, diag: failure.diagnostic }, 'job failed before or outside its payload');
      this.announceStarting();
      const verdict: PayloadVerdict = {
        state: 'failed',
        transExitCode: 0,
        pilotErrorCode: failure.code,
        pilotErrorDiag: truncateDiag(failure.diagnostic),
        exeErrorCode: 0,
        exeErrorDiag: '',
      };
      return await this.report(verdict, this.settle(verdict, new Date()));
    } finally {
      this.ctx.pilotSignal.removeEventListener('abort', onPilotStop);
      for (const cleanup of this.cleanups.splice(0)) await cleanup();
    }
  }

  private jobEnv(jobDir: string, cores: number): NodeJS.ProcessEnv {
    return payloadEnv({ job: this.job, base: this.ctx.env, serverUrl: this.ctx.serverUrl, siteName: this.ctx.identity.siteName, jobDir, cores });
  }

  private async execute(jobDir: string, command: string): Promise<PayloadVerdict> {
    const stdoutPath = path.join(jobDir, 'payload.stdout');
    const stderrPath = path.join(jobDir, 'payload.stderr');
    const env = this.jobEnv(jobDir, this.job.coreCount);
    const guard = PayloadGuard.prepare(this.job, this.ctx.monitor ?? DEFAULT_MONITOR_SETTINGS, this.log);
    this.cleanups.push(() => guard.cleanup());
    const recordDir = path.join(this.ctx.pilotHome, PAYLOAD_RECORDS_DIR);
    const payload = await PayloadProcess.start({ command, cwd: jobDir, env, stdoutPath, stderrPath, cgroupProcsFile: guard.cgroup?.procsFile, recordDir });
    // The payload stops before its cgroup goes.
    this.cleanups.unshift(async () => {
      if (payload.running) await payload.stop(this.ctx.killGraceMs);
    });
    this.state = { phase: 'running', jobDir, startedAt: new Date(), watch: { kind: 'payload', guard } };
    // How its memory is enforced goes on the same line: one line less before the payload starts.
    const enforcement = guard.enforcement();
    this.log.info({ event: 'payload_start', pid: payload.pid, ...enforcement.fields }, `payload started, ${enforcement.text}`);
    this.hooks?.onPayloadStarted();
    this.announceStarting();
    const live = this.ctx.realtime ? startLiveLogs(this.ctx.realtime, this.job, jobDir, stdoutPath, this.log) : null;
    guard.start(
      payload.pid,
      jobDir,
      [stdoutPath, stderrPath],
      (verdict) => {
        this.log.warn({ event: 'watchdog', code: verdict.code, diag: verdict.diagnostic }, 'payload broke a limit');
        this.stopJob(verdict);
      },
      this.ctx.sleep,
    );
    this.channel.stateChange('running', this.fields());

    const onStop = () => {
      const reason = this.jobStop.signal.reason as PilotError;
      this.log.warn({ event: 'payload_stop', code: reason.code, diag: reason.diagnostic }, 'stopping payload process group');
      void payload.stop(this.ctx.killGraceMs);
    };
    this.jobStop.signal.addEventListener('abort', onStop, { once: true });
    if (this.jobStop.signal.aborted) onStop();
    // A payload already being stopped (a watchdog, the server) when the pilot itself stops: its grace shrinks to the cut-off too.
    const onCutoff = () => {
      if (this.jobStop.signal.aborted) void payload.stop(this.ctx.killGraceMs);
    };
    this.ctx.cutoff.armed.addEventListener('abort', onCutoff, { once: true });
    // A second signal: no grace, the payload's group is killed now.
    const onHardStop = () => void payload.stop(0);
    this.ctx.hardStop.addEventListener('abort', onHardStop, { once: true });
    if (this.ctx.hardStop.aborted) onHardStop();

    const heartbeats = this.heartbeatLoop(payload.done);
    const exit: PayloadExit = await payload.done;
    await live?.stop();
    await heartbeats;
    this.toReporting(); // from here a tobekilled is stale
    this.jobStop.signal.removeEventListener('abort', onStop);
    this.ctx.hardStop.removeEventListener('abort', onHardStop);
    this.ctx.cutoff.armed.removeEventListener('abort', onCutoff);
    this.log.info({ event: 'payload_exit', exitCode: exit.exitCode, signal: exit.signal }, 'payload ended');
    // The getJob for the slot's next job is made now, and sent before what follows: node writes a
    // request to its socket only once the turn's microtasks ran, so without a turn of the event loop
    // here it would wait for the last cgroup reading and the final's write below (~0.7 ms). The
    // server's answer then overlaps them (idle median -0.35 ms at load 1.4-2.8; nothing to gain,
    // nor lost, at load 3.5-4.8, where the stub competes with that work for the two cores).
    if (this.hooks) {
      this.hooks.onPayloadExited();
      await nextTurn();
    }
    if (exit.launchError) throw new PilotError(ErrorCode.INTERNALPILOTPROBLEM, exit.launchError);
    const exitCpuSec = exit.cpuUserSec !== null && exit.cpuSysSec !== null ? exit.cpuUserSec + exit.cpuSysSec : 0;
    const stopReason = this.jobStop.signal.aborted ? (this.jobStop.signal.reason as PilotError) : null;
    const failed = exit.exitCode !== 0 || exit.signal !== null;
    const end = await guard.finish(exit, failed && !stopReason);
    this.toReporting({ metrics: end.summary, exitCpuSec }); // the final update reads these frozen figures
    this.log.info({ event: 'monitor_end', samples: end.summary?.samples ?? 0, sampleCpuMs: Math.round(end.sampleCpuMs * 10) / 10 }, 'monitor stopped');
    return judgePayload({ exit, stopReason, stderrTail: tail(stderrPath), oom: end.oom }, signalNumber);
  }

  /** Event-service job: the ranges run as their own payloads (pilot/src/eventservice); heartbeats go on meanwhile. */
  private async executeEventService(jobDir: string, command: string): Promise<PayloadVerdict> {
    const settings = this.ctx.eventService ?? DEFAULT_ES_SETTINGS;
    const monitor = this.ctx.monitor ?? DEFAULT_MONITOR_SETTINGS;
    const env = this.jobEnv(jobDir, esConcurrency(settings, this.ctx.env, this.job.coreCount));
    // The job's own payload files exist even when no range ever runs (the log tarball lists them).
    writeFileSync(path.join(jobDir, 'payload.stdout'), '', { flag: 'a' });
    writeFileSync(path.join(jobDir, 'payload.stderr'), '', { flag: 'a' });
    this.announceStarting();
    this.state = { phase: 'running', jobDir, startedAt: new Date(), watch: { kind: 'ranges' } };
    this.hooks?.onPayloadStarted();
    this.channel.stateChange('running', this.fields());
    this.log.info({ event: 'es_start', cores: env.RUBIN_ES_CORES }, 'event-service job: running ranges');
    const done = runEventService({
      job: this.job,
      jobDir,
      command,
      env,
      server: this.ctx.server,
      log: this.log,
      settings,
      // Read when a range is stopped, not now: after a signal the grace shrinks to fit the cut-off.
      killGraceMs: () => this.ctx.killGraceMs,
      recordDir: path.join(this.ctx.pilotHome, PAYLOAD_RECORDS_DIR),
      stop: this.jobStop.signal,
      kill: this.ctx.hardStop,
      softkill: this.softkill.signal,
      onCommand: (command) => this.onCommand({ statusCode: 0, command, raw: {} }),
      // The one payload supervisor, for each range as for a job (the job's monitor settings, the range's memory).
      supervise: (range, memoryMB, loopingLimitSec) =>
        PayloadGuard.forRange(this.job, range.eventRangeID, memoryMB, monitor, loopingLimitSec, this.log.child({ eventRangeID: range.eventRangeID })),
      cutoff: this.ctx.cutoff,
      onTail: (share) => this.hooks?.onTail(share),
      keepReports: (reports, error) => keepRangeReports(this.ctx, jobDir, this.job, reports, error),
      peak: this.esPeak,
      reportDeadlineMs: this.ctx.finalDeadlineMs,
      sleep: this.ctx.sleep,
      backoff: this.ctx.backoff,
    });
    await this.heartbeatLoop(done);
    const result = await done;
    this.log.info(
      { event: 'es_end', ranges: result.ranges, requests: result.requests, state: result.verdict.state, code: result.verdict.pilotErrorCode },
      'event-service job: ranges done',
    );
    return result.verdict;
  }

  /** Sends `running` heartbeats until `ended` settles; the figures come from the monitor loop (or the ranges). */
  private heartbeatLoop(ended: Promise<unknown>): Promise<void> {
    return runHeartbeats(ended, {
      schedule: this.schedule,
      wakeup: this.heartbeatWake,
      beat: () => this.channel.heartbeat('running', this.fields()),
      sleep: this.ctx.sleep,
    });
  }

  /**
   * The outcome is known: the final update's own fields, and the final on disk
   * now (provisional: without the log's entry; `report` replaces it), so a
   * SIGKILL during the log's tarball or stage-out still leaves a final for the
   * next pilot or `--recover`.
   */
  private settle(verdict: PayloadVerdict, endedAt: Date): Record<string, string | number> {
    const { startedAt, figures } = this.toReporting();
    const extra: Record<string, string | number> = {
      transExitCode: verdict.transExitCode,
      pilotErrorCode: verdict.pilotErrorCode,
      pilotErrorDiag: verdict.pilotErrorDiag,
      exeErrorCode: verdict.exeErrorCode,
      exeErrorDiag: verdict.exeErrorDiag,
      endTime: pandaTime(endedAt),
      jobMetrics: jobMetrics(figures.metrics ?? new MetricsAccumulator().summary(), { coreCount: this.job.coreCount }),
    };
    if (!startedAt) extra.startTime = pandaTime(endedAt);
    this.channel.persistProvisionalFinal(verdict.state, this.fields(extra));
    return extra;
  }

  /** The log (tarball, stage-out), then the final update with its entry: acknowledged, or kept on disk. */
  private async report(verdict: PayloadVerdict, own: Record<string, string | number>): Promise<JobOutcome> {
    const jobDir = this.state.jobDir;
    const extra = { ...own };
    // Whether the job's log is somewhere other than its job dir (or there is none to keep).
    let logSafe = true;
    if (jobDir) {
      const { xml, secondary, safe } = await this.outputReport(jobDir);
      logSafe = safe;
      if (xml) extra.xml = xml;
      // A log that could not be made or stored never replaces the job's own result: it is added to the diagnostic.
      if (secondary) extra.pilotErrorDiag = secondaryDiag(verdict.pilotErrorDiag, secondary);
    }
    // A stopping pilot (signal, lifetime) gives its final update what is left of the one cut-off
    // (ctx.cutoff, which the channel honours), not the final deadline: the update is then kept on disk.
    const outcome: FinalOutcome = await this.channel.final(verdict.state, this.fields(extra));
    let finalUpdateFile: string | undefined;
    const keptIn = jobDir ?? finalsDir(this.ctx, this.job.pandaId, this.job.attemptNr);
    if (outcome.acknowledged) markFinalUpdateAcked(keptIn);
    // The naive baseline loses an unacknowledged final, as pilot3 does; everything else keeps it.
    else if (!this.ctx.naiveUpdates) finalUpdateFile = keepFinalUpdate(this.ctx, keptIn, this.channel, outcome);
    this.log.info(
      { event: 'job_end', state: verdict.state, pilotErrorCode: verdict.pilotErrorCode, acknowledged: outcome.acknowledged },
      `job ${verdict.state}`,
    );
    this.hooks?.onReported();
    // Disk stays flat over thousands of jobs: an acknowledged job's dir goes once its log is safe.
    // An unacknowledged one stays (its final-update.json is what the next pilot re-sends).
    if (jobDir && outcome.acknowledged && !this.ctx.keepJobDirs) await this.removeJobDir(jobDir, logSafe);
    const result: JobOutcome = {
      pandaId: this.job.pandaId,
      attemptNr: this.job.attemptNr,
      state: verdict.state,
      pilotErrorCode: verdict.pilotErrorCode,
      pilotErrorDiag: verdict.pilotErrorDiag,
      acknowledged: outcome.acknowledged,
      finalUpdateFile,
    };
    this.state = { phase: 'done', jobDir, outcome: result };
    return result;
  }

  /**
   * The log tarball, staged out to the job's destination, and the `xml`
   * output report that lists it (the only output a plain job declares here).
   * A failure comes back as `secondary` (1320, 1137, 1152), never thrown.
   */
  /**
   * Removes the job dir. A log tarball that was not stored anywhere else is
   * kept, alone, in the pilot home's `logs/` (the rest of the dir goes).
   */
  private async removeJobDir(jobDir: string, logSafe: boolean): Promise<void> {
    // Range reports the server never answered are kept here for the next pilot: the dir stays with them.
    if (existsSync(path.join(jobDir, RANGE_REPORTS_FILE))) return;
    try {
      if (!logSafe && this.job.logFile) {
        const tarball = path.join(jobDir, this.job.logFile);
        if (existsSync(tarball)) {
          const logs = path.join(this.ctx.pilotHome, 'logs');
          mkdirSync(logs, { recursive: true });
          renameSync(tarball, path.join(logs, path.basename(this.job.logFile)));
        }
      }
      // Off the event loop: a recursive removal is a few ms of syscalls per job, which the next job's dispatch must not wait on.
      await rm(jobDir, { recursive: true, force: true });
      this.log.debug({ event: 'job_dir_removed', dir: jobDir, logKept: !logSafe }, 'job dir removed');
    } catch (err) {
      this.log.warn({ event: 'job_dir_not_removed', dir: jobDir, err: (err as Error).message }, 'could not remove the job dir');
    }
  }

  private async outputReport(jobDir: string): Promise<{ xml: string | null; secondary: PilotError | null; safe: boolean }> {
    if (!this.job.logFile) return { xml: null, secondary: null, safe: true };
    const files = this.ctx.files;
    let tarball;
    try {
      const made = await writeLogTarball({
        jobDir,
        logFile: this.job.logFile,
        pandaId: this.job.pandaId,
        pilotLogFile: files?.pilotLogFile ?? null,
        pilotLogFrom: this.pilotLogFrom,
        jobDescription: this.job.raw,
        limits: files?.logLimits ?? DEFAULT_LOG_LIMITS,
      });
      const truncated = made.manifest.filter((m) => m.truncated).map((m) => m.name);
      tarball = made.written
        ? { path: made.file, size: made.written.bytes, adler32: made.written.adler32 }
        : { path: made.file, size: statSync(made.file).size, adler32: await adler32File(made.file) };
      this.log.info(
        { event: 'log_tarball', file: this.job.logFile, bytes: tarball.size, adler32: tarball.adler32, members: made.manifest.length, truncated },
        'log tarball made',
      );
    } catch (err) {
      const e = PilotError.from(err, ErrorCode.LOGFILECREATIONFAILURE);
      this.log.warn({ event: 'log_tarball_failed', code: e.code, err: e.diagnostic }, 'could not create the log tarball');
      return { xml: null, secondary: e, safe: false };
    }
    const entry: Record<string, string | number> = { guid: this.job.logGuid ?? '', fsize: tarball.size, adler32: tarball.adler32 };
    let secondary: PilotError | null = null;
    let safe = false;
    if (files) {
      try {
        // A pilot told to stop still tries once, within half of what is left of the cut-off (the final
        // update needs the rest), so the log of a killed job is kept if it can be.
        const stopping = this.ctx.pilotSignal.aborted;
        const settings = stopping
          ? { ...files.stageOut, maxAttempts: 1, timeoutMs: Math.max(1000, Math.min(files.stageOut.timeoutMs, this.ctx.cutoff.leftMs() / 2)) }
          : files.stageOut;
        const signal = stopping ? AbortSignal.any([AbortSignal.timeout(settings.timeoutMs), this.ctx.cutoff.signal]) : this.ctx.pilotSignal;
        const result = await stageOut(files.logDestination, tarball, { http: files.http, log: this.log, signal, settings });
        switch (result.kind) {
          case 'stored':
            safe = true;
            entry.surl = result.surl;
            this.log.info(
              { event: 'log_staged_out', surl: result.surl, verifiedBy: result.verifiedBy, attempts: result.attempts, ms: result.ms, bytes: tarball.size },
              'log tarball stored',
            );
            break;
          case 'left':
            safe = true;
            this.log.info({ event: 'log_left_for_harvester', dir: result.dir }, 'log tarball left in the access point for Harvester');
            break;
          case 'not-configured':
            break;
          default:
            break;
        }
      } catch (err) {
        const e = PilotError.from(err, ErrorCode.STAGEOUTFAILED);
        // Stopped mid-transfer (a signal, the lifetime): still a stage-out failure, named with why.
        secondary =
          e.code === ErrorCode.STAGEOUTFAILED || e.code === ErrorCode.STAGEOUTTIMEOUT
            ? e
            : new PilotError(ErrorCode.STAGEOUTFAILED, `log stage-out stopped: ${e.diagnostic}`, { cause: e });
        this.log.warn({ event: 'log_stageout_failed', code: secondary.code, err: secondary.diagnostic }, 'log tarball not stored');
      }
    }
    return { xml: JSON.stringify({ [this.job.logFile]: entry }), secondary, safe };
  }
}

/** The job's own diagnostic first, then the log's failure with its code. */
export function secondaryDiag(own: string, secondary: PilotError): string {
  // Both parts survive the server's short column: the job's own reason is never pushed out by the log's.
  // The start of the log's reason says what went wrong (the URL comes last); the job's own reason keeps its end.
  const reason = secondary.diagnostic.length > 110 ? `${secondary.diagnostic.slice(0, 109)}…` : secondary.diagnostic;
  const extra = `log: ${secondary.code} ${reason}`;
  return own ? `${truncateDiag(own, 250 - extra.length - 3)} | ${extra}` : extra;
}
