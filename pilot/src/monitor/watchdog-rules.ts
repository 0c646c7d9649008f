/**
 * The pilot's watchdogs as plain decisions: facts from one monitor sample
 * and the limits in force → the PilotError that stops the payload, or null.
 * The monitor loop gathers the facts; the job runner does the stopping.
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

/** Limits; null switches a rule off. */
export interface WatchdogLimits {
  /** The pilot's own memory limit for the payload's tree (PSS, else RSS), MB → 1235. */
  maxRssMB: number | null;
  /** No file in the job dir modified for this long, seconds → 1150. */
  loopingLimitSec: number | null;
  /** Job maxWalltime or queue maxtime, seconds → 1213. */
  maxWalltimeSec: number | null;
  /** Free space the job dir's file system must keep, MB → 1098. */
  minDiskMB: number | null;
  /** Largest payload stdout + stderr, MB → 1106. */
  maxStdoutMB: number | null;
}

export const NO_LIMITS: WatchdogLimits = { maxRssMB: null, loopingLimitSec: null, maxWalltimeSec: null, minDiskMB: null, maxStdoutMB: null };

/** What one sample saw. Null = not measured this time (the rule does not fire). */
export interface WatchdogFacts {
  elapsedSec: number;
  rssKb: number;
  pssKb: number;
  /** Seconds since the newest file in the job dir (or the payload start) changed. */
  idleSec: number | null;
  freeDiskMB: number | null;
  stdoutBytes: number | null;
}

const mb = (kb: number): number => Math.round(kb / 1024);

/**
 * The first limit the payload broke, in order of how sure the verdict is:
 * memory, walltime, disk, stdout, looping.
 */
export function checkWatchdogs(f: WatchdogFacts, l: WatchdogLimits): PilotError | null {
  if (l.maxRssMB !== null) {
    // PSS counts shared pages once, as prmon-based watchdogs do; RSS when PSS is unreadable.
    const [what, kb] = f.pssKb > 0 ? ['PSS', f.pssKb] : ['RSS', f.rssKb];
    if (kb > l.maxRssMB * 1024) {
      return new PilotError(
        ErrorCode.PAYLOADEXCEEDMAXMEM,
        `payload ${what} ${mb(kb)} MB exceeded the pilot's memory limit of ${l.maxRssMB} MB; killed by the pilot's memory watchdog`,
      );
    }
  }
  if (l.maxWalltimeSec !== null && f.elapsedSec > l.maxWalltimeSec) {
    return new PilotError(ErrorCode.REACHEDMAXTIME, `payload ran ${Math.round(f.elapsedSec)} s, over its walltime limit of ${l.maxWalltimeSec} s`);
  }
  if (l.minDiskMB !== null && f.freeDiskMB !== null && f.freeDiskMB < l.minDiskMB) {
    return new PilotError(ErrorCode.NOLOCALSPACE, `only ${f.freeDiskMB} MB free in the job dir's file system, below the ${l.minDiskMB} MB a running job needs`);
  }
  if (l.maxStdoutMB !== null && f.stdoutBytes !== null && f.stdoutBytes > l.maxStdoutMB * 1024 * 1024) {
    return new PilotError(
      ErrorCode.STDOUTTOOBIG,
      `payload stdout/stderr reached ${Math.round(f.stdoutBytes / 1024 / 1024)} MB, over the ${l.maxStdoutMB} MB limit`,
    );
  }
  if (l.loopingLimitSec !== null && f.idleSec !== null && f.idleSec > l.loopingLimitSec) {
    return new PilotError(
      ErrorCode.LOOPINGJOB,
      `looping job: no file in the job dir was modified for ${Math.round(f.idleSec)} s (limit ${l.loopingLimitSec} s)`,
    );
  }
  return null;
}
