/**
 * Group commit: the write transactions of every request handled in one turn
 * of the event loop share one SQLite transaction, and no reply leaves before
 * the write-ahead log holding it is on disk. Each request's work is still
 * atomic on its own — it runs as a savepoint inside the shared transaction,
 * and a failure rolls back only that savepoint — and still durable before its
 * reply: the HTTP edge awaits `durable()`.
 *
 * Durability without blocking: the database runs WAL with synchronous=NORMAL,
 * so COMMIT only write()s the log; the fdatasync of the log that
 * synchronous=FULL would do inside COMMIT (blocking the event loop ~1–3 ms on
 * this disk, once per batch) runs here on libuv's thread pool instead, while
 * the next batch is already being handled. One fdatasync covers every batch
 * committed before it started. A reply waits for the fdatasync that covers
 * everything committed up to its own request — also when it only read, so no
 * answer is ever based on a write that could still be lost. Same guarantee as
 * FULL (the committed log is on disk before the reply), and NORMAL keeps its
 * own syncs around checkpoints. Where the log file cannot be opened the
 * database goes back to synchronous=FULL.
 *
 * Why group commit at all: one fsync per update caps a disk at a few hundred
 * updates per second; one per batch lets thousands of pilots report at once.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import type { Db } from './database.js';

interface Waiter {
  /** The commit generation that must be on disk. */
  target: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What the group commit did since the stub started: how much each batch and each sync carried, and how long syncs took. */
export interface CommitStats {
  /** Batches committed (one SQLite transaction each) and the requests' units of work in them. */
  batches: number;
  writes: number;
  largestBatch: number;
  /** fdatasyncs of the log (each covers every batch committed before it started). */
  syncs: number;
  syncMsMean: number;
  syncMsMax: number;
  /** Syncs that took more than a second: the disk, not the stub (other writers, a journal commit). */
  slowSyncs: number;
  /** 'async-fdatasync' or 'synchronous-full' (no WAL file to sync). */
  mode: string;
}

export interface GroupCommit {
  /** Runs `fn` atomically inside the current batch (opening one if none is open). */
  atomically<T>(fn: () => T): T;
  /** Resolves once everything written so far is committed and on disk; rejects if that commit or sync failed. */
  durable(): Promise<void>;
  /** Commits the open batch and syncs the log now (before close). */
  flush(): void;
  /** Flushes, then lets go of the log file. */
  close(): void;
  stats(): CommitStats;
}

/** Opens the WAL file for fdatasync, or null (then the database syncs in COMMIT itself). */
function openWal(db: Db): number | null {
  if (db.memory) return null;
  try {
    if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') return null;
    return openSync(`${db.name}-wal`, 'r');
  } catch {
    return null;
  }
}

/** Log pages between checkpoints (SQLite's default: 1,000). */
const WAL_CHECKPOINT_PAGES = 16_384;

/** Log syncs running at once (libuv's thread pool has 4 threads; leave one for the rest of the stub's file work). */
const MAX_SYNCS_IN_FLIGHT = 3;

