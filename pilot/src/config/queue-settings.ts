/**
 * What a queue's data means for a pilot, as plain functions: whether it may
 * pull jobs at all, the limits its watchdogs enforce, and the defaults it
 * takes for flags the command line left out.
 */
import type { QueueConfig, QueueStatus } from './queue-types.js';

/** pilot3's exit codes for a queue that must not run jobs (docs/panda-protocol.md §11). */
export const QUEUE_EXIT = { OFFLINE: 83, NOT_ACTIVE: 78 } as const;

/**
 * The limits a pilot on this queue enforces; the memory and walltime
 * watchdogs read them from `JobContext.queueLimits`.
 */
export interface QueueLimits {
  queue: string;
  status: QueueStatus;
  /** MB a job may use (queue maxrss); null when the queue sets no limit. */
  maxRssMB: number | null;
  /** pilot3's `params.pilot_rss_grace`: a watchdog kills above maxRssMB × this factor (1 when unset). */
  rssGraceFactor: number;
  /** Seconds a pilot may run (queue maxtime); null when unlimited. */
  maxtimeSec: number | null;
  /** Seconds a job may run (`params.job_maxwalltime`); null when unset. */
  jobMaxWalltimeSec: number | null;
  /** Cores per slot (queue corecount; 0 = any). */
  coreCount: number;
  /** Queue timefloor in seconds: after the first job, take more only while less than this has passed (0: none). */
  timefloorSec: number;
  /** Where the queue data came from (file, URL, release tree), for the log. */
  source: string;
}

/** Why a pilot must not pull jobs from this queue, or null when it may. */
export function queueRefusal(queue: Pick<QueueConfig, 'name' | 'status' | 'state'>): { exitCode: number; reason: string } | null {
  if (queue.status === 'offline') return { exitCode: QUEUE_EXIT.OFFLINE, reason: `queue ${queue.name} is offline` };
  if (queue.state !== 'ACTIVE') return { exitCode: QUEUE_EXIT.NOT_ACTIVE, reason: `queue ${queue.name} is not active (state ${queue.state})` };
  return null;
}

/** The queue's limits for the watchdogs. */
export function queueLimits(queue: QueueConfig, source: string): QueueLimits {
  return {
    queue: queue.name,
    status: queue.status,
    maxRssMB: queue.maxrss > 0 ? queue.maxrss : null,
    rssGraceFactor: queue.params.pilot_rss_grace ?? 1,
    maxtimeSec: queue.maxtime > 0 ? queue.maxtime : null,
    jobMaxWalltimeSec: queue.params.job_maxwalltime && queue.params.job_maxwalltime > 0 ? queue.params.job_maxwalltime : null,
    coreCount: queue.corecount,
    timefloorSec: queue.timefloor * 60,
    source,
  };
}

/** Pilot settings a queue can supply when the command line does not. */
export interface QueueTunables {
  memMB: number | undefined;
  slots: number;
  lifetimeSec: number;
  heartbeatSec: number;
  getjobWaitSec: number;
  prodSourceLabel: string;
  pilotUser: string;
  resourceType: string | undefined;
}

/**
 * Settings after the queue's say. A flag given on the command line always
 * wins, except that the lifetime never exceeds the queue's maxtime (the batch
 * system would kill the pilot there anyway, mid-report). Otherwise:
 * `mem` ← maxrss, `slots` ← pilot_defaults.slots or corecount,
 * resource type ← the queue's, and pilot_defaults for the rest.
 */
export function applyQueue<T extends QueueTunables>(opts: T, given: ReadonlySet<string>, queue: QueueConfig): T {
  const d = queue.pilot_defaults ?? {};
  const pick = <K extends keyof QueueTunables>(key: K, fromQueue: QueueTunables[K] | undefined): QueueTunables[K] =>
    given.has(key) || fromQueue === undefined ? opts[key] : fromQueue;
  const lifetime = pick('lifetimeSec', d.lifetime);
  return {
    ...opts,
    memMB: pick('memMB', queue.maxrss > 0 ? queue.maxrss : undefined),
    slots: pick('slots', d.slots ?? (queue.corecount > 0 ? queue.corecount : undefined)),
    lifetimeSec: queue.maxtime > 0 ? Math.min(lifetime, queue.maxtime) : lifetime,
    heartbeatSec: pick('heartbeatSec', d.heartbeat),
    getjobWaitSec: pick('getjobWaitSec', d.getjob_wait),
    prodSourceLabel: pick('prodSourceLabel', d.job_label),
    pilotUser: pick('pilotUser', d.pilot_user),
    resourceType: pick('resourceType', queue.resource_type),
  };
}
