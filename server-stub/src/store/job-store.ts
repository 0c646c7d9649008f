/**
 * Jobs and their state history in SQLite: rows ↔ JobRecord, and the few
 * queries the engine needs. No decisions here; callers run these inside a
 * transaction when several must happen together.
 */
import type { ServerJobState } from '../../../pilot/src/protocol/index.js';
import type { JobRecord, JobTransition, JobUpdateView, PilotReport } from '../model/records.js';
import { NO_ORDER, type OrderSummary } from '../model/update-seq.js';
import { prepared, preparedRaw, type Db, type Statement } from './database.js';

interface JobRow {
  panda_id: number;
  task_id: number;
  slot: number;
  name: string;
  job_name: string;
  jobset_id: number;
  attempt_nr: number;
  state: string;
  command: string;
  cores: number;
  min_ram_count: number;
  max_disk_count: number;
  max_walltime: number | null;
  resource_type: string;
  label: string;
  site: string;
  priority: number;
  log_guid: string;
  command_to_pilot: string | null;
  server_error_code: number | null;
  server_error_diag: string | null;
  final_reported: number;
  pilot_final_state: string | null;
  report_json: string;
  retry_of: number | null;
  created_at: string;
  state_changed_at: string;
  dispatched_at: string | null;
  heartbeat_at: string | null;
  dispatch_node: string | null;
  order_json: string | null;
}

/**
 * The columns a JobRecord is made of, read as an array (raw) and named again by rowOf, in the same order: for a
 * row of 30 columns better-sqlite3's object costs about as much as the query (a dispatch's first candidate:
 * 27 -> 18 µs), and neither jobs.history nor jobs.order_json is read where the record does not carry them.
 */
const RECORD_COLUMNS = `panda_id, task_id, slot, name, job_name, jobset_id, attempt_nr, state, command, cores, min_ram_count, max_disk_count, max_walltime, resource_type, label, site, priority, log_guid, command_to_pilot, server_error_code, server_error_diag, final_reported, pilot_final_state, report_json, retry_of, created_at, state_changed_at, dispatched_at, heartbeat_at, dispatch_node`;

const RECORD_COLUMN_NAMES = RECORD_COLUMNS.split(', ');

/** A raw row of RECORD_COLUMNS with its column names again (the same keys in the same order: one object shape). */
function rowOf(a: unknown[]): JobRow {
  const row: Record<string, unknown> = {};
  RECORD_COLUMN_NAMES.forEach((name, i) => (row[name] = a[i]));
  return row as unknown as JobRow;
}

function toRecord(r: JobRow): JobRecord {
  return {
    pandaId: r.panda_id,
    taskId: r.task_id,
    slot: r.slot,
    name: r.name,
    jobName: r.job_name,
    jobsetId: r.jobset_id,
    attemptNr: r.attempt_nr,
    state: r.state as ServerJobState,
    command: r.command,
    cores: r.cores,
    minRamCount: r.min_ram_count,
    maxDiskCount: r.max_disk_count,
    maxWalltime: r.max_walltime,
    resourceType: r.resource_type,
    label: r.label,
    site: r.site,
    priority: r.priority,
    logGuid: r.log_guid,
    commandToPilot: r.command_to_pilot,
    serverErrorCode: r.server_error_code,
    serverErrorDiag: r.server_error_diag,
    finalReported: r.final_reported !== 0,
    pilotFinalState: r.pilot_final_state,
    report: JSON.parse(r.report_json) as PilotReport,
    retryOf: r.retry_of,
    createdAt: r.created_at,
    stateChangedAt: r.state_changed_at,
    dispatchedAt: r.dispatched_at,
    heartbeatAt: r.heartbeat_at,
    dispatchNode: r.dispatch_node,
  };
}

const NO_ORDER_JSON = JSON.stringify(NO_ORDER);

function records(rows: unknown[]): JobRecord[] {
  return (rows as unknown[][]).map((r) => toRecord(rowOf(r)));
}

/** What a new job needs; the store assigns PandaID and jobName (which contains it). */
export type NewJob = Omit<
  JobRecord,
  | 'pandaId'
  | 'jobName'
  | 'commandToPilot'
  | 'serverErrorCode'
  | 'serverErrorDiag'
  | 'finalReported'
  | 'pilotFinalState'
  | 'report'
  | 'stateChangedAt'
  | 'dispatchedAt'
  | 'heartbeatAt'
  | 'dispatchNode'
>;

