/**
 * The server watchdog's rules (docs/panda-protocol.md §4), as a pure decision: a job
 * `sent` whose pilot never answered fails with dispatcher code 102; a job
 * `starting`/`running` whose heartbeats stopped fails with 100 "lost
 * heartbeat". The clock is the last written update, as on the real server.
 */
import type { ServerJobState } from '../../../pilot/src/protocol/index.js';

/** Seconds after which the watchdog acts. Real server: 30 min and 2 h. */
export interface WatchdogLimits {
  sentSec: number;
  heartbeatSec: number;
}

export const REAL_SERVER_LIMITS: WatchdogLimits = { sentSec: 30 * 60, heartbeatSec: 2 * 3600 };

/** The dispatcher error codes the real server sets for these failures. */
export const WATCHDOG_CODE = { SENT_NO_REPLY: 102, LOST_HEARTBEAT: 100 } as const;

/** What the watchdog looks at in a job. */
export interface WatchedJob {
  state: ServerJobState;
  dispatchedAt: string | null;
  heartbeatAt: string | null;
  stateChangedAt: string;
}

/** The failure to record, or null when the job is fine. */
export type WatchdogVerdict = { code: number; diag: string } | null;

function secondsSince(iso: string | null, fallback: string, now: Date): number {
  const t = Date.parse(iso ?? fallback);
  return Number.isFinite(t) ? (now.getTime() - t) / 1000 : 0;
}

/** Decides whether the watchdog fails `job` at `now`. */
export function watchdogVerdict(job: WatchedJob, now: Date, limits: WatchdogLimits): WatchdogVerdict {
  if (job.state === 'sent') {
    const idle = secondsSince(job.dispatchedAt, job.stateChangedAt, now);
    if (idle >= limits.sentSec) {
      return { code: WATCHDOG_CODE.SENT_NO_REPLY, diag: `Sent job did not receive a reply from the pilot within ${Math.round(limits.sentSec)} s` };
    }
    return null;
  }
  if (job.state === 'starting' || job.state === 'running') {
    const idle = secondsSince(job.heartbeatAt, job.stateChangedAt, now);
    if (idle >= limits.heartbeatSec) return { code: WATCHDOG_CODE.LOST_HEARTBEAT, diag: `lost heartbeat (none for ${Math.round(idle)} s)` };
  }
  return null;
}
