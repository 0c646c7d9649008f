/**
 * One queue's data as a server serves it (`/cache/schedconfig/<queue>.all.json`, a `--queuedata`
 * file): the known fields checked, the others kept and listed as ignored.
 *
 * Hand-written instead of zod: this runs at every pilot start, right after the first request, and
 * loading zod, building its schemas and the first parse cost 15-35 ms there on a loaded node. The
 * messages are the ones the site-config schemas give (`maxrss: maxrss (MB) must be a number (got
 * "8GB")`), every problem is reported, not just the first.
 */
import { describeValue, fieldPath, type ConfigIssue } from './config-issues.js';
import {
  QUEUE_FIELDS,
  QUEUE_STATES,
  QUEUE_STATUSES,
  QUEUE_TYPES,
  QUEUE_WORKFLOWS,
  type LooseQueueData,
  type PilotDefaults,
  type QueueConfig,
} from './queue-types.js';

export type QueueDataOutcome = { ok: true; queue: QueueConfig; ignoredFields: string[] } | { ok: false; issues: ConfigIssue[] };

type Path = readonly (string | number)[];
type Obj = Record<string, unknown>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Collects problems with their paths; a field with a problem is left out of the result. */
class Checker {
  readonly issues: ConfigIssue[] = [];
  constructor(private readonly file: string) {}

  problem(path: Path, value: unknown, message: string): undefined {
    // A required field that is absent says so; any other value is shown as it was.
    const problem = value === undefined ? 'is required but missing' : `${message} (got ${describeValue(value)})`;
    this.issues.push({ file: this.file, field: fieldPath(path), problem });
    return undefined;
  }

  string(obj: Obj, path: Path, key: string, opts: { required?: boolean; nonEmpty?: boolean; pattern?: [RegExp, string] } = {}): string | undefined {
    const v = obj[key];
    const at = [...path, key];
    if (v === undefined) return opts.required ? this.problem(at, v, '') : undefined;
    if (typeof v !== 'string') return this.problem(at, v, `${key} must be a string`);
    if (opts.nonEmpty && v.length === 0) return this.problem(at, v, `${key} must not be empty`);
    if (opts.pattern && !opts.pattern[0].test(v)) return this.problem(at, v, opts.pattern[1]);
    return v;
  }

  name(obj: Obj, path: Path, key: string): string | undefined {
    return this.string(obj, path, key, { pattern: [NAME, `${key} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`] });
  }

  /**
   * A number. `what` names it (with its unit) in messages; `whole` and `min` are checked together,
   * so -1.5 gets both complaints, as zod gives them.
   */
  number(obj: Obj, path: Path, key: string, rule: { what?: string; whole?: string; min?: ['nonnegative' | 'positive', string] }): number | undefined {
    const v = obj[key];
    const at = [...path, key];
    if (v === undefined) return undefined;
    const what = rule.what ?? key;
    if (typeof v !== 'number' || Number.isNaN(v)) return this.problem(at, v, rule.whole && !rule.what ? rule.whole : `${what} must be a number`);
    const before = this.issues.length;
    if (rule.whole && !Number.isInteger(v)) this.problem(at, v, rule.whole);
    if (rule.min && (rule.min[0] === 'positive' ? v <= 0 : v < 0)) this.problem(at, v, rule.min[1]);
    return this.issues.length === before ? v : undefined;
  }

  count(obj: Obj, path: Path, key: string, what: string): number | undefined {
    return this.number(obj, path, key, { what, whole: `${what} must be a whole number`, min: ['nonnegative', `${what} must not be negative`] });
  }

  nonNegative(obj: Obj, path: Path, key: string): number | undefined {
    return this.number(obj, path, key, { min: ['nonnegative', `${key} must not be negative`] });
  }

  oneOf<T extends string>(obj: Obj, path: Path, key: string, allowed: readonly T[], message: string, required = false): T | undefined {
    const v = obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    return this.problem([...path, key], v, message);
  }
}

const PILOT_DEFAULT_FIELDS = ['pilot_user', 'job_label', 'heartbeat', 'lifetime', 'slots', 'getjob_wait'];

function pilotDefaults(c: Checker, v: unknown, path: Path): PilotDefaults | undefined {
  if (!isObject(v)) return c.problem(path, v, 'pilot_defaults must be an object');
  // Strict, like a site file: a pilot default nobody reads is a typo.
  for (const key of Object.keys(v))
    if (!PILOT_DEFAULT_FIELDS.includes(key)) c.issues.push({ file: '', field: fieldPath([...path, key]), problem: 'unknown field' });
  const slots = 'slots must be a positive whole number';
  const out: PilotDefaults = {
    pilot_user: c.string(v, path, 'pilot_user', { nonEmpty: true }),
    job_label: c.string(v, path, 'job_label', { nonEmpty: true }),
    heartbeat: c.number(v, path, 'heartbeat', { min: ['positive', 'heartbeat must be positive (seconds)'] }),
    lifetime: c.number(v, path, 'lifetime', { min: ['positive', 'lifetime must be positive (seconds)'] }),
    // zod's int() refuses a fraction as a wrong type: one message, not two.
    slots: c.number(
      v,
      path,
      'slots',
      typeof v.slots === 'number' && !Number.isInteger(v.slots) ? { whole: slots } : { whole: slots, min: ['positive', slots] },
    ),
    getjob_wait: c.nonNegative(v, path, 'getjob_wait'),
  };
  return Object.fromEntries(Object.entries(out).filter(([, x]) => x !== undefined));
}

