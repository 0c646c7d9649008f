/**
 * TaskStore keeps task rows in memory (dispatch reads its job's task on every
 * call): what it answers must always be the row in SQLite — after status
 * writes through the engine, and after a write that was rolled back.
 */
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

it('answers the stored task row through dispatch, the end of the task and a rolled-back status write', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stub-task-cache-'));
  const s = (stores = openStores(dir));
  const engine = new StubEngine(s);
  const parsed = parseTaskFile({ name: 'cached', site: 'SITE', command: 'true', count: 2 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const [submitted] = engine.submit(parsed.spec);
  const taskId = submitted?.taskId as number;
  const stored = () => s.db.prepare(`SELECT status FROM tasks WHERE task_id = ?`).pluck().get(taskId);
  const agrees = () => expect(s.tasks.get(taskId)?.status).toBe(stored());

  agrees();
  const jobs = engine.dispatch({ siteName: 'SITE', nJobs: 2 }, 'wn').map((d) => d.PandaID as number);
  expect(jobs).toHaveLength(2);
  agrees();

  // A request that changes the status and then fails: its savepoint is rolled back, and so must the cache be.
  expect(() =>
    s.atomically(() => {
      s.tasks.setStatus(taskId, 'failed');
      expect(s.tasks.get(taskId)?.status).toBe('failed');
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(stored()).toBe('running');
  agrees();

  for (const [i, pandaId] of jobs.entries()) {
    const params = { jobId: pandaId, state: 'finished', attemptNr: 1 };
    engine.update({ dialect: 'legacy', method: 'updateJob', pandaId, state: 'finished', attemptNr: 1, report: {}, params, seqHeader: null });
    expect(stored()).toBe(i === 0 ? 'running' : 'done');
    agrees();
  }
  await s.durable();
  expect(() => {
    (s.tasks.get(taskId) as { status: string }).status = 'failed';
  }).toThrow(TypeError);
  agrees();
});
