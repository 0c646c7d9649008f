/** Tasks and submissions (PanDA's requests) in SQLite. */
import type { TaskRecord, TaskStatus } from '../model/records.js';
import { prepared, type Db } from './database.js';

interface TaskRow {
  task_id: number;
  request_id: number;
  workflow: string | null;
  name: string;
  site: string;
  label: string;
  cores: number;
  memory_mb: number;
  walltime_sec: number;
  max_attempts: number;
  memory_boost: number | null;
  max_memory_mb: number | null;
  priority: number;
  sandbox: string | null;
  transformation: string | null;
  after_json: string;
  status: string;
  created_at: string;
}

function toRecord(r: TaskRow): TaskRecord {
  return {
    taskId: r.task_id,
    requestId: r.request_id,
    workflow: r.workflow,
    name: r.name,
    site: r.site,
    label: r.label,
    cores: r.cores,
    memoryMB: r.memory_mb,
    walltimeSec: r.walltime_sec,
    maxAttempts: r.max_attempts,
    memoryBoost: r.memory_boost ?? null,
    maxMemoryMB: r.max_memory_mb ?? null,
    priority: r.priority,
    sandbox: r.sandbox ?? null,
    transformation: r.transformation ?? null,
    after: JSON.parse(r.after_json) as number[],
    status: r.status as TaskStatus,
    createdAt: r.created_at,
  };
}

/** What a dependant task waits for: fixed at submit. */
export interface TaskDependency {
  readonly taskId: number;
  readonly after: readonly number[];
}

/** Task rows. */
export class TaskStore {
  /**
   * Dependants by the task they wait for. A task's `after` never changes once submitted, and every
   * finalised job asks: reading every task (and parsing its list) each time grew with the task count.
   * Rebuilt on the next question after a submit or a rolled-back write; only this process writes the file.
   */
  private dependants: Map<number, readonly TaskDependency[]> | null = null;
  /**
   * Task rows by id, as last read or written here. Every dispatch reads its job's task (the description needs
   * it) and every finalised job may mark its task running: a row read and parsed per request under load for a
   * row that changes a few times in a task's life. Written through by setStatus/markRunning, dropped with the
   * rest on a rolled-back write.
   */
  private readonly rows = new Map<number, TaskRecord>();

  constructor(private readonly db: Db) {}

  /** Drops what is cached from the rows (a write was rolled back). */
  forgetCached(): void {
    this.dependants = null;
    this.rows.clear();
  }

  /** Opens a submission and returns its request id (PanDA's reqID). */
  newRequest(workflow: string | null, at: string): number {
    return Number(prepared(this.db, `INSERT INTO requests (workflow, submitted_at) VALUES (?, ?)`).run(workflow, at).lastInsertRowid);
  }

  insert(task: Omit<TaskRecord, 'taskId'>): TaskRecord {
    this.dependants = null;
    const info = prepared(
      this.db,
      `INSERT INTO tasks (request_id, workflow, name, site, label, cores, memory_mb, walltime_sec, max_attempts,
           memory_boost, max_memory_mb, priority, after_json, status, created_at, sandbox, transformation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      task.requestId,
      task.workflow,
      task.name,
      task.site,
      task.label,
      task.cores,
      task.memoryMB,
      task.walltimeSec,
      task.maxAttempts,
      task.memoryBoost,
      task.maxMemoryMB,
      task.priority,
      JSON.stringify(task.after),
      task.status,
      task.createdAt,
      task.sandbox,
      task.transformation,
    );
    const created = this.get(Number(info.lastInsertRowid));
    if (!created) throw new Error('task vanished after insert');
    return created;
  }

  /** The task (frozen: it may be the cached record every caller shares). */
  get(taskId: number): TaskRecord | undefined {
    const cached = this.rows.get(taskId);
    if (cached) return cached;
    const row = prepared(this.db, `SELECT * FROM tasks WHERE task_id = ?`).get(taskId) as TaskRow | undefined;
    if (!row) return undefined;
    return this.keep(toRecord(row));
  }

  private keep(task: TaskRecord): TaskRecord {
    Object.freeze(task.after);
    this.rows.set(task.taskId, Object.freeze(task));
    return task;
  }

  list(): TaskRecord[] {
    return (prepared(this.db, `SELECT * FROM tasks ORDER BY task_id`).all() as TaskRow[]).map(toRecord);
  }

  /** Tasks whose `after` names `taskId`, in task order (only the facts fixed at submit: read their status with get()). */
  dependantsOf(taskId: number): readonly TaskDependency[] {
    if (!this.dependants) {
      const index = new Map<number, TaskDependency[]>();
      for (const r of prepared(this.db, `SELECT task_id, after_json FROM tasks ORDER BY task_id`).all() as Pick<TaskRow, 'task_id' | 'after_json'>[]) {
        const dependant: TaskDependency = Object.freeze({ taskId: r.task_id, after: Object.freeze(JSON.parse(r.after_json) as number[]) });
        for (const dep of new Set(dependant.after)) index.set(dep, [...(index.get(dep) ?? []), dependant]);
      }
      this.dependants = index;
    }
    return this.dependants.get(taskId) ?? [];
  }

  setStatus(taskId: number, status: TaskStatus): void {
    prepared(this.db, `UPDATE tasks SET status = ? WHERE task_id = ?`).run(status, taskId);
    const cached = this.rows.get(taskId);
    if (cached && cached.status !== status) this.keep({ ...cached, status });
  }

  /** Sets `running` unless already so: no statement at all when the cached row says it runs, no write while it runs. */
  markRunning(taskId: number): void {
    const cached = this.rows.get(taskId);
    if (cached?.status === 'running') return;
    prepared(this.db, `UPDATE tasks SET status = 'running' WHERE task_id = ? AND status <> 'running'`).run(taskId);
    if (cached) this.keep({ ...cached, status: 'running' });
  }

  countByStatus(): Record<string, number> {
    const rows = prepared(this.db, `SELECT status, COUNT(*) AS n FROM tasks GROUP BY status`).all() as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
