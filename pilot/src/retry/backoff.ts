/** How long to wait between attempts: capped exponential backoff with jitter. */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the fraction of each delay that is randomised. */
  jitter: number;
}

/** Server calls: 1 s, 2 s, 4 s … up to a minute, each ±50 % so pilots started together do not retry together. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (1-based): capped exponential with jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.max(0, attempt - 1));
  const spread = base * opts.jitter;
  return Math.round(base - spread + random() * spread * 2);
}

/** `ms` spread by ±`fraction` (0..1), for loops on an interval that should not fall into step with others. */
export function withJitter(ms: number, fraction = 0.1, random: () => number = Math.random): number {
  return Math.round(ms * (1 - fraction + random() * fraction * 2));
}
