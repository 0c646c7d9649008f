/**
 * Per-range watchdog decisions, as plain functions: memory over the range's
 * share, walltime, and looping (no file in the range's directory changed for
 * the looping limit, pilot3's rule applied to each range on its own).
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

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

/** Why a range must be stopped now, or null. */
export function guardVerdict(limits: RangeLimits, seen: RangeObservation): PilotError | null {
  if (limits.maxRssKb > 0 && seen.rssKb > limits.maxRssKb) {
    return new PilotError(
      ErrorCode.PAYLOADEXCEEDMAXMEM,
      `event range used ${Math.round(seen.rssKb / 1024)} MB RSS, over its limit of ${Math.round(limits.maxRssKb / 1024)} MB`,
    );
  }
  if (limits.walltimeMs > 0 && seen.elapsedMs > limits.walltimeMs) {
    return new PilotError(ErrorCode.REACHEDMAXTIME, `event range ran ${Math.round(seen.elapsedMs / 1000)} s, over its walltime of ${Math.round(limits.walltimeMs / 1000)} s`);
  }
  if (limits.loopingMs > 0 && seen.quietMs > limits.loopingMs) {
    return new PilotError(ErrorCode.LOOPINGJOB, `event range looping: no file in its directory changed for ${Math.round(seen.quietMs / 1000)} s`);
  }
  return null;
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
