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
// zod/mini, not classic zod: the same checks and messages, but a schema is a plain object instead of one
// carrying ~60 bound methods, so building these schemas costs a few ms instead of ~20 at every pilot start,
// and ~100 KB less is bundled. Namespace import: lets esbuild drop zod's 40 locales.
import * as z from 'zod/mini';

/** Queue states a broker and a pilot act on. */
export const QUEUE_STATUSES = ['online', 'brokeroff', 'offline', 'test'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const nameField = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .check(z.regex(NAME, `${what} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`));
const count = (what: string) =>
  z.number({ error: `${what} must be a number` }).check(
    z.refine((n: number) => Number.isInteger(n), `${what} must be a whole number`),
    z.nonnegative(`${what} must not be negative`),
  );
const optional = z.optional;
const withDefault = z._default;

/**
 * Each schema is built on its first use, not when the module loads: even zod/mini takes ~10 ms for
 * all of them, and a pilot start needs only the queue data's (after its first request), the stub and
 * `config check` the others.
 */
function lazy<T>(make: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= make());
}

/** Fields pilots read from `params` (pilot3 names); others are kept as they are. */
const paramsSchema = lazy(() =>
  z.looseObject({
    job_maxwalltime: optional(count('job_maxwalltime (seconds)')),
    pilot_walltime_grace: optional(z.number().check(z.nonnegative())),
    pilot_rss_grace: optional(z.number().check(z.positive('pilot_rss_grace must be a positive factor'))),
  }),
);

/** Defaults a pilot on this queue uses for flags the command line did not give. */
const pilotDefaultsSchema = lazy(() =>
  z.strictObject({
    pilot_user: optional(z.string().check(z.minLength(1))),
    job_label: optional(z.string().check(z.minLength(1))),
    heartbeat: optional(z.number().check(z.positive('heartbeat must be positive (seconds)'))),
    lifetime: optional(z.number().check(z.positive('lifetime must be positive (seconds)'))),
    slots: optional(z.int().check(z.positive('slots must be a positive whole number'))),
    getjob_wait: optional(z.number().check(z.nonnegative())),
  }),
);

/** Every queue field with its unit; the site-config README lists the same. */
const queueShape = lazy(() => ({
  name: nameField('name'),
  nickname: optional(nameField('nickname')),
  panda_resource: optional(nameField('panda_resource')),
  /** The facility site the queue belongs to (e.g. SLAC); tasks may name it instead of a queue. */
  site: nameField('site'),
  atlas_site: optional(z.string()),
  cloud: z.string().check(z.minLength(1, 'cloud must not be empty')),
  tier: z.string().check(z.regex(/^T[0-3]$/, 'tier must be T0, T1, T2 or T3')),
  state: withDefault(z.enum(['ACTIVE', 'INACTIVE', 'DISABLED'], { error: 'state must be ACTIVE, INACTIVE or DISABLED' }), 'ACTIVE'),
  status: z.enum(QUEUE_STATUSES, { error: `status must be one of ${QUEUE_STATUSES.join(', ')}` }),
  type: withDefault(z.enum(['production', 'analysis', 'unified'], { error: 'type must be production, analysis or unified' }), 'production'),
  /** MB: a job needs more than this to be brokered here (0 = no lower bound). */
  minrss: withDefault(count('minrss (MB)'), 0),
  /** MB: the most a job may need here; also the pilot's memory limit (0 = no limit). */
  maxrss: withDefault(count('maxrss (MB)'), 0),
  /** Seconds a pilot may run (0 = no limit). */
  maxtime: withDefault(count('maxtime (seconds)'), 0),
  /** Cores per pilot slot (0 = any). */
  corecount: withDefault(count('corecount'), 1),
  /** MB of work dir space (0 = not set). */
  maxwdir: withDefault(count('maxwdir (MB)'), 0),
  /** MB of input a job may stage in (0 = no limit). */
  maxinputsize: withDefault(count('maxinputsize (MB)'), 0),
  /** Minutes a pilot keeps asking for jobs. */
  timefloor: withDefault(count('timefloor (minutes)'), 0),
  copytools: withDefault(z.record(z.string(), z.record(z.string(), z.unknown()), { error: 'copytools must be an object of {tool: {settings}}' }), () => ({})),
  container_type: withDefault(z.string(), ''),
  catchall: withDefault(z.string(), ''),
  /** Resource type a pilot of this queue asks for; computed from the memory range when not given. */
  resource_type: optional(z.string().check(z.minLength(1))),
  /** How jobs reach the pilots (absent: pull): pull (they ask the server) or push (Harvester hands them over through files). */
  workflow: optional(z.enum(['pull', 'push', 'pull_ups', 'push_ups'], { error: 'workflow must be pull, push, pull_ups or push_ups' })),
  /** `ucore`: one queue serves several resource types (single- and multi-core). */
  capability: optional(z.string()),
  params: withDefault(paramsSchema(), () => ({})),
  pilot_defaults: optional(pilotDefaultsSchema()),
  comment: optional(z.string()),
}));

