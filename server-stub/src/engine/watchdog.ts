/**
 * The watchdog loop: every interval (with jitter) it looks at dispatched jobs
 * and fails those the rules in `model/watchdog-rules.ts` give up on, each in
 * its own transaction, conditional on the job not having moved meanwhile.
 */
import type { Logger } from 'pino';
import type { ResourceTypeRow } from '../model/resource-types.js';
import { watchdogVerdict, type WatchdogLimits } from '../model/watchdog-rules.js';
import type { Stores } from '../store/index.js';
import { failByServer } from './job-end.js';

/** One job the watchdog failed. */
export interface WatchdogAction {
  pandaId: number;
  from: string;
  code: number;
  diag: string;
}

const WATCHED = ['sent', 'starting', 'running'] as const;

/** One pass over the watched jobs at `now`. */
export function watchdogSweep(stores: Stores, limits: WatchdogLimits, now: Date, resourceTypes?: readonly ResourceTypeRow[]): WatchdogAction[] {
  const actions: WatchdogAction[] = [];
  for (const state of WATCHED) {
    for (const job of stores.jobs.list({ state })) {
      if (!watchdogVerdict(job, now, limits)) continue;
      // Re-read inside the transaction: an update may have arrived since the list was taken.
      stores.atomically(() => {
        const current = stores.jobs.get(job.pandaId);
        const verdict = current && watchdogVerdict(current, now, limits);
        if (!current || !verdict) return;
        if (failByServer(stores, current.pandaId, current.state, verdict, now.toISOString(), resourceTypes)) {
          actions.push({ pandaId: current.pandaId, from: current.state, code: verdict.code, diag: verdict.diag });
        }
      });
    }
  }
  return actions;
}

/** Options of the watchdog loop. */
export interface WatchdogOptions {
  intervalSec: number;
  signal: AbortSignal;
  log: Logger;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `sweep` every interval (±10 %) until `signal` aborts. A failing sweep is logged and the loop goes on. */
export async function runWatchdog(sweep: () => WatchdogAction[], opts: WatchdogOptions): Promise<void> {
  while (!opts.signal.aborted) {
    await pause(opts.intervalSec * 1000 * (0.9 + Math.random() * 0.2), opts.signal);
    if (opts.signal.aborted) break;
    try {
      for (const a of sweep()) {
        opts.log.warn({ event: 'watchdog_failed_job', ...a }, `watchdog failed job ${a.pandaId} (${a.code})`);
      }
    } catch (err) {
      opts.log.error({ event: 'watchdog_error', err }, 'watchdog sweep failed');
    }
  }
}
