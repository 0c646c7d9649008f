/**
 * Group commit: the write transactions of every request handled in one turn
 * of the event loop share one SQLite transaction, committed (one fsync, with
 * synchronous=FULL) before any of their replies leave. Each request's work
 * is still atomic on its own — it runs as a savepoint inside the shared
 * transaction, and a failure rolls back only that savepoint — and still
 * durable before its reply: the HTTP edge awaits `durable()`.
 *
 * Why: one fsync per update caps a disk at a few hundred updates per second;
 * one per batch lets thousands of pilots report at once.
 */
import type { Db } from './database.js';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface GroupCommit {
  /** Runs `fn` atomically inside the current batch (opening one if none is open). */
  atomically<T>(fn: () => T): T;
  /** Resolves once everything written so far is committed; rejects if that commit failed. */
  durable(): Promise<void>;
  /** Commits the open batch now (before close). */
  flush(): void;
}

export function groupCommit(db: Db): GroupCommit {
  let open = false;
  let waiters: Waiter[] = [];

  const flush = (): void => {
    if (!open) return;
    open = false;
    const batch = waiters;
    waiters = [];
    try {
      db.exec('COMMIT');
    } catch (err) {
      // The batch is lost as a whole; none of its replies may claim otherwise.
      if (db.inTransaction) db.exec('ROLLBACK');
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  };

  return {
    atomically<T>(fn: () => T): T {
      if (!db.inTransaction) {
        // IMMEDIATE: take the write lock now, so a second stub process on the same file waits instead of deadlocking.
        db.exec('BEGIN IMMEDIATE');
        open = true;
        setImmediate(flush);
      }
      // Inside an open transaction better-sqlite3 makes this a savepoint.
      return db.transaction(fn)();
    },
    durable(): Promise<void> {
      if (!open) return Promise.resolve();
      return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    flush,
  };
}
