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
// 3: job_history and updates without AUTOINCREMENT, one jobs index on (state, task_id) instead of two (see
// migrateToV3). The same rows and order; an older stub refuses it like any newer version.
const SCHEMA_VERSION = 3;

/**
 * The two append-only logs. INTEGER PRIMARY KEY without AUTOINCREMENT: SQLite then hands out max(id) + 1,
 * which only differs from AUTOINCREMENT after the newest row is deleted, and these rows never are; it saves
 * a read and a write of sqlite_sequence on every insert (about two per update under load).
 */
const JOB_HISTORY_COLUMNS = `(
  id INTEGER PRIMARY KEY,
  panda_id INTEGER NOT NULL,
  at TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL
)`;
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
/** Their indexes, made again after a rebuild (dropping a table drops its indexes). */
const LOG_INDEXES = `
CREATE INDEX IF NOT EXISTS history_by_job ON job_history(panda_id, id);
CREATE INDEX IF NOT EXISTS updates_by_job ON updates(panda_id, id);
`;

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
CREATE TABLE IF NOT EXISTS job_history ${JOB_HISTORY_COLUMNS};
CREATE TABLE IF NOT EXISTS updates ${UPDATES_COLUMNS};
${LOG_INDEXES}
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
];

function addMissingColumns(db: Db): void {
  for (const [table, column, type] of ADDED_COLUMNS) {
    const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
    if (!cols.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

/**
 * Version 3: a table made AUTOINCREMENT by an older stub is copied into one without it (ids kept, so the
 * order of its rows is too) and its sequence forgotten. Runs once, in the opening transaction.
 */
function migrateToV3(db: Db): void {
  for (const [table, columns, names] of [
    ['job_history', JOB_HISTORY_COLUMNS, 'id, panda_id, at, from_state, to_state, reason'],
    ['updates', UPDATES_COLUMNS, 'id, panda_id, received_at, dialect, method, params_json, seq_header, result, command, order_violation'],
  ] as const) {
    const ddl = db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`).pluck().get(table) as string | undefined;
    if (ddl === undefined || !/AUTOINCREMENT/i.test(ddl)) continue;
    db.exec(`CREATE TABLE ${table}_v3 ${columns};
      INSERT INTO ${table}_v3 (${names}) SELECT ${names} FROM ${table} ORDER BY id;
      DROP TABLE ${table};
      ALTER TABLE ${table}_v3 RENAME TO ${table};
      DELETE FROM sqlite_sequence WHERE name = '${table}';`);
  }
  db.exec(LOG_INDEXES);
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
      migrateToV3(db);
      db.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(String(SCHEMA_VERSION));
    }
  }).immediate();
  return db;
}
