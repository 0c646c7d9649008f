/**
 * Parses one configuration document (already read as text) into queues or
 * resource types, collecting every problem with its file and field. Pure:
 * the file reading lives in site-config-files.ts.
 *
 * Three kinds of document, told apart by their top-level keys:
 * - a site file `{facility, defaults, queues: [...]}` (what site-config/queues/ holds),
 * - a resource-type file `{resource_types: [...]}`,
 * - one queue's data `{name|nickname, status, maxrss, ...}` (a server's
 *   `/cache/schedconfig/<queue>.all.json`, or a `--queuedata` file).
 */
import {
  ConfigError,
  crossFieldIssues,
  parseQueueData as parseOneQueue,
  QUEUE_FIELDS,
  withNames,
  type ConfigIssue,
  type QueueConfig,
  type ResourceTypeRow,
} from '../config/index.js';
import { issuesFromZod } from './zod-issues.js';
import { queueDefaultsSchema, resourceTypesFileSchema, siteFileSchema, strictQueueSchema } from './queue-schema.js';

export type ConfigDocument =
  | { kind: 'site'; file: string; facility: string; queues: QueueConfig[] }
  | { kind: 'resource-types'; file: string; rows: ResourceTypeRow[] }
  | { kind: 'queue'; file: string; queue: QueueConfig; ignoredFields: string[] };

export type ParseOutcome = { ok: true; doc: ConfigDocument } | { ok: false; issues: ConfigIssue[] };

function parseSiteFile(file: string, value: unknown): ParseOutcome {
  const top = siteFileSchema().safeParse(value);
  if (!top.success) return { ok: false, issues: issuesFromZod(file, top.error, value, [], ['facility', 'description', 'defaults', 'queues']) };
  const issues: ConfigIssue[] = [];
  const defaults = queueDefaultsSchema().safeParse(top.data.defaults);
  // A bad default is reported once, here, and left out of the merge, so it does not repeat for every queue.
  const usable = { ...top.data.defaults };
  const dropped = new Set<string>();
  if (!defaults.success) {
    issues.push(...issuesFromZod(file, defaults.error, top.data.defaults, ['defaults'], QUEUE_FIELDS));
    for (const issue of defaults.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path[0]];
      for (const k of keys)
        if (typeof k === 'string') {
          delete usable[k];
          dropped.add(k);
        }
    }
  }
  const queues: QueueConfig[] = [];
  const seen = new Map<string, number>();
  top.data.queues.forEach((raw, i) => {
    const merged = { ...usable, ...raw };
    const parsed = strictQueueSchema().safeParse(merged);
    if (!parsed.success) {
      const own = issuesFromZod(file, parsed.error, merged, ['queues', i], QUEUE_FIELDS);
      // "missing" because its default was bad: already reported under defaults.
      issues.push(...own.filter((x) => !(x.problem.startsWith('is required but missing') && dropped.has(x.field.split('.').at(-1) ?? ''))));
      return;
    }
    issues.push(...crossFieldIssues(file, parsed.data, `queues[${i}].`));
    const prev = seen.get(parsed.data.name);
    if (prev !== undefined) issues.push({ file, field: `queues[${i}].name`, problem: `duplicate queue name "${parsed.data.name}" (also queues[${prev}])` });
    seen.set(parsed.data.name, i);
    queues.push(withNames(parsed.data));
  });
  return issues.length ? { ok: false, issues } : { ok: true, doc: { kind: 'site', file, facility: top.data.facility, queues } };
}

function parseResourceTypes(file: string, value: unknown): ParseOutcome {
  const parsed = resourceTypesFileSchema().safeParse(value);
  if (!parsed.success)
    return {
      ok: false,
      issues: issuesFromZod(file, parsed.error, value, [], ['description', 'resource_types', 'name', 'mincore', 'maxcore', 'minrampercore', 'maxrampercore']),
    };
  const issues: ConfigIssue[] = [];
  const names = new Set<string>();
  parsed.data.resource_types.forEach((r, i) => {
    if (r.mincore !== null && r.maxcore !== null && r.mincore > r.maxcore)
      issues.push({ file, field: `resource_types[${i}].maxcore`, problem: `must be at least mincore (${r.mincore}), got ${r.maxcore}` });
    if (r.minrampercore !== null && r.maxrampercore !== null && r.minrampercore > r.maxrampercore) {
      issues.push({
        file,
        field: `resource_types[${i}].maxrampercore`,
        problem: `must be at least minrampercore (${r.minrampercore} MB), got ${r.maxrampercore} MB`,
      });
    }
    if (names.has(r.name)) issues.push({ file, field: `resource_types[${i}].name`, problem: `duplicate resource type "${r.name}"` });
    names.add(r.name);
  });
  return issues.length ? { ok: false, issues } : { ok: true, doc: { kind: 'resource-types', file, rows: parsed.data.resource_types } };
}

/**
 * One queue's data, as a server serves it. Unknown fields are kept but
 * reported as ignored; a missing site/cloud/tier is filled from what the
 * document has, since servers and snapshots do not always carry them.
 */
export function parseQueueData(file: string, value: unknown): ParseOutcome {
  // The same check a pilot start runs (hand-written, in config/), so `config check` and a pilot agree.
  const r = parseOneQueue(file, value);
  return r.ok ? { ok: true, doc: { kind: 'queue', file, queue: r.queue, ignoredFields: r.ignoredFields } } : r;
}

/** Parses a document's text; the kind follows from its top-level keys. */
export function parseConfigText(file: string, text: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ file, field: '(file)', problem: `not valid JSON: ${(err as Error).message}` }] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      issues: [
        {
          file,
          field: '(file)',
          problem: 'must be a JSON object (a site file with "queues", a resource-type file with "resource_types", or one queue\'s data)',
        },
      ],
    };
  }
  if ('queues' in value || 'facility' in value) return parseSiteFile(file, value);
  if ('resource_types' in value) return parseResourceTypes(file, value);
  return parseQueueData(file, value);
}

/** Like parseConfigText, but throws a ConfigError listing every issue. */
export function parseConfigTextOrThrow(file: string, text: string): ConfigDocument {
  const r = parseConfigText(file, text);
  if (!r.ok) throw new ConfigError(r.issues);
  return r.doc;
}
