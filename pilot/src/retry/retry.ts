/**
 * The one retry loop: call until it works, an answer says trying again will
 * not help, attempts or time run out, or the caller stops. Every wait in it
 * is a `pause` on the caller's signal, so a SIGTERM during a long backoff
 * (a final update to a server that is away) is acted on at once.
 */
import { isRetryable } from '../errors/index.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { pause, type Sleep } from './pause.js';

export interface RetryOptions {
  /** Stops retrying (and the attempt in flight, if it takes the signal); the promise then rejects with the reason. */
  signal: AbortSignal;
  /** Which failures are worth another try (default: timeouts, resets, 5xx, 429 — `isRetryable`). */
  retryable?: ((err: unknown) => boolean) | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
  sleep?: Sleep | undefined;
  /** Give up after this many attempts (default: no limit). */
  maxAttempts?: number | undefined;
  /** Give up once `now()` reaches this time (ms, same clock as `now`); the last wait is cut to end there. */
  deadline?: number | undefined;
  now?: (() => number) | undefined;
  /** Told about each failed attempt, before the pause. */
  onFailure?: ((err: unknown, attempt: number, willRetry: boolean) => void) | undefined;
}

/**
 * Calls `attempt` (with its 1-based number) until it resolves. Rejects with
 * the last error when it is not retryable or attempts/time run out, and with
 * the signal's reason when aborted (before an attempt or during a wait).
 */
export async function retry<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? pause;
  const now = opts.now ?? Date.now;
  const retryable = opts.retryable ?? isRetryable;
  const { signal } = opts;
  for (let n = 1; ; n++) {
    if (signal.aborted) throw signal.reason;
    try {
      return await attempt(n);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      let delay = backoffDelay(n, opts.backoff ?? DEFAULT_BACKOFF, opts.random);
      const left = opts.deadline === undefined ? Infinity : opts.deadline - now();
      const willRetry = retryable(err) && (opts.maxAttempts === undefined || n < opts.maxAttempts) && left > 0;
      opts.onFailure?.(err, n, willRetry);
      if (!willRetry) throw err;
      delay = Math.min(delay, left);
      // A Sleep may resolve or (an older one) reject when aborted: either way the check below decides.
      await sleep(delay, signal).catch(() => undefined);
    }
  }
}
