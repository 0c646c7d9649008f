/**
 * The shape of a PanDA queue and of the files that describe queues, in
 * schedconfig field names (docs/panda-protocol.md §11) so a normalised queue can be served
 * as `/cache/schedconfig/<queue>.all.json` and read back by any pilot.
 *
 * Site-config files we author are strict: an unknown field is a typo and is
 * refused. Queue data read from a server or CRIC is loose (it carries hundreds
 * of fields a pilot ignores) and is checked by config/queue-data.ts, without
 * zod, because a pilot start reads it; a test holds both to the same words.
 */
// zod/mini, not classic zod: a schema is a plain object instead of one carrying ~60 bound methods, so
// building these costs a few ms, and ~100 KB less is bundled. Namespace import: lets esbuild drop zod's
// 40 locales (so every field gives its own message; zod's default would be only "Invalid input").
import * as z from 'zod/mini';
import { QUEUE_FIELDS, QUEUE_STATUSES, type PilotDefaults, type QueueConfig, type ResourceTypeRow } from '../config/index.js';

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
// Every field says what it expected (zod/mini without its locales would say only "Invalid input");
// config/queue-data.ts, the run path's validator, gives the same words.
const str = (what: string) => z.string({ error: `${what} must be a string` });
const nonEmpty = (what: string) => str(what).check(z.minLength(1, `${what} must not be empty`));
const num = (what: string) => z.number({ error: `${what} must be a number` });
const nonNegative = (what: string) => num(what).check(z.nonnegative(`${what} must not be negative`));
const optional = z.optional;
const withDefault = z._default;

/**
 * Each schema is built on its first use, not when the module loads: even zod/mini takes ~10 ms for
 * all of them, and `config check` or a stub often needs only some.
 */
function lazy<T>(make: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= make());
}

/** Fields pilots read from `params` (pilot3 names); others are kept as they are. */
const paramsSchema = lazy(() =>
  z.looseObject(
    {
      job_maxwalltime: optional(count('job_maxwalltime (seconds)')),
      pilot_walltime_grace: optional(nonNegative('pilot_walltime_grace')),
      pilot_rss_grace: optional(num('pilot_rss_grace').check(z.positive('pilot_rss_grace must be a positive factor'))),
    },
    { error: 'params must be an object' },
  ),
);

/** Defaults a pilot on this queue uses for flags the command line did not give. */
const pilotDefaultsSchema = lazy(() =>
  z.strictObject(
    {
      pilot_user: optional(nonEmpty('pilot_user')),
      job_label: optional(nonEmpty('job_label')),
      heartbeat: optional(num('heartbeat').check(z.positive('heartbeat must be positive (seconds)'))),
      lifetime: optional(num('lifetime').check(z.positive('lifetime must be positive (seconds)'))),
      slots: optional(z.int({ error: 'slots must be a positive whole number' }).check(z.positive('slots must be a positive whole number'))),
      getjob_wait: optional(nonNegative('getjob_wait')),
    },
    { error: 'pilot_defaults must be an object' },
  ),
);

/** Every queue field with its unit; the site-config README lists the same. */
const queueShape = lazy(() => ({
  name: nameField('name'),
  nickname: optional(nameField('nickname')),
  panda_resource: optional(nameField('panda_resource')),
  /** The facility site the queue belongs to (e.g. SLAC); tasks may name it instead of a queue. */
  site: nameField('site'),
  atlas_site: optional(str('atlas_site')),
  cloud: nonEmpty('cloud'),
  tier: str('tier').check(z.regex(/^T[0-3]$/, 'tier must be T0, T1, T2 or T3')),
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
  container_type: withDefault(str('container_type'), ''),
  catchall: withDefault(str('catchall'), ''),
  /** Resource type a pilot of this queue asks for; computed from the memory range when not given. */
  resource_type: optional(nonEmpty('resource_type')),
  /** How jobs reach the pilots (absent: pull): pull (they ask the server) or push (Harvester hands them over through files). */
  workflow: optional(z.enum(['pull', 'push', 'pull_ups', 'push_ups'], { error: 'workflow must be pull, push, pull_ups or push_ups' })),
  /** `ucore`: one queue serves several resource types (single- and multi-core). */
  capability: optional(str('capability')),
  params: withDefault(paramsSchema(), () => ({})),
  pilot_defaults: optional(pilotDefaultsSchema()),
  comment: optional(str('comment')),
}));

/** A queue as site-config files give it: every field known, site/cloud/tier required. */
export const strictQueueSchema = lazy(() => z.strictObject(queueShape()));

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

/**
 * The hand-written types in config/ (what the pilot's run path uses) must be what these schemas
 * give: each line fails to compile when a field is added, dropped or retyped on one side only.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameTypes: [
  Same<z.output<ReturnType<typeof strictQueueSchema>>, QueueConfig>,
  Same<z.output<ReturnType<typeof resourceTypeRowSchema>>, ResourceTypeRow>,
  Same<z.output<ReturnType<typeof pilotDefaultsSchema>>, PilotDefaults>,
] = [true, true, true];
void sameTypes;

/** Every schema field is one config/ knows (QUEUE_FIELDS feeds "did you mean" and the ignored-field list). */
export function unlistedQueueFields(): string[] {
  return Object.keys(queueShape()).filter((k) => !QUEUE_FIELDS.includes(k));
}
