/**
 * Runs one range: its own directory `<jobDir>/<eventRangeID>/`, its own
 * process group, its own watchdog (memory, walltime, looping), and a result
 * that says what to report: finished, failed (retry may help) or fatal
 * (it will not).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { ErrorCode } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import { newestMtimeMs, sessionProcesses, totals } from '../monitor/index.js';
import { PayloadProcess, type PayloadExit } from '../run/index.js';
import { pause, type Sleep } from '../retry/index.js';
import type { EventRange } from './event-range.js';
import { guardVerdict, type RangeLimits } from './range-guard.js';

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
  limits: RangeLimits;
  /** Exit codes that mean "this input will never work": reported fatal. */
  fatalExitCodes: ReadonlySet<number>;
  /** Aborted (reason: a PilotError) when every range must stop now. */
  stop: AbortSignal;
  killGraceMs: number;
  /** Where the range's process group is recorded while it lives. */
  recordDir?: string | undefined;
  /** How often the process tree is sampled (ms). */
  sampleMs: number;
  /** Each sample's RSS of this range's process group, for the job's peak. */
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

function shellStatus(exit: PayloadExit): number {
  if (exit.exitCode !== null) return exit.exitCode;
  return exit.signal ? 128 + (osConstants.signals[exit.signal] ?? 0) : -1;
}

/** A result for a range that never started (its command could not be made or launched). */
export function notStarted(range: EventRange, worker: number, dir: string, status: RangeOutcome, code: number, diag: string): RangeResult {
  return { range, worker, status, exitCode: null, errorCode: code, errorDiag: truncateDiag(diag), cpuSec: 0, maxRssKb: 0, wallSec: 0, dir };
}

export async function runRange(input: RangeRunInput): Promise<RangeResult> {
  const { range, worker } = input;
  // The ID is five integers joined by dashes (checked on receipt), so it is a safe directory name.
  const dir = path.join(input.jobDir, range.eventRangeID);
  let payload: PayloadProcess;
  try {
    mkdirSync(dir, { recursive: true });
    payload = await PayloadProcess.start({
      command: input.command,
      cwd: dir,
      env: input.env,
      stdoutPath: path.join(dir, 'payload.stdout'),
      stderrPath: path.join(dir, 'payload.stderr'),
      recordDir: input.recordDir,
    });
  } catch (err) {
    const code = err instanceof PilotError ? err.code : ErrorCode.PAYLOADEXECUTIONFAILURE;
    const diag = err instanceof PilotError ? err.diagnostic : (err as Error).message;
    return notStarted(range, worker, dir, 'failed', code, `cannot start event range: ${diag}`);
  }
  const started = Date.now();
  let stopReason: PilotError | null = null;
  const stopWith = (reason: PilotError) => {
    stopReason ??= reason;
    void payload.stop(input.killGraceMs);
  };
  const onStop = () => stopWith(PilotError.from(input.stop.reason, ErrorCode.KILLSIGNAL));
  input.stop.addEventListener('abort', onStop, { once: true });
  if (input.stop.aborted) onStop();

  let maxRssKb = 0;
  const ended = new AbortController();
  void payload.done.then(() => ended.abort());
  const watch = (async () => {
    const sleep = input.sleep ?? pause;
    let lastLoopCheck = started;
    let quietSince = started;
    const loopEvery = Math.min(60_000, Math.max(input.sampleMs, input.limits.loopingMs / 4));
    while (!ended.signal.aborted && stopReason === null) {
      const t = totals(sessionProcesses(payload.pid));
      maxRssKb = Math.max(maxRssKb, t.rssKb);
      input.onSample?.(t.rssKb);
      const now = Date.now();
      if (input.limits.loopingMs > 0 && now - lastLoopCheck >= loopEvery) {
        lastLoopCheck = now;
        quietSince = Math.max(quietSince, newestMtimeMs(dir) ?? 0);
      }
      const verdict = guardVerdict(input.limits, { rssKb: t.rssKb, elapsedMs: now - started, quietMs: input.limits.loopingMs > 0 ? now - quietSince : 0 });
      if (verdict) stopWith(verdict);
      await sleep(input.sampleMs * (0.9 + Math.random() * 0.2), ended.signal).catch(() => undefined);
    }
  })();

  const exit = await payload.done;
  await watch;
  input.onSample?.(0);
  input.stop.removeEventListener('abort', onStop);
  const status = shellStatus(exit);
  const cpuSec = (exit.cpuUserSec ?? 0) + (exit.cpuSysSec ?? 0);
  const base = { range, worker, exitCode: status, cpuSec, maxRssKb, wallSec: (Date.now() - started) / 1000, dir };
  const reason = stopReason as PilotError | null;
  if (reason) return { ...base, status: 'failed', errorCode: reason.code, errorDiag: truncateDiag(reason.diagnostic) };
  if (status === 0) return { ...base, status: 'finished', errorCode: 0, errorDiag: '' };
  const how = exit.signal && exit.exitCode === null ? `was killed by ${exit.signal}` : `exited with status ${status}`;
  const fatal = input.fatalExitCodes.has(status);
  const last = lastStderrLine(dir);
  const diag = `event range ${how}${fatal ? ' (fatal: not retried)' : ''}${last ? `: ${last}` : ''}`;
  return { ...base, status: fatal ? 'fatal' : 'failed', errorCode: status, errorDiag: truncateDiag(diag) };
}
