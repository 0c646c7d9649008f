/**
 * The one periodic loop: run a step, pause, run it again, until stopped.
 * Sampling loops use it instead of `setInterval` so a step never overlaps
 * the one before it and a stop is seen within one step, never after a wait.
 */
import { pause, type Sleep } from './pause.js';

export interface RepeatOptions {
  signal: AbortSignal;
  /** The pause after run number `n` (1-based), in ms: put jitter and growth here (see `backoffDelay`). */
  wait: (n: number) => number;
  sleep?: Sleep | undefined;
}

/** Runs `step` at once, then again after each `wait(n)`, until `signal` aborts; rejects only if a step throws. */
export async function repeat(step: (n: number) => void | Promise<void>, opts: RepeatOptions): Promise<void> {
  const sleep = opts.sleep ?? pause;
  for (let n = 1; !opts.signal.aborted; n++) {
    await step(n);
    if (opts.signal.aborted) break;
    await sleep(opts.wait(n), opts.signal).catch(() => undefined);
  }
}
