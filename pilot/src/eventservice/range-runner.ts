/**
 * Runs one range: its own directory `<jobDir>/<eventRangeID>/`, its own
 * process group, and the pilot's one payload supervisor (the job's own:
 * a memory cgroup of its own when the pilot may make one, the job's
 * watchdogs, the monitor's time series, OOM evidence, leftovers killed),
 * and a result that says what to report: finished, failed (retry may help)
 * or fatal (it will not).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import type { MonitorSample, OomEvidence } from '../monitor/index.js';
import { shellStatus, signalNumber } from '../payload/index.js';
import { PayloadProcess, type PayloadExit } from '../run/index.js';
import type { Sleep } from '../retry/index.js';
import type { EventRange } from './event-range.js';

/**
 * What supervises one range's payload. The job runner hands in the pilot's
 * one supervisor (lifecycle/payload-guard.ts, `PayloadGuard.forRange`), so
 * the event service has no sampling loop of its own.
 */
export interface RangeSupervisor {
  /** The cgroup.procs file the payload's launcher joins, when the range has a cgroup. */
  readonly cgroupProcsFile: string | undefined;
  /** Starts watching; `onVerdict` is told the first broken limit. */
  start(
    pid: number,
    dir: string,
    outputFiles: string[],
    onVerdict: (err: PilotError) => void,
    sleep: Sleep | undefined,
    onSample: (sample: MonitorSample) => void,
  ): unknown;
  /** Stops watching; for a failed payload, the OOM evidence (the kernel's line) if any. */
  finish(exit: PayloadExit, failed: boolean): Promise<{ oom: OomEvidence | null }>;
  /** Removes the range's cgroup, killing whatever is left in it. */
  cleanup(): Promise<void>;
}

export type RangeOutcome = 'finished' | 'failed' | 'fatal';

export interface RangeResult {
  range: EventRange;
  worker: number;
  status: RangeOutcome;
  /** The shell's status (128+N for signal N); null when the payload never started. */
  exitCode: number | null;
  /** 0 when finished; the raw exit code of a failed payload (as pilot3 reports it); a PanDA code when the pilot stopped it. */
  errorCode: number;
  errorDiag: string;
  cpuSec: number;
  maxRssKb: number;
  wallSec: number;
  dir: string;
}

export interface RangeRunInput {
  range: EventRange;
  worker: number;
  /** The range's command line, already mapped from the job's. */
  command: string;
  jobDir: string;
  env: NodeJS.ProcessEnv;
  /** The range's supervisor (made for this range, used once). */
  supervisor: RangeSupervisor;
  /** Exit codes that mean "this input will never work": reported fatal. */
  fatalExitCodes: ReadonlySet<number>;
  /** Aborted (reason: a PilotError) when every range must stop now. */
  stop: AbortSignal;
  /** Aborted on the pilot's second signal: the range's group is killed now, without the grace. */
  kill: AbortSignal;
  /** The payload's SIGTERM → SIGKILL grace, read when the stop comes (it shrinks once the pilot is signalled). */
  killGraceMs: () => number;
  /** Where the range's process group is recorded while it lives. */
  recordDir?: string | undefined;
  /** Each sample's RSS of this range's payload (kB), for the job's peak; 0 when it ended. */
  onSample?: ((rssKb: number) => void) | undefined;
  sleep?: Sleep | undefined;
}

/** The last non-empty line of a range's stderr, for its diagnostic. */
function lastStderrLine(dir: string): string {
  try {
    const text = readFileSync(path.join(dir, 'payload.stderr'), 'utf8').slice(-4096);
    return text.trim().split('\n').filter(Boolean).pop() ?? '';
  } catch {
    return '';
  }
}

/** A result for a range that never started (its command could not be made or launched). */
export function notStarted(range: EventRange, worker: number, dir: string, status: RangeOutcome, code: number, diag: string): RangeResult {
  return { range, worker, status, exitCode: null, errorCode: code, errorDiag: truncateDiag(diag), cpuSec: 0, maxRssKb: 0, wallSec: 0, dir };
}