/** Columns the engine may change after creation. */
export interface JobChanges {
  state?: ServerJobState;
  commandToPilot?: string | null;
  serverErrorCode?: number | null;
  serverErrorDiag?: string | null;
  finalReported?: boolean;
  pilotFinalState?: string | null;
  report?: PilotReport;
  dispatchedAt?: string | null;
  heartbeatAt?: string | null;
  dispatchNode?: string | null;
  stateChangedAt?: string;
  /** The order rules' summary after an accepted update. */
  order?: OrderSummary;
}

const COLUMN: Record<keyof JobChanges, string> = {
  state: 'state',
  commandToPilot: 'command_to_pilot',
  serverErrorCode: 'server_error_code',
  serverErrorDiag: 'server_error_diag',
  finalReported: 'final_reported',
  pilotFinalState: 'pilot_final_state',
  report: 'report_json',
  dispatchedAt: 'dispatched_at',
  heartbeatAt: 'heartbeat_at',
  dispatchNode: 'dispatch_node',
  stateChangedAt: 'state_changed_at',
  order: 'order_json',
};

/** The columns JobChanges may set, in the order of an UPDATE's mask bits; then history, then the state condition. */
const CHANGE_KEYS = Object.keys(COLUMN) as (keyof JobChanges)[];
const HISTORY_BIT = 1 << CHANGE_KEYS.length;
const IF_STATE_BIT = HISTORY_BIT << 1;

/** The UPDATE that sets the columns of `mask` (their values bound in CHANGE_KEYS order, then history, id, state). */
function updateSql(mask: number): string {
  const sets = CHANGE_KEYS.filter((_, i) => mask & (1 << i)).map((key) => `${COLUMN[key]} = ?`);
  if (mask & HISTORY_BIT) sets.push('history = history || ?');
  return `UPDATE jobs SET ${sets.join(', ')} WHERE panda_id = ?${mask & IF_STATE_BIT ? ' AND state = ?' : ''}`;
}

/**
 * One step of a job's history as jobs.history keeps it: a JSON object and a newline, appended in order. On the
 * row, in the same UPDATE as the change it records: a history table with its index on the job cost an INSERT
 * (about 10 µs under the load bench, more than a fifth of a transition) for every state change.
 */
function historyLine(t: Omit<JobTransition, 'pandaId'>): string {
  return `${JSON.stringify({ at: t.at, from: t.from, to: t.to, reason: t.reason })}\n`;
}

/** `changes` and the new state with its time: `{ ...changes, state, stateChangedAt }` cost V8 about 2 µs. */
function withState(changes: JobChanges, state: ServerJobState, at: string): JobChanges {
  const all = Object.assign({}, changes);
  all.state = state;
  all.stateChangedAt = at;
  return all;
}

/** Job rows, each with its history. */
export class JobStore {
  /** UPDATE statements by the mask of what they change (updateSql): no SQL text built and looked up per update. */
  private readonly updateStatements = new Map<number, Statement>();

  constructor(private readonly db: Db) {}

  /** Inserts a job; `nameFor` makes the jobName from the PandaID SQLite assigned. */
  insert(job: NewJob, nameFor: (pandaId: number) => string): JobRecord {
    const info = prepared(
      this.db,
      `INSERT INTO jobs (task_id, slot, name, job_name, jobset_id, attempt_nr, state, command, cores,
           min_ram_count, max_disk_count, max_walltime, resource_type, label, site, priority, log_guid,
           retry_of, created_at, state_changed_at, history, order_json)
         VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      job.taskId,
      job.slot,
      job.name,
      job.jobsetId,
      job.attemptNr,
      job.state,
      job.command,
      job.cores,
      job.minRamCount,
      job.maxDiskCount,
      job.maxWalltime,
      job.resourceType,
      job.label,
      job.site,
      job.priority,
      job.logGuid,
      job.retryOf,
      job.createdAt,
      job.createdAt,
      historyLine({ at: job.createdAt, from: null, to: job.state, reason: 'created' }),
      // A new job has no updates: its order summary is the empty one, so its first update need not look for them.
      NO_ORDER_JSON,
    );
    const pandaId = Number(info.lastInsertRowid);
    prepared(this.db, `UPDATE jobs SET job_name = ? WHERE panda_id = ?`).run(nameFor(pandaId), pandaId);
    const created = this.get(pandaId);
    if (!created) throw new Error(`job ${pandaId} vanished after insert`);
    return created;
  }

  get(pandaId: number): JobRecord | undefined {
    const row = preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} FROM jobs WHERE panda_id = ?`).get(pandaId) as unknown[] | undefined;
    return row && toRecord(rowOf(row));
  }

