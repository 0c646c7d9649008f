/**
 * The task file a developer submits: one task, or a workflow of tasks with
 * `after` dependencies. Validated with zod; every error names the field
 * (`tasks[1].jobs[0].command: …`) so a typo is fixed in one go.
 */
// Namespace import: lets esbuild drop zod's 40 locales (~550 KB the pilot parsed at every start).
import * as z from 'zod';
import type { TaskSettings } from './records.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const name = (what: string) => z.string().regex(NAME, `${what} must be 1-100 characters of letters, digits, '.', '_' or '-', starting with a letter or digit`);
const positiveInt = z.number().int().positive();

const jobSchema = z.strictObject({
  name: name('job name'),
  command: z.string().min(1, 'command must not be empty'),
  memoryMB: positiveInt.optional(),
  walltimeSec: positiveInt.optional(),
  cores: positiveInt.optional(),
});

const taskFields = {
  name: name('task name'),
  site: z.string().min(1, 'site must name a PanDA queue'),
  label: z.string().min(1).default('managed'),
  cores: positiveInt.default(1),
  memoryMB: positiveInt.default(2000),
  walltimeSec: positiveInt.default(3600),
  maxAttempts: positiveInt.max(100).default(1),
  /** After an OOM (1212/1235), multiply memory by this instead of climbing the memory ladder. */
  memoryBoost: z.number().gt(1, 'memoryBoost must be more than 1').max(16).optional(),
  /** Memory boosts stop here (MB). */
  maxMemoryMB: positiveInt.optional(),
  priority: z.number().int().default(500),
  /** A sandbox archive in the stub's cache (`panda-stub upload FILE` prints the name): the jobs run as prun jobs. */
  sandbox: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'sandbox must be a cache file name (as panda-stub upload prints it)')
    .optional(),
  transformation: z
    .string()
    .regex(/^(https?:\/\/[^\s]+|\/[A-Za-z0-9._/-]+)$/, 'transformation must be an http(s) URL or a path on the stub such as /cache/run.sh')
    .optional(),
  jobs: z.array(jobSchema).min(1, 'jobs must list at least one job').optional(),
  command: z.string().min(1, 'command must not be empty').optional(),
  count: positiveInt.max(100_000).optional(),
  /** Event service: the jobs above become event ranges, clustered `rangesPerJob` to a PanDA job. */
  eventService: z.boolean().default(false),
  rangesPerJob: positiveInt.max(1000).optional(),
  /** Attempts a failed range gets (the first one included) before it fails for good. */
  rangeAttempts: positiveInt.max(100).optional(),
};

/** Either `jobs`, or `command` (with an optional `count`): exactly one way to say what runs. */
function checkJobSource(
  task: { jobs?: unknown; command?: unknown; count?: unknown; eventService?: boolean; rangesPerJob?: unknown; rangeAttempts?: unknown },
  ctx: z.RefinementCtx,
): void {
  for (const key of ['rangesPerJob', 'rangeAttempts'] as const) {
    if (task[key] !== undefined && !task.eventService) ctx.addIssue({ code: 'custom', path: [key], message: `${key} needs "eventService": true` });
  }
  if (task.jobs !== undefined && task.command !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['command'], message: 'give either jobs or command (with count), not both' });
  } else if (task.jobs === undefined && task.command === undefined) {
    ctx.addIssue({ code: 'custom', path: ['jobs'], message: 'a task needs jobs, or a command with count' });
  } else if (task.count !== undefined && task.command === undefined) {
    ctx.addIssue({ code: 'custom', path: ['count'], message: 'count needs a task-level command' });
  }
}

const singleTaskSchema = z.strictObject(taskFields).superRefine(checkJobSource);
const workflowTaskSchema = z.strictObject({ ...taskFields, after: z.array(z.string()).default([]) }).superRefine(checkJobSource);
const workflowSchema = z.strictObject({
  workflow: name('workflow name'),
  tasks: z.array(workflowTaskSchema).min(1, 'tasks must list at least one task'),
});

/** One job of a task, with the task's defaults filled in. */
export interface JobSpec {
  name: string;
  command: string;
  cores: number;
  memoryMB: number;
  walltimeSec: number;
}

/** One task, normalised: defaults filled, `command`/`count` expanded into jobs. */
export interface TaskSpec extends TaskSettings {
  /** Names of tasks in the same submission this one waits for. */
  after: string[];
  /** The payloads; for an event-service task each is one event range (a quantum), not a job. */
  jobs: JobSpec[];
  /** Present for an event-service task. */
  eventService?: { rangesPerJob: number; rangeAttempts: number } | undefined;
}

