/**
 * The current schema (version 4) on a data dir of an older stub (version 2):
 * job_history was a table and it and updates were AUTOINCREMENT, jobs had two
 * indexes on state. The test makes a data dir with the current stub, takes it
 * back to the version-2 shape (the tables as that stub created them, its
 * indexes, its sequences, no history column), reopens it, and checks that
 * every job has its history again, every update row kept its id and order, new
 * rows come after them, the old table and indexes are gone, and the engine
 * carries on with the jobs it had (a final report, the task's status, the
 * order rules' resend check).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StubEngine } from '../../server-stub/src/engine/index.js';
import { parseTaskFile } from '../../server-stub/src/model/task-file.js';
import { openStores, type Stores } from '../../server-stub/src/store/index.js';

let dir = '';
let stores: Stores | undefined;
afterEach(() => {
  stores?.close();
  stores = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The two tables as the version-2 stub created them. */
const V2_TABLES = `
CREATE TABLE job_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  panda_id INTEGER NOT NULL,
  at TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX history_by_job ON job_history(panda_id, id);
CREATE TABLE updates (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  panda_id INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  dialect TEXT NOT NULL,
  method TEXT NOT NULL,
  params_json TEXT NOT NULL,
  seq_header TEXT,
  result TEXT NOT NULL,
  command TEXT NOT NULL,
  order_violation TEXT
);
CREATE INDEX updates_by_job ON updates(panda_id, id);
CREATE INDEX jobs_by_state_site ON jobs(state, site);
CREATE INDEX jobs_by_task_state ON jobs(task_id, state);
`;

const rowsOf = (db: Database.Database, table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY id`).all() as Record<string, unknown>[];

function update(engine: StubEngine, pandaId: number, state: string, n: number) {
  const params = { jobId: pandaId, state, attemptNr: 1 };
  return engine.update({ dialect: 'legacy', method: 'updateJob', pandaId, state, attemptNr: 1, report: {}, params, seqHeader: `${pandaId}:1:${n}` });
}

it('a version-2 data dir opens as version 4 with every job history and update row, in order, and the engine goes on', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stub-schema-migration-'));
  stores = openStores(dir);
  let engine = new StubEngine(stores);
  const parsed = parseTaskFile({ name: 'old', site: 'SITE', command: 'true', count: 3 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  engine.submit(parsed.spec);
  const ids = [0, 1, 2].map(() => engine.dispatch({ siteName: 'SITE', nJobs: 1 }, 'wn')[0]?.PandaID as number);
  expect(ids.every((id) => typeof id === 'number')).toBe(true);
  const [a, b, c] = ids as [number, number, number];
  update(engine, a, 'starting', 1);
  update(engine, b, 'starting', 1);
  update(engine, a, 'running', 2);
  update(engine, a, 'finished', 3);
  update(engine, c, 'starting', 1);
  await stores.durable();

  const histories = ids.map((id) => engine.jobDetails(id)?.history);
  expect(histories.map((h) => h?.length)).toEqual([6, 3, 3]);
  stores.close();
  stores = undefined;

  // Back to version 2: the same rows in the tables that stub made, its sequences and indexes, no history column.
  const file = path.join(dir, 'panda-stub.sqlite');
  const raw = new Database(file);
  const updates = rowsOf(raw, 'updates');
  expect(updates).toHaveLength(5);
  raw.exec(`ALTER TABLE updates RENAME TO u_old; DROP INDEX updates_by_job; DROP INDEX jobs_by_state_task;
    ${V2_TABLES}
    INSERT INTO updates SELECT * FROM u_old; DROP TABLE u_old;
    UPDATE meta SET value = '2' WHERE key = 'schema_version';`);
  // The history rows interleaved across jobs as that stub wrote them (by time), ids with gaps as AUTOINCREMENT leaves them.
  const steps = histories.flatMap((h) => h ?? []).sort((x, y) => x.at.localeCompare(y.at));
  const insert = raw.prepare(`INSERT INTO job_history (id, panda_id, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?)`);
  steps.forEach((t, i) => insert.run(10 + 3 * i, t.pandaId, t.at, t.from, t.to, t.reason));
  raw.exec(`ALTER TABLE jobs DROP COLUMN history`);
  // A sequence ahead of the rows (a deleted newest row, as AUTOINCREMENT remembers): version 3 on does not need it.
  raw.prepare(`UPDATE sqlite_sequence SET seq = seq + 5 WHERE name = 'updates'`).run();
  expect(raw.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'updates'`).pluck().get()).toMatch(/AUTOINCREMENT/);
  raw.close();

  stores = openStores(dir);
  const db = stores.db;
  expect(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get()).toBe('4');
  expect(rowsOf(db, 'updates')).toEqual(updates);
  expect(db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'updates'`).pluck().get()).not.toMatch(/AUTOINCREMENT/);
  expect(db.prepare(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'job_history'`).pluck().get()).toBe(0);
  const indexes = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('jobs', 'updates')`).pluck().all();
  expect(indexes).toEqual(expect.arrayContaining(['updates_by_job', 'jobs_by_state_task', 'jobs_by_task', 'jobs_activated_order']));
  expect(indexes).not.toContain('jobs_by_state_site');
  expect(indexes).not.toContain('jobs_by_task_state');
  expect(db.prepare(`SELECT COUNT(*) FROM sqlite_sequence WHERE name IN ('job_history', 'updates')`).pluck().get()).toBe(0);
  expect(ids.map((id) => stores?.jobs.history(id))).toEqual(histories);

  engine = new StubEngine(stores);
  // A resend of an update the old stub accepted is still recognised from the migrated rows.
  expect(update(engine, b, 'starting', 1).order.kind).toBe('duplicate');
  expect(update(engine, b, 'running', 2).decision?.kind).toBe('apply');
  expect(update(engine, b, 'finished', 3).decision?.kind).toBe('apply');
  expect(update(engine, c, 'finished', 2).decision?.kind).toBe('apply');
  await stores.durable();
  const after = rowsOf(db, 'updates');
  expect(after.slice(0, updates.length)).toEqual(updates);
  const lastOld = updates.at(-1)?.id as number;
  expect(after.slice(updates.length).every((u) => (u.id as number) > lastOld)).toBe(true);
  expect(after).toHaveLength(updates.length + 4);
  const details = engine.jobDetails(b);
  expect(details?.history.slice(0, 3)).toEqual(histories[1]);
  expect(details?.history.map((h) => h.to)).toEqual(['activated', 'sent', 'starting', 'running', 'holding', 'finished']);
  expect(details?.job.state).toBe('finished');
  expect(engine.tasks()[0]?.status).toBe('done');
  expect(engine.summary().jobs).toEqual({ finished: 3 });
});
