/**
 * Event-service tasks and their ranges in SQLite. Its tables are additive
 * (CREATE IF NOT EXISTS), so a database made before the event service opens
 * unchanged. Rows ↔ records only; the engine decides.
 */
import type { EventRangeStatusCode } from '../../../pilot/src/protocol/index.js';
import type { EventRangeRecord } from '../model/event-service.js';
import { prepared, type Db } from './database.js';

interface RangeRow {
  range_id: string;
  task_id: number;
  panda_id: number;
  job_slot: number;
  file_id: number;
  process_id: number;
  attempt_nr: number;
  start_event: number;
  last_event: number;
  lfn: string;
  guid: string;
  scope: string;
  quantum: string;
  status: number;
  error_code: number | null;
  error_diag: string | null;
  core_count: number | null;
  cpu_time: number | null;
  created_at: string;
  updated_at: string;
}

function toRecord(r: RangeRow): EventRangeRecord {
  return {
    rangeId: r.range_id,
    taskId: r.task_id,
    pandaId: r.panda_id,
    jobSlot: r.job_slot,
    fileId: r.file_id,
    processId: r.process_id,
    attemptNr: r.attempt_nr,
    startEvent: r.start_event,
    lastEvent: r.last_event,
    lfn: r.lfn,
    guid: r.guid,
    scope: r.scope,
    quantum: r.quantum,
    status: r.status as EventRangeStatusCode,
    errorCode: r.error_code,
    errorDiag: r.error_diag,
    coreCount: r.core_count,
    cpuConsumptionTime: r.cpu_time,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Event-service settings of a task. */
export interface EsTaskSettings {
  rangesPerJob: number;
  rangeAttempts: number;
}

/** What a range report may change. */
export interface RangeChanges {
  status: EventRangeStatusCode;
  errorCode?: number | null | undefined;
  errorDiag?: string | null | undefined;
  coreCount?: number | null | undefined;
  cpuConsumptionTime?: number | null | undefined;
}

/** ES task rows and range rows. */
export class EventRangeStore {
  /** ES settings by task (null: a plain task). Fixed at submit, and read on every finalised job and dispatch. */
  private readonly tasks = new Map<number, Readonly<EsTaskSettings> | null>();

  constructor(private readonly db: Db) {}

  /** Drops what is cached from the rows (a write was rolled back). */
  forgetCached(): void {
    this.tasks.clear();
  }

  setTask(taskId: number, s: EsTaskSettings): void {
    this.tasks.delete(taskId);
    prepared(this.db, `INSERT INTO es_tasks (task_id, ranges_per_job, range_attempts) VALUES (?, ?, ?)`).run(taskId, s.rangesPerJob, s.rangeAttempts);
  }

  /** The task's ES settings, or undefined for a plain task. */
  task(taskId: number): Readonly<EsTaskSettings> | undefined {
    const cached = this.tasks.get(taskId);
    if (cached !== undefined) return cached ?? undefined;
    const row = prepared(this.db, `SELECT ranges_per_job, range_attempts FROM es_tasks WHERE task_id = ?`).get(taskId) as
      { ranges_per_job: number; range_attempts: number } | undefined;
    const settings = row ? Object.freeze({ rangesPerJob: row.ranges_per_job, rangeAttempts: row.range_attempts }) : null;
    this.tasks.set(taskId, settings);
    return settings ?? undefined;
  }

  insert(r: Omit<EventRangeRecord, 'errorCode' | 'errorDiag' | 'coreCount' | 'cpuConsumptionTime' | 'updatedAt'>): void {
    prepared(
      this.db,
      `INSERT INTO event_ranges (range_id, task_id, panda_id, job_slot, file_id, process_id, attempt_nr, start_event,
           last_event, lfn, guid, scope, quantum, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      r.rangeId,
      r.taskId,
      r.pandaId,
      r.jobSlot,
      r.fileId,
      r.processId,
      r.attemptNr,
      r.startEvent,
      r.lastEvent,
      r.lfn,
      r.guid,
      r.scope,
      r.quantum,
      r.status,
      r.createdAt,
      r.createdAt,
    );
  }

  get(rangeId: string): EventRangeRecord | undefined {
    const row = prepared(this.db, `SELECT * FROM event_ranges WHERE range_id = ?`).get(rangeId) as RangeRow | undefined;
    return row && toRecord(row);
  }

  /** Every range row of a job, in order of quantum and attempt. */
  forJob(pandaId: number): EventRangeRecord[] {
    const rows = prepared(this.db, `SELECT * FROM event_ranges WHERE panda_id = ? ORDER BY process_id, attempt_nr`).all(pandaId) as RangeRow[];
    return rows.map(toRecord);
  }

  /** Up to `n` ranges of a job in `status`, lowest quantum first. */
  withStatus(pandaId: number, status: EventRangeStatusCode, n: number): EventRangeRecord[] {
    const rows = prepared(this.db, `SELECT * FROM event_ranges WHERE panda_id = ? AND status = ? ORDER BY process_id, attempt_nr LIMIT ?`).all(
      pandaId,
      status,
      n,
    ) as RangeRow[];
    return rows.map(toRecord);
  }

  /** Ranges ready to hand out in a task (jobset). */
  countReady(taskId: number): number {
    return (prepared(this.db, `SELECT COUNT(*) AS n FROM event_ranges WHERE task_id = ? AND status = 0`).get(taskId) as { n: number }).n;
  }

  /** The latest attempt of every range slot of a job slot, across the job's attempts. */
  latestOfSlot(taskId: number, jobSlot: number): EventRangeRecord[] {
    const rows = prepared(
      this.db,
      `SELECT * FROM event_ranges r WHERE task_id = ? AND job_slot = ? AND id =
           (SELECT MAX(id) FROM event_ranges s WHERE s.task_id = r.task_id AND s.job_slot = r.job_slot
              AND s.file_id = r.file_id AND s.process_id = r.process_id)
         ORDER BY process_id`,
    ).all(taskId, jobSlot) as RangeRow[];
    return rows.map(toRecord);
  }

  update(rangeId: string, changes: RangeChanges, at: string): void {
    prepared(
      this.db,
      `UPDATE event_ranges SET status = ?, error_code = COALESCE(?, error_code), error_diag = COALESCE(?, error_diag),
           core_count = COALESCE(?, core_count), cpu_time = COALESCE(?, cpu_time), updated_at = ? WHERE range_id = ?`,
    ).run(changes.status, changes.errorCode ?? null, changes.errorDiag ?? null, changes.coreCount ?? null, changes.cpuConsumptionTime ?? null, at, rangeId);
  }

  /** Moves every range of a job in one of `from` to `to`. */
  moveAll(pandaId: number, from: readonly EventRangeStatusCode[], to: EventRangeStatusCode, at: string): number {
    const marks = from.map(() => '?').join(', ');
    return prepared(this.db, `UPDATE event_ranges SET status = ?, updated_at = ? WHERE panda_id = ? AND status IN (${marks})`).run(to, at, pandaId, ...from)
      .changes;
  }

  /** Number of ranges per status name code, for the summary. */
  countByStatus(): Record<string, number> {
    const rows = prepared(this.db, `SELECT status, COUNT(*) AS n FROM event_ranges GROUP BY status`).all() as { status: number; n: number }[];
    return Object.fromEntries(rows.map((r) => [String(r.status), r.n]));
  }
}