function copytools(c: Checker, v: unknown): QueueConfig['copytools'] | undefined {
  if (v === undefined) return {};
  if (isObject(v) && Object.values(v).every(isObject)) return v as QueueConfig['copytools'];
  return c.problem(['copytools'], v, 'copytools must be an object of {tool: {settings}}');
}

/** Every known field checked, defaults filled; unknown fields kept as they came. */
function checkLoose(c: Checker, d: Obj): LooseQueueData | undefined {
  const params = d.params === undefined ? {} : isObject(d.params) ? d.params : c.problem(['params'], d.params, 'params must be an object');
  if (params) {
    c.count(params, ['params'], 'job_maxwalltime', 'job_maxwalltime (seconds)');
    c.nonNegative(params, ['params'], 'pilot_walltime_grace');
    c.number(params, ['params'], 'pilot_rss_grace', { min: ['positive', 'pilot_rss_grace must be a positive factor'] });
  }
  const known = {
    name: c.name(d, [], 'name'),
    nickname: c.name(d, [], 'nickname'),
    panda_resource: c.name(d, [], 'panda_resource'),
    site: c.string(d, [], 'site'),
    atlas_site: c.string(d, [], 'atlas_site'),
    cloud: c.string(d, [], 'cloud'),
    tier: c.string(d, [], 'tier'),
    state: c.oneOf(d, [], 'state', QUEUE_STATES, 'state must be ACTIVE, INACTIVE or DISABLED') ?? 'ACTIVE',
    status: c.oneOf(d, [], 'status', QUEUE_STATUSES, `status must be one of ${QUEUE_STATUSES.join(', ')}`, true),
    type: c.oneOf(d, [], 'type', QUEUE_TYPES, 'type must be production, analysis or unified') ?? 'production',
    minrss: c.count(d, [], 'minrss', 'minrss (MB)') ?? 0,
    maxrss: c.count(d, [], 'maxrss', 'maxrss (MB)') ?? 0,
    maxtime: c.count(d, [], 'maxtime', 'maxtime (seconds)') ?? 0,
    corecount: c.count(d, [], 'corecount', 'corecount') ?? 1,
    maxwdir: c.count(d, [], 'maxwdir', 'maxwdir (MB)') ?? 0,
    maxinputsize: c.count(d, [], 'maxinputsize', 'maxinputsize (MB)') ?? 0,
    timefloor: c.count(d, [], 'timefloor', 'timefloor (minutes)') ?? 0,
    copytools: copytools(c, d.copytools),
    container_type: c.string(d, [], 'container_type') ?? '',
    catchall: c.string(d, [], 'catchall') ?? '',
    resource_type: c.string(d, [], 'resource_type', { nonEmpty: true }),
    workflow: c.oneOf(d, [], 'workflow', QUEUE_WORKFLOWS, 'workflow must be pull, push, pull_ups or push_ups'),
    capability: c.string(d, [], 'capability'),
    params,
    pilot_defaults: d.pilot_defaults === undefined ? undefined : pilotDefaults(c, d.pilot_defaults, ['pilot_defaults']),
    comment: c.string(d, [], 'comment'),
  };
  if (c.issues.length > 0 || known.status === undefined || known.copytools === undefined || known.params === undefined) return undefined;
  const out: Obj = { ...d };
  for (const [k, v] of Object.entries(known)) if (v !== undefined) out[k] = v;
  return out as LooseQueueData;
}

/** Naming fields a pilot and the server read (nickname, panda_resource, atlas_site), filled from the name and site. */
export function withNames<
  Q extends { name: string; nickname?: string | undefined; panda_resource?: string | undefined; site: string; atlas_site?: string | undefined },
>(q: Q): Q {
  return { ...q, nickname: q.nickname ?? q.name, panda_resource: q.panda_resource ?? q.name, atlas_site: q.atlas_site ?? q.site };
}

/** Checks that span fields: the memory range must be a range. */
export function crossFieldIssues(file: string, q: { minrss: number; maxrss: number }, prefix: string): ConfigIssue[] {
  if (q.maxrss > 0 && q.minrss >= q.maxrss) {
    return [{ file, field: `${prefix}maxrss`, problem: `must be greater than minrss (${q.minrss} MB), got ${q.maxrss} MB; use 0 for no upper limit` }];
  }
  return [];
}

/**
 * One queue's data. Unknown fields are kept out of the queue but reported as ignored; a missing
 * site/cloud/tier is filled from what the document has, since servers and snapshots do not always
 * carry them.
 */
export function parseQueueData(file: string, value: unknown): QueueDataOutcome {
  if (!isObject(value)) return { ok: false, issues: [{ file, field: '(file)', problem: `must be a JSON object (got ${describeValue(value)})` }] };
  const c = new Checker(file);
  const d = checkLoose(c, value);
  if (!d) return { ok: false, issues: c.issues.map((i) => ({ ...i, file })) };
  const name = d.name ?? d.nickname ?? d.panda_resource;
  if (!name) return { ok: false, issues: [{ file, field: 'name', problem: 'is required but missing (no name, nickname or panda_resource)' }] };
  const issues = crossFieldIssues(file, d, '');
  if (issues.length) return { ok: false, issues };
  const known = new Set(QUEUE_FIELDS);
  const ignoredFields = Object.keys(d).filter((k) => !known.has(k));
  const site = d.site ?? d.atlas_site ?? name;
  const queue = Object.fromEntries(
    Object.entries({ ...d, name, site, cloud: d.cloud ?? '', tier: d.tier ?? '' }).filter(([k]) => known.has(k)),
  ) as unknown as QueueConfig;
  return { ok: true, queue: withNames(queue), ignoredFields };
}
