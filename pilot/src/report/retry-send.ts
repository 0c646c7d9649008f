/**
 * Sending one update until the server answers: retries on timeouts, resets,
 * 5xx and 429 with capped exponential backoff and jitter (the one retry
 * policy in server/retry-policy.ts). Every attempt sends the same update
 * with the same sequence header; the caller decides what "same" is.
 */
import { backoffDelay, DEFAULT_BACKOFF, isRetryable, realSleep, type BackoffOptions, type Sleep } from '../server/index.js';

export interface RetryOptions {
  /** Stops retrying (and the request in flight) when aborted; the promise then rejects with the reason. */
  signal: AbortSignal;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
  /** Give up after this many attempts (default: no limit). */
  maxAttempts?: number | undefined;
  /** Told about each failed attempt, before the pause. */
  onFailure?: ((err: unknown, attempt: number, willRetry: boolean) => void) | undefined;
}

/**
 * Calls `attempt` until it resolves. Rejects with the error when it is not
 * retryable (an answer that resending will not change) or attempts run out,
 * and with the signal's reason when aborted.
 */
export async function sendUntilAnswered<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  for (let n = 1; ; n++) {
    if (opts.signal.aborted) throw opts.signal.reason;
    try {
      return await attempt(n);
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason;
      const willRetry = isRetryable(err) && (opts.maxAttempts === undefined || n < opts.maxAttempts);
      opts.onFailure?.(err, n, willRetry);
      if (!willRetry) throw err;
      await sleep(backoffDelay(n, opts.backoff ?? DEFAULT_BACKOFF, opts.random), opts.signal);
    }
  }
}
