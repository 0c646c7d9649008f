/**
 * Opens the stub's SQLite database and brings its schema up to date. All
 * state lives here (WAL, synchronous=FULL): a `kill -9` of the stub and a
 * restart on the same directory lose no task, job or update.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_RANGE_SCHEMA } from './event-range-schema.js';

export type Db = Database.Database;
export type Statement = Database.Statement;

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** A prepared statement, compiled once per database and reused (compiling costs more than running most of ours). */
export function prepared(db: Db, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (!stmt) byText.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

const rawStatements = new WeakMap<Db, Map<string, Database.Statement>>();

/** `prepared`, in raw mode: rows come as arrays in the SELECT's column order, not objects (cheaper to build per row). */
export function preparedRaw(db: Db, sql: string): Database.Statement {
  let byText = rawStatements.get(db);
  if (!byText) rawStatements.set(db, (byText = new Map()));
  let stmt = byText.get(sql);
  if (!stmt) byText.set(sql, (stmt = db.prepare(sql).raw(true)));
  return stmt;
}

/** The first ids handed out; PanDA IDs are large, so ours look like them. */
const FIRST_PANDA_ID = 1_000_001;
const FIRST_TASK_ID = 1001;
const FIRST_REQUEST_ID = 101;

// 2: jobs.order_json (the order rules' summary on the job row). An older stub refuses a version-2 data dir:
// it would update jobs without keeping that summary current.
// 3: job_history and updates without AUTOINCREMENT, one jobs index on (state, task_id) instead of two. The same
// rows and order; an older stub refuses it like any newer version.
// 4: a job's history on its row (jobs.history, see job-store.ts), no job_history table. See migrate().
const SCHEMA_VERSION = 4;

/**
 * The update log. INTEGER PRIMARY KEY without AUTOINCREMENT: SQLite then hands out max(id) + 1, which only
 * differs from AUTOINCREMENT after the newest row is deleted, and these rows never are; it saves a read and a
 * write of sqlite_sequence on every insert.
 */
const UPDATES_COLUMNS = `(
  id INTEGER PRIMARY KEY,
  panda_id INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  dialect TEXT NOT NULL,
  method TEXT NOT NULL,
  params_json TEXT NOT NULL,
  seq_header TEXT,
  result TEXT NOT NULL,
  command TEXT NOT NULL,
  order_violation TEXT
)`;
/** Its index, made again after a rebuild (dropping a table drops its indexes). */
const UPDATES_INDEX = `CREATE INDEX IF NOT EXISTS updates_by_job ON updates(panda_id, id);`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
  request_id INTEGER PRIMARY KEY AUTOINCREMENT,
  workflow TEXT,
  submitted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
  task_id INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id INTEGER NOT NULL REFERENCES requests(request_id),
  workflow TEXT,
  name TEXT NOT NULL,
  site TEXT NOT NULL,
  label TEXT NOT NULL,
  cores INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  walltime_sec INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  memory_boost REAL,
  max_memory_mb INTEGER,
  priority INTEGER NOT NULL,
  after_json TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
  panda_id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id INTEGER NOT NULL REFERENCES tasks(task_id),
  slot INTEGER NOT NULL,
  name TEXT NOT NULL,
  job_name TEXT NOT NULL,
  jobset_id INTEGER NOT NULL,
  attempt_nr INTEGER NOT NULL,
  state TEXT NOT NULL,
  command TEXT NOT NULL,
  cores INTEGER NOT NULL,
  min_ram_count INTEGER NOT NULL,
  max_disk_count INTEGER NOT NULL,
  max_walltime INTEGER,
  resource_type TEXT NOT NULL,
  label TEXT NOT NULL,
  site TEXT NOT NULL,
  priority INTEGER NOT NULL,
  log_guid TEXT NOT NULL,
  command_to_pilot TEXT,
  server_error_code INTEGER,
  server_error_diag TEXT,
  final_reported INTEGER NOT NULL DEFAULT 0,
  pilot_final_state TEXT,
  report_json TEXT NOT NULL DEFAULT '{}',
  retry_of INTEGER,
  created_at TEXT NOT NULL,
  state_changed_at TEXT NOT NULL,
  dispatched_at TEXT,
  heartbeat_at TEXT,
  dispatch_node TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_task ON jobs(task_id, slot, attempt_nr);
-- Dispatch walks the activated jobs of a site in dispatch order and stops at the first that fit: no scan, no sort.
-- Partial: only activated jobs are in it, so the other transitions (sent → starting → running → …) never touch it.
DROP INDEX IF EXISTS jobs_dispatch_order;
CREATE INDEX IF NOT EXISTS jobs_activated_order ON jobs(site, priority DESC, panda_id) WHERE state = 'activated';
-- Jobs in a state (the watchdog's list) and whether a task still has jobs in flight (one probe per state), without
-- reading its finished ones. One index for both: every state change rewrites an entry of each index on state, and
-- (state, site) plus (task_id, state) cost a fifth of an update's UPDATE under load.
DROP INDEX IF EXISTS jobs_by_state_site;
DROP INDEX IF EXISTS jobs_by_task_state;
CREATE INDEX IF NOT EXISTS jobs_by_state_task ON jobs(state, task_id);
CREATE TABLE IF NOT EXISTS updates ${UPDATES_COLUMNS};
${UPDATES_INDEX}
CREATE TABLE IF NOT EXISTS worker_status (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at TEXT NOT NULL,
  dialect TEXT NOT NULL,
  harvester_id TEXT NOT NULL,
  worker_id TEXT NOT NULL,
  status TEXT NOT NULL,
  node_id TEXT,
  site TEXT
);
`;

/** Columns added after the first schema: a database made by an older stub gains them (NULL = the default). */
const ADDED_COLUMNS: readonly [table: string, column: string, type: string][] = [
  ['tasks', 'memory_boost', 'REAL'],
  ['tasks', 'max_memory_mb', 'INTEGER'],
  ['tasks', 'sandbox', 'TEXT'],
  ['tasks', 'transformation', 'TEXT'],
  ['jobs', 'order_json', 'TEXT'],
  ['jobs', 'history', "TEXT NOT NULL DEFAULT ''"],
];

function addMissingColumns(db: Db): void {
  for (const [table, column, type] of ADDED_COLUMNS) {
    const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
    if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

/**
 * From an older version, in the opening transaction (after the columns were added):
 * - version 4: the rows of job_history move onto their jobs (jobs.history, in id order, the format of
 *   job-store.ts: one JSON object a line) and the table goes;
 * - version 3: an updates table made AUTOINCREMENT is copied into one without it (ids kept, so the order of
 *   its rows is too) and its sequence forgotten.
 */
function migrate(db: Db): void {
  const ddlOf = (table: string) => db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).pluck().get(table) as string | undefined;
  if (ddlOf('job_history') !== undefined) {
    db.exec(`UPDATE jobs SET history = COALESCE((
        SELECT group_concat(json_object('at', h.at, 'from', h.from_state, 'to', h.to_state, 'reason', h.reason) || char(10), '' ORDER BY h.id)
          FROM job_history h WHERE h.panda_id = jobs.panda_id), '');
      DROP TABLE job_history;
      DELETE FROM sqlite_sequence WHERE name = 'job_history';`);
  }
  if (/AUTOINCREMENT/i.test(ddlOf('updates') ?? '')) {
    const names = 'id, panda_id, received_at, dialect, method, params_json, seq_header, result, command, order_violation';
    db.exec(`CREATE TABLE updates_v3 ${UPDATES_COLUMNS};
      INSERT INTO updates_v3 (${names}) SELECT ${names} FROM updates ORDER BY id;
      DROP TABLE updates;
      ALTER TABLE updates_v3 RENAME TO updates;
      DELETE FROM sqlite_sequence WHERE name = 'updates';
      ${UPDATES_INDEX}`);
  }
}

/** Starts an AUTOINCREMENT sequence at `first` unless it already runs. */
function seedSequence(db: Db, table: string, first: number): void {
  db.prepare(`INSERT INTO sqlite_sequence(name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)`).run(table, first - 1, table);
}

/** Opens (creating if needed) `<dataDir>/panda-stub.sqlite`. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'panda-stub.sqlite'));
  db.pragma('journal_mode = WAL');
  // FULL: a committed update survives even a power cut, not only a killed process (group-commit.ts then moves the WAL's fsync off the event loop).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 64 MB of page cache and memory-mapped reads: 11,461 jobs with their updates and history fit, so dispatch and updates do not go to the OS for pages.
  db.pragma('cache_size = -65536');
  db.pragma('mmap_size = 268435456');
  db.transaction(() => {
    db.exec(SCHEMA);
    addMissingColumns(db);
    db.exec(EVENT_RANGE_SCHEMA);
    seedSequence(db, 'jobs', FIRST_PANDA_ID);
    seedSequence(db, 'tasks', FIRST_TASK_ID);
    seedSequence(db, 'requests', FIRST_REQUEST_ID);
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    if (row === undefined) {
      db.prepare(`INSERT INTO meta(key, value) VALUES ('schema_version', ?)`).run(String(SCHEMA_VERSION));
    } else if (Number(row.value) > SCHEMA_VERSION) {
      throw new Error(`database schema version ${row.value} is newer than this stub (${SCHEMA_VERSION})`);
    } else if (Number(row.value) < SCHEMA_VERSION) {
      // The columns were added above; rows of the older stub keep NULL there, which the stores read as "not kept yet".
      migrate(db);
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
    }
  }).immediate();
  return db;
}
