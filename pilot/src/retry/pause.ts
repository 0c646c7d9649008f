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
 * Resolves `true` after `ms`, or `false` as soon as `signal` (or any of
 * several) aborts (at once when one already has). The timer is cleared on
 * abort and the listeners removed either way, so a pause leaves nothing
 * behind: no timer keeping the process alive, and no trace on a long-lived
 * signal (AbortSignal.any([perJob, pilotSignal]) kept one WeakRef per call
 * in the pilot signal's dependants on Node 20: one per job, for the
 * pilot's whole life).
 */
export function pause(ms: number, signal?: AbortSignal | readonly AbortSignal[]): Promise<boolean> {
  const signals = signal === undefined ? [] : Array.isArray(signal) ? (signal as readonly AbortSignal[]) : [signal as AbortSignal];
  if (signals.some((s) => s.aborted)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const unlink = () => {
      for (const s of signals) s.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      clearTimeout(timer);
      unlink();
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        unlink();
        resolve(true);
      },
      Math.max(0, ms),
    );
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One signal that aborts when any of `signals` does, with the first one's
 * reason. Unlike AbortSignal.any, `unlink()` leaves the sources as they were:
 * call it when the work is over, so a long-lived source (the pilot's stop
 * signal) does not collect a dependant per request.
 */
export function linkedSignal(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; unlink(): void } {
  const controller = new AbortController();
  const links = signals
    .filter((s): s is AbortSignal => s !== undefined)
    .map((source) => ({
      source,
      onAbort: () => {
        unlink();
        controller.abort(source.reason);
      },
    }));
  const unlink = () => {
    for (const l of links) l.source.removeEventListener('abort', l.onAbort);
  };
  const already = links.find((l) => l.source.aborted);
  if (already) controller.abort(already.source.reason);
  else for (const l of links) l.source.addEventListener('abort', l.onAbort, { once: true });
  return { signal: controller.signal, unlink };
}

/** `pause` as a Sleep: the default wherever a wait is injectable. */
export const realPause: Sleep = pause;
