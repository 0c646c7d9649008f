/**
 * One retry policy for every server call: which failures are worth another
 * try, and how long to wait. The sleep is injectable so tests run on fake time.
 */
import { TransportError } from './http-transport.js';

/** An HTTP reply whose status says the call did not go through. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
    readonly path: string,
  ) {
    super(`HTTP ${status} from ${path}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
}

/** Timeouts, resets, refused connections, 5xx and 429 are retryable; anything else is an answer. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof TransportError) return true;
  if (err instanceof HttpStatusError) return err.status === 429 || err.status >= 500;
  return false;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the fraction of each delay that is randomised. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (1-based): capped exponential with jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const base = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.max(0, attempt - 1));
  const spread = base * opts.jitter;
  return Math.round(base - spread + random() * spread * 2);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
