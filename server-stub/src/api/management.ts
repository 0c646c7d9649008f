/**
 * The stub's own JSON API under `/stub/`: submit task files, look at tasks,
 * jobs and every update they received, kill a job. Not part of PanDA; this
 * is what the CLI, tests and a developer's curl use.
 */
import type { StubEngine } from '../engine/index.js';
import { inflateBounded } from '../http/body-limits.js';
import { jsonReply } from '../http/reply.js';
import type { RequestCounter } from '../http/request-counter.js';
import type { Route, StubReply, StubRequest } from '../http/types.js';
import { parseTaskFile } from '../model/task-file.js';

function readJson(req: StubRequest): { ok: true; value: unknown } | { ok: false; reply: StubReply } {
  try {
    return { ok: true, value: JSON.parse(inflateBounded(req.body).toString('utf8')) };
  } catch (err) {
    return { ok: false, reply: jsonReply(400, { error: `body is not valid JSON: ${(err as Error).message}` }) };
  }
}

function positiveId(text: string | undefined | null): number | undefined {
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

function submitTasks(engine: StubEngine, req: StubRequest): StubReply {
  const body = readJson(req);
  if (!body.ok) return body.reply;
  const parsed = parseTaskFile(body.value);
  if (!parsed.ok) return jsonReply(400, { error: 'invalid task file', errors: parsed.errors });
  const tasks = engine.submit(parsed.spec);
  return jsonReply(201, { workflow: parsed.spec.workflow, requestId: tasks[0]?.requestId ?? null, tasks });
}

function listTasks(engine: StubEngine): StubReply {
  // Counted in SQL: a status --watch every second must not read 11,461 job records.
  const counts = engine.taskJobCounts();
  const tasks = engine.tasks().map((task) => ({ ...task, jobs: counts.get(task.taskId) ?? {} }));
  return jsonReply(200, { tasks });
}

function listJobs(engine: StubEngine, req: StubRequest): StubReply {
  const taskText = req.query.get('task');
  const taskId = positiveId(taskText);
  if (taskText !== null && taskId === undefined) return jsonReply(400, { error: `task must be a task id, got "${taskText}"` });
  return jsonReply(200, { jobs: engine.jobs({ taskId, state: req.query.get('state') ?? undefined }) });
}

function jobDetails(engine: StubEngine, id: number): StubReply {
  const details = engine.jobDetails(id);
  return details ? jsonReply(200, details) : jsonReply(404, { error: `no job ${id}` });
}

function kill(engine: StubEngine, id: number, soft = false): StubReply {
  const result = soft ? engine.softkill(id) : engine.kill(id);
  return result ? jsonReply(200, result) : jsonReply(404, { error: `no job ${id}` });
}

/** Routes of the management API. */
export function managementRoutes(engine: StubEngine, counter?: RequestCounter): Route[] {
  return [
    { method: 'POST', pattern: /^\/stub\/tasks$/, handler: (req) => submitTasks(engine, req) },
    { method: 'GET', pattern: /^\/stub\/tasks$/, handler: () => listTasks(engine) },
    { method: 'GET', pattern: /^\/stub\/jobs$/, handler: (req) => listJobs(engine, req) },
    { method: 'GET', pattern: /^\/stub\/jobs\/(\d+)$/, handler: (_req, m) => jobDetails(engine, Number(m[1])) },
    { method: 'POST', pattern: /^\/stub\/jobs\/(\d+)\/kill$/, handler: (_req, m) => kill(engine, Number(m[1])) },
    { method: 'POST', pattern: /^\/stub\/jobs\/(\d+)\/softkill$/, handler: (_req, m) => kill(engine, Number(m[1]), true) },
    { method: 'GET', pattern: /^\/stub\/workers$/, handler: () => jsonReply(200, { workers: engine.workerReports() }) },
    { method: 'GET', pattern: /^\/stub\/durability$/, handler: () => jsonReply(200, engine.durability()) },
    { method: 'GET', pattern: /^\/stub\/summary$/, handler: () => jsonReply(200, { ...engine.summary(), requests: counter?.snapshot() ?? null }) },
  ];
}
