/**
 * The shape of a PanDA queue and of the files that describe queues, in
 * schedconfig field names (docs/panda-protocol.md §11) so a normalised queue can be served
 * as `/cache/schedconfig/<queue>.all.json` and read back by any pilot.
 *
 * Two strictness levels: site-config files we author are strict (an unknown
 * field is a typo and is refused), queue data read from a server or CRIC is
 * loose (it carries hundreds of fields a pilot ignores; the known ones are
 * still checked).
 */
// Namespace import: lets esbuild drop zod's 40 locales (~550 KB the pilot parsed at every start).
import * as z from 'zod';

/** Queue states a broker and a pilot act on. */
export const QUEUE_STATUSES = ['online', 'brokeroff', 'offline', 'test'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const nameField = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(NAME, `${what} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
const count = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .nonnegative(`${what} must not be negative`);

/** Fields pilots read from `params` (pilot3 names); others are kept as they are. */
const paramsSchema = z.looseObject({
  job_maxwalltime: count('job_maxwalltime (seconds)').optional(),
  pilot_walltime_grace: z.number().nonnegative().optional(),
  pilot_rss_grace: z.number().positive('pilot_rss_grace must be a positive factor').optional(),
});

/** Defaults a pilot on this queue uses for flags the command line did not give. */
const pilotDefaultsSchema = z.strictObject({
  pilot_user: z.string().min(1).optional(),
  job_label: z.string().min(1).optional(),
  heartbeat: z.number().positive('heartbeat must be positive (seconds)').optional(),
  lifetime: z.number().positive('lifetime must be positive (seconds)').optional(),
  slots: z.number().int().positive('slots must be a positive whole number').optional(),
  getjob_wait: z.number().nonnegative().optional(),
});

/** Every queue field with its unit; the site-config README lists the same. */
const queueShape = {
  name: nameField('name'),
  nickname: nameField('nickname').optional(),
  panda_resource: nameField('panda_resource').optional(),
  /** The facility site the queue belongs to (e.g. SLAC); tasks may name it instead of a queue. */
  site: nameField('site'),
  atlas_site: z.string().optional(),
  cloud: z.string().min(1, 'cloud must not be empty'),
  tier: z.string().regex(/^T[0-3]$/, 'tier must be T0, T1, T2 or T3'),
  state: z.enum(['ACTIVE', 'INACTIVE', 'DISABLED'], { error: 'state must be ACTIVE, INACTIVE or DISABLED' }).default('ACTIVE'),
  status: z.enum(QUEUE_STATUSES, { error: `status must be one of ${QUEUE_STATUSES.join(', ')}` }),
  type: z.enum(['production', 'analysis', 'unified'], { error: 'type must be production, analysis or unified' }).default('production'),
  /** MB: a job needs more than this to be brokered here (0 = no lower bound). */
  minrss: count('minrss (MB)').default(0),
  /** MB: the most a job may need here; also the pilot's memory limit (0 = no limit). */
  maxrss: count('maxrss (MB)').default(0),
  /** Seconds a pilot may run (0 = no limit). */
  maxtime: count('maxtime (seconds)').default(0),
  /** Cores per pilot slot (0 = any). */
  corecount: count('corecount').default(1),
  /** MB of work dir space (0 = not set). */
  maxwdir: count('maxwdir (MB)').default(0),
  /** MB of input a job may stage in (0 = no limit). */
  maxinputsize: count('maxinputsize (MB)').default(0),
  /** Minutes a pilot keeps asking for jobs. */
  timefloor: count('timefloor (minutes)').default(0),
  copytools: z.record(z.string(), z.record(z.string(), z.unknown()), { error: 'copytools must be an object of {tool: {settings}}' }).default({}),
  container_type: z.string().default(''),
  catchall: z.string().default(''),
  /** Resource type a pilot of this queue asks for; computed from the memory range when not given. */
  resource_type: z.string().min(1).optional(),
  /** How jobs reach the pilots (absent: pull): pull (they ask the server) or push (Harvester hands them over through files). */
  workflow: z.enum(['pull', 'push', 'pull_ups', 'push_ups'], { error: 'workflow must be pull, push, pull_ups or push_ups' }).optional(),
  /** `ucore`: one queue serves several resource types (single- and multi-core). */
  capability: z.string().optional(),
  params: paramsSchema.default({}),
  pilot_defaults: pilotDefaultsSchema.optional(),
  comment: z.string().optional(),
};

/** A queue as site-config files give it: every field known, site/cloud/tier required. */
export const strictQueueSchema = z.strictObject(queueShape);

/** Queue data from a server: unknown fields kept, site/cloud/tier optional (pilot3 does not need them). */
export const looseQueueSchema = z.looseObject({
  ...queueShape,
  name: nameField('name').optional(),
  nickname: nameField('nickname').optional(),
  site: z.string().optional(),
  cloud: z.string().optional(),
  tier: z.string().optional(),
  // Servers send `status` lower-case, but some snapshots carry other words; keep them strict, it is what gates a pilot.
});

/** `defaults` of a site file: any queue field, none required. */
export const queueDefaultsSchema = z.strictObject(queueShape).omit({ name: true, nickname: true, panda_resource: true }).partial();

/** A facility's file: shared defaults and its queues. */
export const siteFileSchema = z.strictObject({
  facility: z.string().min(1, 'facility must name the facility (e.g. USDF)'),
  description: z.string().optional(),
  defaults: z.record(z.string(), z.unknown()).default({}),
  queues: z.array(z.record(z.string(), z.unknown()), { error: 'queues must be a list of queue objects' }).min(1, 'queues must list at least one queue'),
});

/** One row of the resource-type table (panda-server's resource_types columns; null = unbounded). */
export const resourceTypeRowSchema = z.strictObject({
  name: nameField('name'),
  mincore: count('mincore').nullable().default(null),
  maxcore: count('maxcore').nullable().default(null),
  minrampercore: count('minrampercore (MB)').nullable().default(null),
  maxrampercore: count('maxrampercore (MB)').nullable().default(null),
});

/** The resource-type file. */
export const resourceTypesFileSchema = z.strictObject({
  description: z.string().optional(),
  resource_types: z.array(resourceTypeRowSchema).min(1, 'resource_types must list at least one row'),
});

/** A queue after validation, defaults filled. */
export type QueueConfig = z.output<typeof strictQueueSchema>;
/** A queue read from queue data (known fields checked, others kept). */
export type LooseQueueData = z.output<typeof looseQueueSchema>;
export type ResourceTypeRow = z.output<typeof resourceTypeRowSchema>;
export type PilotDefaults = z.output<typeof pilotDefaultsSchema>;

/** Names of every queue field, for "did you mean" hints. */
export const QUEUE_FIELDS: readonly string[] = Object.keys(queueShape);
