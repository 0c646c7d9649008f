/**
 * Waiting that a stop request can always cut short. `pause` resolves (never
 * rejects) when the signal aborts, so a loop written as
 * `await pause(ms, signal); if (signal.aborted) …` acts on SIGTERM at once,
 * whatever it was waiting for, and no abort reason escapes as a rejection.
 */

/**
 * An injectable wait (tests pass fake ones). Contract: resolves after `ms`,
 * or as soon as `signal` aborts; callers look at `signal.aborted` afterwards
 * rather than at the value, so a fake that just resolves is a valid Sleep.
 */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<unknown>;

/**
 * Resolves `true` after `ms`, or `false` as soon as `signal` aborts (at once
 * when it already has). The timer is cleared on abort, so a woken pause
 * leaves nothing behind that keeps the process alive.
 */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `pause` as a Sleep: the default wherever a wait is injectable. */
export const realPause: Sleep = pause;
