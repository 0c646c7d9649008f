/**
 * One retry and wait policy for the whole pilot (after Buildkite's `roko`):
 * `retry()` with backoff and jitter, `pause()` that resolves when stopped,
 * and `Wakeup` for loops that sleep until something happens.
 */
export { retry, type RetryOptions } from './retry.js';
export { linkedSignal, pause, realPause, type Sleep } from './pause.js';
export { backoffDelay, withJitter, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { repeat, type RepeatOptions } from './repeat.js';
export { Wakeup } from './wakeup.js';
export { isRetryable } from '../errors/index.js';
export { Deadline, NO_CUTOFF, type Cutoff } from './deadline.js';
