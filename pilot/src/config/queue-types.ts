/**
 * A PanDA queue's fields as the pilot uses them, in schedconfig names (docs/panda-protocol.md §11).
 * Written out by hand, not inferred from zod: the pilot's run path reads queue data with the
 * hand-written validator in queue-data.ts and never loads zod; site-config/ checks its zod schemas
 * against these types at compile time, so the two cannot drift apart.
 */

/** Queue states a broker and a pilot act on. */
export const QUEUE_STATUSES = ['online', 'brokeroff', 'offline', 'test'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

export const QUEUE_STATES = ['ACTIVE', 'INACTIVE', 'DISABLED'] as const;
export const QUEUE_TYPES = ['production', 'analysis', 'unified'] as const;
export const QUEUE_WORKFLOWS = ['pull', 'push', 'pull_ups', 'push_ups'] as const;

/** Defaults a pilot on this queue uses for flags the command line did not give. */
export interface PilotDefaults {
  pilot_user?: string | undefined;
  job_label?: string | undefined;
  heartbeat?: number | undefined;
  lifetime?: number | undefined;
  slots?: number | undefined;
  getjob_wait?: number | undefined;
}

/** Fields pilots read from `params` (pilot3 names); others are kept as they are. */
export interface QueueParams {
  job_maxwalltime?: number | undefined;
  pilot_walltime_grace?: number | undefined;
  pilot_rss_grace?: number | undefined;
  [key: string]: unknown;
}

/** A queue after validation, defaults filled. Units as the site-config README lists them. */
export interface QueueConfig {
  name: string;
  nickname?: string | undefined;
  panda_resource?: string | undefined;
  /** The facility site the queue belongs to (e.g. SLAC); tasks may name it instead of a queue. */
  site: string;
  atlas_site?: string | undefined;
  cloud: string;
  tier: string;
  state: (typeof QUEUE_STATES)[number];
  status: QueueStatus;
  type: (typeof QUEUE_TYPES)[number];
  /** MB: a job needs more than this to be brokered here (0 = no lower bound). */
  minrss: number;
  /** MB: the most a job may need here; also the pilot's memory limit (0 = no limit). */
  maxrss: number;
  /** Seconds a pilot may run (0 = no limit). */
  maxtime: number;
  /** Cores per pilot slot (0 = any). */
  corecount: number;
  /** MB of work dir space (0 = not set). */
  maxwdir: number;
  /** MB of input a job may stage in (0 = no limit). */
  maxinputsize: number;
  /** Minutes a pilot keeps asking for jobs. */
  timefloor: number;
  copytools: Record<string, Record<string, unknown>>;
  container_type: string;
  catchall: string;
  /** Resource type a pilot of this queue asks for; computed from the memory range when not given. */
  resource_type?: string | undefined;
  /** How jobs reach the pilots (absent: pull): pull (they ask the server) or push (Harvester hands them over through files). */
  workflow?: (typeof QUEUE_WORKFLOWS)[number] | undefined;
  /** `ucore`: one queue serves several resource types (single- and multi-core). */
  capability?: string | undefined;
  params: QueueParams;
  pilot_defaults?: PilotDefaults | undefined;
  comment?: string | undefined;
}

/** A queue read from queue data: site/cloud/tier/name optional, unknown fields kept. */
export type LooseQueueData = Omit<QueueConfig, 'name' | 'site' | 'cloud' | 'tier'> & {
  name?: string | undefined;
  site?: string | undefined;
  cloud?: string | undefined;
  tier?: string | undefined;
  [key: string]: unknown;
};

/** One row of the resource-type table (panda-server's resource_types columns; null = unbounded). */
export interface ResourceTypeRow {
  name: string;
  mincore: number | null;
  maxcore: number | null;
  minrampercore: number | null;
  maxrampercore: number | null;
}

/** Names of every queue field, for "did you mean" hints and for telling ignored fields apart. */
export const QUEUE_FIELDS: readonly string[] = [
  'name',
  'nickname',
  'panda_resource',
  'site',
  'atlas_site',
  'cloud',
  'tier',
  'state',
  'status',
  'type',
  'minrss',
  'maxrss',
  'maxtime',
  'corecount',
  'maxwdir',
  'maxinputsize',
  'timefloor',
  'copytools',
  'container_type',
  'catchall',
  'resource_type',
  'workflow',
  'capability',
  'params',
  'pilot_defaults',
  'comment',
];