/** Defaults of an event-service task: ten ranges per job as pilot3 asks for, three tries per range. */
export const ES_DEFAULTS = { rangesPerJob: 10, rangeAttempts: 3 } as const;

/** A whole submission, tasks ordered so that every task comes after the tasks it waits for. */
export interface SubmissionSpec {
  workflow: string | null;
  tasks: TaskSpec[];
}

export type ParseResult = { ok: true; spec: SubmissionSpec } | { ok: false; errors: string[] };

/** `tasks[1].jobs[0].command` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(file)';
}

type RawTask = z.infer<typeof workflowTaskSchema>;

function expandJobs(task: RawTask): JobSpec[] {
  const defaults = { cores: task.cores, memoryMB: task.memoryMB, walltimeSec: task.walltimeSec };
  if (task.jobs) return task.jobs.map((j) => ({ ...defaults, ...stripUndefined(j) }));
  const count = task.count ?? 1;
  const command = task.command ?? '';
  return Array.from({ length: count }, (_, index) => ({
    ...defaults,
    name: `job_${index}`,
    command: command.replaceAll('{index}', String(index)),
  }));
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function toTaskSpec(task: RawTask): TaskSpec {
  const { name: taskName, site, label, cores, memoryMB, walltimeSec, maxAttempts, priority, after } = task;
  const memoryBoost = task.memoryBoost ?? null;
  const maxMemoryMB = task.maxMemoryMB ?? null;
  const sandbox = task.sandbox ?? null;
  const transformation = task.transformation ?? null;
  const spec: TaskSpec = {
    name: taskName,
    site,
    label,
    cores,
    memoryMB,
    walltimeSec,
    maxAttempts,
    memoryBoost,
    maxMemoryMB,
    priority,
    sandbox,
    transformation,
    after,
    jobs: expandJobs(task),
  };
  if (task.eventService) {
    spec.eventService = {
      rangesPerJob: task.rangesPerJob ?? ES_DEFAULTS.rangesPerJob,
      rangeAttempts: task.rangeAttempts ?? ES_DEFAULTS.rangeAttempts,
    };
  }
  return spec;
}

/** Cross-field checks zod cannot express per object: unique names, known dependencies, no cycles. */
function checkStructure(tasks: readonly TaskSpec[]): string[] {
  const errors: string[] = [];
  const index = new Map<string, number>();
  tasks.forEach((t, i) => {
    if (index.has(t.name)) errors.push(`tasks[${i}].name: duplicate task name "${t.name}"`);
    index.set(t.name, i);
    const seen = new Set<string>();
    t.jobs.forEach((j, k) => {
      if (seen.has(j.name)) errors.push(`tasks[${i}].jobs[${k}].name: duplicate job name "${j.name}" in task "${t.name}"`);
      seen.add(j.name);
    });
  });
  tasks.forEach((t, i) =>
    t.after.forEach((dep, k) => {
      if (dep === t.name) errors.push(`tasks[${i}].after[${k}]: task "${t.name}" cannot wait for itself`);
      else if (!index.has(dep)) errors.push(`tasks[${i}].after[${k}]: no task named "${dep}" in this workflow`);
    }),
  );
  return errors;
}

/** Orders tasks so dependencies come first; null when there is a cycle. */
export function dependencyOrder(tasks: readonly TaskSpec[]): TaskSpec[] | null {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: TaskSpec[] = [];
  const visit = (t: TaskSpec): boolean => {
    if (done.has(t.name)) return true;
    if (visiting.has(t.name)) return false;
    visiting.add(t.name);
    for (const dep of t.after) {
      const d = byName.get(dep);
      if (d && !visit(d)) return false;
    }
    visiting.delete(t.name);
    done.add(t.name);
    out.push(t);
    return true;
  };
  return tasks.every(visit) ? out : null;
}

/** Validates a parsed task file (JSON value) and normalises it. */
export function parseTaskFile(value: unknown): ParseResult {
  const isWorkflow = typeof value === 'object' && value !== null && ('workflow' in value || 'tasks' in value);
  const parsed = isWorkflow ? workflowSchema.safeParse(value) : singleTaskSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
  }
  const data = parsed.data;
  const workflow = 'workflow' in data ? data.workflow : null;
  const tasks = 'tasks' in data ? data.tasks.map(toTaskSpec) : [toTaskSpec({ ...data, after: [] })];
  const errors = checkStructure(tasks);
  if (errors.length > 0) return { ok: false, errors };
  const ordered = dependencyOrder(tasks);
  if (ordered === null) return { ok: false, errors: ['tasks: the after dependencies form a cycle'] };
  return { ok: true, spec: { workflow, tasks: ordered } };
}
