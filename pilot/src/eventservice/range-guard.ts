/**
 * Per-range watchdog decisions, as plain functions: memory over the range's
 * share, walltime, and looping (no file in the range's directory changed for
 * the looping limit, pilot3's rule applied to each range on its own).
 */
import { PilotError } from '../errors/index.js';
import { checkWatchdogs, NO_LIMITS } from '../monitor/index.js';

export interface RangeLimits {
  /** kB of RSS a range's process group may use; 0 = unchecked. */
  maxRssKb: number;
  /** ms a range may run; 0 = unchecked. */
  walltimeMs: number;
  /** ms without a file change in the range dir before it counts as looping; 0 = unchecked. */
  loopingMs: number;
}

export interface RangeObservation {
  rssKb: number;
  elapsedMs: number;
  /** ms since the newest modification in the range's directory. */
  quietMs: number;
}

/**
 * Why a range must be stopped now, or null. The rules are the job watchdog's
 * own (monitor/watchdog-rules.ts), applied to one range; the diagnostic says
 * it was a range.
 */
export function guardVerdict(limits: RangeLimits, seen: RangeObservation): PilotError | null {
  const verdict = checkWatchdogs(
    { elapsedSec: seen.elapsedMs / 1000, rssKb: seen.rssKb, pssKb: 0, idleSec: seen.quietMs / 1000, freeDiskMB: null, stdoutBytes: null },
    {
      ...NO_LIMITS,
      maxRssMB: limits.maxRssKb > 0 ? limits.maxRssKb / 1024 : null,
      maxWalltimeSec: limits.walltimeMs > 0 ? limits.walltimeMs / 1000 : null,
      loopingLimitSec: limits.loopingMs > 0 ? limits.loopingMs / 1000 : null,
    },
  );
  return verdict && new PilotError(verdict.code, `event range: ${verdict.diagnostic}`);
}

/**
 * A range's memory limit: its share of the job's memory (minRamCount split
 * over the ranges running side by side) times a grace factor, since a
 * quantum's peak may exceed its average share. 0 when the job set none.
 */
export function rangeMemoryLimitKb(minRamCountMB: number, concurrency: number, grace = 2): number {
  if (minRamCountMB <= 0) return 0;
  return Math.round(((minRamCountMB * 1024) / Math.max(1, concurrency)) * grace);
}