  /**
   * The columns an update reads (`JobUpdateView`): a row of 30 columns costs twice as much to read as these
   * nine, and read as an array (`raw`) instead of an object with named keys, a third less again (better-sqlite3
   * builds the object per row; 10.9 -> 7.2 µs per read of these columns on an 11,461-job database).
   */
  forUpdate(pandaId: number): JobUpdateView | undefined {
    const r = preparedRaw(
      this.db,
      `SELECT task_id, slot, state, attempt_nr, command_to_pilot, final_reported, pilot_final_state, report_json, order_json FROM jobs WHERE panda_id = ?`,
    ).get(pandaId) as [number, number, string, number, string | null, number, string | null, string, string | null] | undefined;
    if (!r) return undefined;
    const [taskId, slot, state, attemptNr, commandToPilot, finalReported, pilotFinalState, reportJson, orderJson] = r;
    return {
      pandaId,
      taskId,
      slot,
      state: state as ServerJobState,
      attemptNr,
      commandToPilot,
      finalReported: finalReported !== 0,
      pilotFinalState,
      report: JSON.parse(reportJson) as PilotReport,
      order: orderJson === null ? null : (JSON.parse(orderJson) as OrderSummary),
    };
  }

  /** Jobs of a task (or all), oldest first. */
  list(filter: { taskId?: number | undefined; state?: string | undefined } = {}): JobRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.taskId !== undefined) {
      where.push('task_id = ?');
      args.push(filter.taskId);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    const sql = `SELECT ${RECORD_COLUMNS} FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY panda_id`;
    return records(preparedRaw(this.db, sql).all(...args));
  }

  /**
   * Activated jobs on one site in dispatch order (highest priority, then the
   * oldest PandaID), read lazily from the index: a caller that stops after
   * the first few fitting jobs never reads the rest.
   */
  *activatedInOrder(site: string): Generator<JobRecord, void, undefined> {
    // Most walks stop at the first job (one job asked for, and it fits): a single-row read, cheaper than an iterator.
    const order = `FROM jobs WHERE state = 'activated' AND site = ? ORDER BY priority DESC, panda_id`;
    const first = preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} ${order} LIMIT 1`).get(site) as unknown[] | undefined;
    if (!first) return;
    yield toRecord(rowOf(first));
    // Read on from the second: the caller only reads while it walks, so the first row is the one just yielded.
    // Cached statement: the walk always ends (or is returned) before the next dispatch, which runs it again.
    const rest = preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} ${order} LIMIT -1 OFFSET 1`);
    for (const row of rest.iterate(site) as IterableIterator<unknown[]>) yield toRecord(rowOf(row));
  }

  /**
   * Whether a task has a job past `defined` that is not final yet. Such a job
   * is always its slot's latest attempt (a retry is made only once the
   * previous attempt failed), so the task is running whatever else holds.
   */
  hasJobInFlight(taskId: number): boolean {
    // Running first, as one probe: most jobs in flight run, and SQLite probes an IN list in sorted order
    // (activated, holding, running, ...), three probes before the usual hit (6.3 -> 2.9 µs on 11,461 jobs).
    if (prepared(this.db, `SELECT 1 FROM jobs WHERE state = 'running' AND task_id = ? LIMIT 1`).get(taskId) !== undefined) return true;
    const row = prepared(this.db, `SELECT 1 FROM jobs WHERE task_id = ? AND state IN ('activated', 'sent', 'starting', 'holding', 'transferring') LIMIT 1`).get(
      taskId,
    );
    return row !== undefined;
  }

  /**
   * The state of the latest attempt of every job slot of a task, in slot order: all a task's status and
   * its dependants' verdict need. Only the state column, grouped along jobs_by_task: reading whole rows
   * (and parsing their reports) of 11,461 jobs held the event loop 270 ms when the last one ended.
   */
  latestStates(taskId: number): ServerJobState[] {
    // A bare column next to a single MAX() comes from the row holding that maximum (SQLite's documented rule).
    return prepared(this.db, `SELECT state, MAX(attempt_nr) FROM jobs WHERE task_id = ? GROUP BY slot ORDER BY slot`).pluck().all(taskId) as ServerJobState[];
  }

  /**
   * Applies changes; with `ifState`, only when the job is still in that state; `history` (lines of
   * historyLine) is appended to the job's history in the same statement. Returns whether a row changed.
   */
  update(pandaId: number, changes: JobChanges, ifState?: ServerJobState, history?: string): boolean {
    let mask = 0;
    const args: (string | number | null)[] = [];
    // A plain loop: a closure per update showed in the load bench's profile (1% of the stub).
    for (let i = 0; i < CHANGE_KEYS.length; i++) {
      const key = CHANGE_KEYS[i] as keyof JobChanges;
      const value = changes[key];
      if (value === undefined) continue;
      mask |= 1 << i;
      if (key === 'report' || key === 'order') args.push(JSON.stringify(value));
      else if (typeof value === 'boolean') args.push(value ? 1 : 0);
      else args.push(value as string | number | null);
    }
    if (history !== undefined) {
      mask |= HISTORY_BIT;
      args.push(history);
    }
    if (mask === 0) return false;
    args.push(pandaId);
    if (ifState !== undefined) {
      mask |= IF_STATE_BIT;
      args.push(ifState);
    }
    let stmt = this.updateStatements.get(mask);
    if (!stmt) this.updateStatements.set(mask, (stmt = this.db.prepare(updateSql(mask))));
    return stmt.run(...args).changes === 1;
  }

  /** Moves a job to a new state and records the transition. */
  transition(pandaId: number, from: ServerJobState, to: ServerJobState, at: string, reason: string, extra: JobChanges = {}): boolean {
    // One UPDATE for the state, its time and the caller's changes: transitions are most of the stub's writes under load.
    return this.update(pandaId, withState(extra, to, at), from, historyLine({ at, from, to, reason }));
  }

  /**
   * Moves a job from `from` through `via` to `to` in one UPDATE, both steps in its history (`via` null: it is
   * in the middle state already, only the last step is recorded). A final report passes holding this way.
   */
  transitionVia(
    pandaId: number,
    from: ServerJobState,
    via: { state: ServerJobState; reason: string } | null,
    to: ServerJobState,
    at: string,
    reason: string,
    extra: JobChanges = {},
  ): boolean {
    const steps = (via ? historyLine({ at, from, to: via.state, reason: via.reason }) : '') + historyLine({ at, from: via?.state ?? from, to, reason });
    return this.update(pandaId, withState(extra, to, at), from, steps);
  }

  /** Records a step that changed nothing else (a kill request, a retry decision). */
  addHistory(t: JobTransition): void {
    prepared(this.db, `UPDATE jobs SET history = history || ? WHERE panda_id = ?`).run(historyLine(t), t.pandaId);
  }

  /** The job's history, oldest step first (empty for an unknown job). */
  history(pandaId: number): JobTransition[] {
    const text = prepared(this.db, `SELECT history FROM jobs WHERE panda_id = ?`).pluck().get(pandaId) as string | undefined;
    if (!text) return [];
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const step = JSON.parse(line) as Omit<JobTransition, 'pandaId'>;
        return { pandaId, at: step.at, from: step.from, to: step.to, reason: step.reason };
      });
  }

  /** Job counts per task and state, in one grouped query (the monitor's overview). */
  countByTaskAndState(): Map<number, Record<string, number>> {
    const out = new Map<number, Record<string, number>>();
    for (const r of prepared(this.db, `SELECT task_id, state, COUNT(*) AS n FROM jobs GROUP BY task_id, state`).all() as {
      task_id: number;
      state: string;
      n: number;
    }[]) {
      const counts = out.get(r.task_id) ?? {};
      counts[r.state] = r.n;
      out.set(r.task_id, counts);
    }
    return out;
  }

  /** At most `limit` jobs of a task (optionally in one state), oldest first: a page, not the whole table. */
  page(taskId: number, state: string | undefined, limit: number): JobRecord[] {
    const rows =
      state === undefined
        ? preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} FROM jobs WHERE task_id = ? ORDER BY panda_id LIMIT ?`).all(taskId, limit)
        : preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} FROM jobs WHERE task_id = ? AND state = ? ORDER BY panda_id LIMIT ?`).all(taskId, state, limit);
    return records(rows);
  }

  /** Every attempt of one job slot, first attempt first. */
  attempts(taskId: number, slot: number): JobRecord[] {
    return records(preparedRaw(this.db, `SELECT ${RECORD_COLUMNS} FROM jobs WHERE task_id = ? AND slot = ? ORDER BY attempt_nr`).all(taskId, slot));
  }

  /** Number of jobs per state. */
  countByState(): Record<string, number> {
    const rows = prepared(this.db, `SELECT state, COUNT(*) AS n FROM jobs GROUP BY state`).all() as { state: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }
}
