/**
 * The event service's tables. Its own file, below both the database opener
 * and the range store, so the opener can create them without importing the
 * store that itself imports the opener (no cycle). Additive (CREATE IF NOT
 * EXISTS): a database made before the event service opens unchanged.
 */
export const EVENT_RANGE_SCHEMA = `
CREATE TABLE IF NOT EXISTS es_tasks (
  task_id INTEGER PRIMARY KEY REFERENCES tasks(task_id),
  ranges_per_job INTEGER NOT NULL,
  range_attempts INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS event_ranges (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  range_id TEXT NOT NULL UNIQUE,
  task_id INTEGER NOT NULL,
  panda_id INTEGER NOT NULL,
  job_slot INTEGER NOT NULL,
  file_id INTEGER NOT NULL,
  process_id INTEGER NOT NULL,
  attempt_nr INTEGER NOT NULL,
  start_event INTEGER NOT NULL,
  last_event INTEGER NOT NULL,
  lfn TEXT NOT NULL,
  guid TEXT NOT NULL,
  scope TEXT NOT NULL,
  quantum TEXT NOT NULL,
  status INTEGER NOT NULL,
  error_code INTEGER,
  error_diag TEXT,
  core_count INTEGER,
  cpu_time REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ranges_by_job ON event_ranges(panda_id, status, process_id);
CREATE INDEX IF NOT EXISTS ranges_by_slot ON event_ranges(task_id, job_slot, file_id, process_id, attempt_nr);
`;
