/**
 * The group commit under the stub's replies: requests of one event-loop turn
 * share a transaction, a failing request rolls back only its own work, and
 * `durable()` resolves only once the batch is committed and the log synced —
 * seen from a second connection, as a restarted stub would see it.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openStores, type Stores } from '../../server-stub/src/store/index.js';

let dir = '';
let stores: Stores | undefined;
afterEach(() => {
  stores?.close();
  stores = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const report = (workerId: string) => ({
  receivedAt: new Date().toISOString(),
  dialect: 'v1' as const,
  harvesterId: 'h',
  workerId,
  status: 'running',
  nodeId: null,
  site: null,
});

function workersSeenFromOutside(): string[] {
  const other = new Database(path.join(dir, 'panda-stub.sqlite'), { readonly: true });
  try {
    return (other.prepare('SELECT worker_id FROM worker_status ORDER BY id').all() as { worker_id: string }[]).map((r) => r.worker_id);
  } finally {
    other.close();
  }
}

it('a batch is invisible outside until committed; a failed request rolls back only its own writes; durable() waits for the commit', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stub-group-commit-'));
  const s = (stores = openStores(dir));
  // The fsync moved off the event loop: the database itself only writes the log at COMMIT.
  expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
  expect(s.db.pragma('synchronous', { simple: true })).toBe(1);

  s.atomically(() => s.workers.insert(report('a')));
  expect(() =>
    s.atomically(() => {
      s.workers.insert(report('b'));
      throw new Error('this request fails half-way');
    }),
  ).toThrow('half-way');
  s.atomically(() => s.workers.insert(report('c')));
  // Still one open transaction: nothing is visible to another connection yet.
  expect(workersSeenFromOutside()).toEqual([]);
  let settled = false;
  const durable = s.durable().then(() => (settled = true));
  expect(settled).toBe(false);
  await durable;
  expect(workersSeenFromOutside()).toEqual(['a', 'c']);
  // One batch for the three requests, one sync of the log for it.
  expect(s.commitStats()).toMatchObject({ batches: 1, writes: 3, largestBatch: 3, syncs: 1, mode: 'async-fdatasync' });
  // Nothing new written: a reply that only read does not wait for a sync any more.
  await s.durable();
});

it('a reply that only read waits for the sync of what was committed before it', async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stub-group-commit-'));
  const s = (stores = openStores(dir));
  s.atomically(() => s.workers.insert(report('x')));
  const first = s.durable();
  // Let the batch commit (setImmediate) but not necessarily sync; a read-only request then asks.
  await new Promise((r) => setImmediate(r));
  const second = s.durable();
  await Promise.all([first, second]);
  expect(workersSeenFromOutside()).toEqual(['x']);
});