export function groupCommit(db: Db, onRollback: () => void = () => undefined): GroupCommit {
  const walFd = openWal(db);
  db.pragma(walFd === null ? 'synchronous = FULL' : 'synchronous = NORMAL');
  // Checkpoints run inside COMMIT, on the event loop, and sync the log and the database (two fsyncs, tens of ms on a
  // shared disk). At SQLite's default (every 1,000 pages) a batch of a few hundred updates triggered one every third
  // commit: 11% of the stub's time under the load bench. Every 16,384 pages (64 MB) they are rare, and each copies
  // a hot page (a job row updated four times) once instead of four times. The log file is cut back to 64 MB after.
  db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  // Cached savepoint statements: better-sqlite3's db.transaction() builds four wrapper functions per call.
  const savepoint = db.prepare('SAVEPOINT request');
  const release = db.prepare('RELEASE request');
  const rollbackTo = db.prepare('ROLLBACK TO request');

  let open = false;
  /** Batches committed so far, and how many of them are known to be on disk. */
  let committed = 0;
  let synced = 0;
  /** Syncs running, and the newest batch one of them covers. */
  let syncing = 0;
  let syncStartedFor = 0;
  /** Ordered by target (targets only grow), so the front is always the next to settle. */
  let waiters: Waiter[] = [];
  const stats = { batches: 0, writes: 0, inBatch: 0, largestBatch: 0, syncs: 0, syncMsTotal: 0, syncMsMax: 0, slowSyncs: 0 };
  const timed = (started: number): void => {
    const ms = performance.now() - started;
    stats.syncs += 1;
    stats.syncMsTotal += ms;
    stats.syncMsMax = Math.max(stats.syncMsMax, ms);
    if (ms > 1000) stats.slowSyncs += 1;
  };

  const settle = (upTo: number, err: unknown): void => {
    let i = 0;
    while (i < waiters.length && (waiters[i] as Waiter).target <= upTo) i += 1;
    const done = waiters.slice(0, i);
    waiters = waiters.slice(i);
    for (const w of done) (err === undefined ? w.resolve : w.reject)(err);
  };

  /**
   * Starts an fdatasync of the log for the batches committed since the last one started. Up to
   * MAX_SYNCS_IN_FLIGHT overlap: a batch committed while a slow sync runs (tens of ms on a busy
   * shared disk) gets its own at once instead of waiting for that one to end first, so a reply
   * waits about one sync, not two. A sync that ends covers every batch committed before it began.
   */
  const kick = (): void => {
    if (walFd === null || syncing >= MAX_SYNCS_IN_FLIGHT || syncStartedFor >= committed) return;
    syncing += 1;
    const target = committed;
    syncStartedFor = target;
    const started = performance.now();
    fdatasync(walFd, (err) => {
      syncing -= 1;
      timed(started);
      if (err) {
        // Not known to be on disk: those replies must not claim it. Later requests try again.
        syncStartedFor = synced;
        settle(target, err);
      } else {
        synced = Math.max(synced, target);
        settle(synced, undefined);
      }
      kick();
    });
  };

  const syncNow = (): void => {
    if (walFd === null || synced >= committed) return;
    const started = performance.now();
    fdatasyncSync(walFd);
    timed(started);
    synced = committed;
    syncStartedFor = Math.max(syncStartedFor, committed);
    settle(committed, undefined);
  };

  const flush = (): void => {
    if (!open) return;
    open = false;
    try {
      commit.run();
    } catch (err) {
      // The batch is lost as a whole; none of its replies may claim otherwise (they wait for generation committed + 1).
      if (db.inTransaction) db.exec('ROLLBACK');
      onRollback();
      const lost = waiters.filter((w) => w.target > committed);
      waiters = waiters.filter((w) => w.target <= committed);
      for (const w of lost) w.reject(err);
      return;
    }
    committed += 1;
    stats.batches += 1;
    stats.largestBatch = Math.max(stats.largestBatch, stats.inBatch);
    stats.inBatch = 0;
    if (walFd === null) {
      // synchronous=FULL: COMMIT synced already.
      synced = committed;
      settle(committed, undefined);
    } else {
      kick();
    }
  };

  return {
    atomically<T>(fn: () => T): T {
      if (!db.inTransaction) {
        // IMMEDIATE: take the write lock now, so a second stub process on the same file waits instead of deadlocking.
        begin.run();
        open = true;
        setImmediate(flush);
      }
      stats.writes += 1;
      stats.inBatch += 1;
      savepoint.run();
      try {
        const result = fn();
        release.run();
        return result;
      } catch (err) {
        if (db.inTransaction) {
          rollbackTo.run();
          release.run();
        }
        onRollback();
        throw err;
      }
    },
    durable(): Promise<void> {
      const target = open ? committed + 1 : committed;
      if (synced >= target) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.push({ target, resolve, reject });
        kick();
      });
    },
    flush(): void {
      flush();
      syncNow();
    },
    close(): void {
      flush();
      syncNow();
      if (walFd !== null) closeSync(walFd);
    },
    stats: (): CommitStats => ({
      batches: stats.batches,
      writes: stats.writes,
      largestBatch: stats.largestBatch,
      syncs: stats.syncs,
      syncMsMean: stats.syncs ? Math.round((10 * stats.syncMsTotal) / stats.syncs) / 10 : 0,
      syncMsMax: Math.round(10 * stats.syncMsMax) / 10,
      slowSyncs: stats.slowSyncs,
      mode: walFd === null ? 'synchronous-full' : 'async-fdatasync',
    }),
  };
}