/** A queue as site-config files give it: every field known, site/cloud/tier required. */
export const strictQueueSchema = lazy(() => z.strictObject(queueShape()));

/** Queue data from a server: unknown fields kept, site/cloud/tier optional (pilot3 does not need them). */
export const looseQueueSchema = lazy(() =>
  z.looseObject({
    ...queueShape(),
    name: optional(nameField('name')),
    nickname: optional(nameField('nickname')),
    site: optional(z.string()),
    cloud: optional(z.string()),
    tier: optional(z.string()),
    // Servers send `status` lower-case, but some snapshots carry other words; keep them strict, it is what gates a pilot.
  }),
);

/** `defaults` of a site file: any queue field, none required. */
export const queueDefaultsSchema = lazy(() => z.partial(z.omit(z.strictObject(queueShape()), { name: true, nickname: true, panda_resource: true })));

/** A facility's file: shared defaults and its queues. */
export const siteFileSchema = lazy(() =>
  z.strictObject({
    facility: z.string().check(z.minLength(1, 'facility must name the facility (e.g. USDF)')),
    description: optional(z.string()),
    defaults: withDefault(z.record(z.string(), z.unknown()), () => ({})),
    queues: z
      .array(z.record(z.string(), z.unknown()), { error: 'queues must be a list of queue objects' })
      .check(z.minLength(1, 'queues must list at least one queue')),
  }),
);

/** One row of the resource-type table (panda-server's resource_types columns; null = unbounded). */
export const resourceTypeRowSchema = lazy(() =>
  z.strictObject({
    name: nameField('name'),
    mincore: withDefault(z.nullable(count('mincore')), null),
    maxcore: withDefault(z.nullable(count('maxcore')), null),
    minrampercore: withDefault(z.nullable(count('minrampercore (MB)')), null),
    maxrampercore: withDefault(z.nullable(count('maxrampercore (MB)')), null),
  }),
);

/** The resource-type file. */
export const resourceTypesFileSchema = lazy(() =>
  z.strictObject({
    description: optional(z.string()),
    resource_types: z.array(resourceTypeRowSchema()).check(z.minLength(1, 'resource_types must list at least one row')),
  }),
);

/** A queue after validation, defaults filled. */
export type QueueConfig = z.output<ReturnType<typeof strictQueueSchema>>;
/** A queue read from queue data (known fields checked, others kept). */
export type LooseQueueData = z.output<ReturnType<typeof looseQueueSchema>>;
export type ResourceTypeRow = z.output<ReturnType<typeof resourceTypeRowSchema>>;
export type PilotDefaults = z.output<ReturnType<typeof pilotDefaultsSchema>>;

/** Names of every queue field, for "did you mean" hints. */
export const queueFields = lazy((): readonly string[] => Object.keys(queueShape()));