export async function runRange(input: RangeRunInput): Promise<RangeResult> {
  const { range, worker, supervisor } = input;
  // The ID is five integers joined by dashes (checked on receipt), so it is a safe directory name.
  const dir = path.join(input.jobDir, range.eventRangeID);
  const stdoutPath = path.join(dir, 'payload.stdout');
  const stderrPath = path.join(dir, 'payload.stderr');
  let payload: PayloadProcess;
  try {
    mkdirSync(dir, { recursive: true });
    payload = await PayloadProcess.start({
      command: input.command,
      cwd: dir,
      env: input.env,
      stdoutPath,
      stderrPath,
      cgroupProcsFile: supervisor.cgroupProcsFile,
      recordDir: input.recordDir,
    });
  } catch (err) {
    await supervisor.cleanup();
    const code = err instanceof PilotError ? err.code : ErrorCode.PAYLOADEXECUTIONFAILURE;
    const diag = err instanceof PilotError ? err.diagnostic : (err as Error).message;
    return notStarted(range, worker, dir, 'failed', code, `cannot start event range: ${diag}`);
  }
  const started = Date.now();
  let stopReason: PilotError | null = null;
  const stopWith = (reason: PilotError) => {
    stopReason ??= reason;
    void payload.stop(input.killGraceMs());
  };
  const onStop = () => stopWith(PilotError.from(input.stop.reason, ErrorCode.KILLSIGNAL));
  input.stop.addEventListener('abort', onStop, { once: true });
  if (input.stop.aborted) onStop();
  // A second signal: no grace left for anyone (a range that ignores SIGTERM must not hold the pilot).
  const onKill = () => {
    stopReason ??= PilotError.from(input.stop.reason, ErrorCode.KILLSIGNAL);
    void payload.stop(0);
  };
  input.kill.addEventListener('abort', onKill, { once: true });
  if (input.kill.aborted) onKill();

  let maxRssKb = 0;
  supervisor.start(
    payload.pid,
    dir,
    [stdoutPath, stderrPath],
    (verdict) => stopWith(new PilotError(verdict.code, `event range: ${verdict.diagnostic}`)),
    input.sleep,
    (sample) => {
      maxRssKb = Math.max(maxRssKb, sample.rss);
      input.onSample?.(sample.rss);
    },
  );

  let exit: PayloadExit;
  let oom: OomEvidence | null;
  try {
    exit = await payload.done;
    input.stop.removeEventListener('abort', onStop);
    input.kill.removeEventListener('abort', onKill);
    const failed = exit.exitCode !== 0 || exit.signal !== null;
    ({ oom } = await supervisor.finish(exit, failed && stopReason === null));
  } finally {
    input.onSample?.(0);
    await supervisor.cleanup(); // the range's cgroup goes, and whatever it left running with it
  }
  const status = shellStatus(exit, signalNumber);
  const cpuSec = (exit.cpuUserSec ?? 0) + (exit.cpuSysSec ?? 0);
  const base = { range, worker, exitCode: status, cpuSec, maxRssKb, wallSec: (Date.now() - started) / 1000, dir };
  const reason = stopReason as PilotError | null;
  if (reason) return { ...base, status: 'failed', errorCode: reason.code, errorDiag: truncateDiag(reason.diagnostic) };
  if (exit.launchError)
    return { ...base, status: 'failed', errorCode: ErrorCode.INTERNALPILOTPROBLEM, errorDiag: truncateDiag(`event range: ${exit.launchError}`) };
  if (status === 0) return { ...base, status: 'finished', errorCode: 0, errorDiag: '' };
  // 1212 only on evidence (the kernel's record, the cgroup's counter), never on status 137 alone; the kernel's words lead.
  if (oom) return { ...base, status: 'failed', errorCode: ErrorCode.PAYLOADOUTOFMEMORY, errorDiag: oom.diagnostic.slice(0, 250) };
  const how = exit.signal && exit.exitCode === null ? `was killed by ${exit.signal}` : `exited with status ${status}`;
  const fatal = input.fatalExitCodes.has(status);
  const last = lastStderrLine(dir);
  const diag = `event range ${how}${fatal ? ' (fatal: not retried)' : ''}${last ? `: ${last}` : ''}`;
  return { ...base, status: fatal ? 'fatal' : 'failed', errorCode: status, errorDiag: truncateDiag(diag) };
}
