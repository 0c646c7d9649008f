/**
 * The heartbeat loop of one job: beat when the schedule says so, until the
 * payload (or the ranges) ended. A `debug` command changes the schedule and
 * wakes the loop, so the new, sooner beat is not held behind the old
 * (possibly 30 min) wait.
 */
import { pause, type Sleep, type Wakeup } from '../retry/index.js';
import type { HeartbeatSchedule } from './heartbeat-schedule.js';

export interface HeartbeatLoopOptions {
  schedule: HeartbeatSchedule;
  /** Woken when the schedule changed (the server's debug/debugoff). */
  wakeup: Wakeup;
  /** Makes and queues one heartbeat (it reads the live figures itself). */
  beat: () => void;
  sleep?: Sleep | undefined;
}

// One reason for every loop's end: abort() without one builds a DOMException each time, for nobody to read.
const ENDED = new Error('the job ended');

/** Beats until `ended` settles (either way); resolves then, with no timer left behind. */
export async function runHeartbeats(ended: Promise<unknown>, opts: HeartbeatLoopOptions): Promise<void> {
  const injected = opts.sleep;
  // The real pause waits on both signals itself: no AbortSignal.any made on every turn.
  const sleep = injected ? (ms: number, signals: AbortSignal[]) => injected(ms, AbortSignal.any(signals)) : pause;
  const done = new AbortController();
  const stop = () => done.abort(ENDED);
  void ended.then(stop, stop);
  while (!done.signal.aborted) {
    const woken = opts.wakeup.signal;
    await sleep(opts.schedule.msUntilDue(), [done.signal, woken]).catch(() => undefined);
    if (done.signal.aborted) break;
    // woken by `debug`: the schedule already holds the new, sooner beat
    if (woken.aborted) continue;
    opts.beat();
    opts.schedule.beaten();
  }
}
