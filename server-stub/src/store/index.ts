/** The stub's persistent state: one SQLite database, three stores. */
import { openDatabase, type Db } from './database.js';
import { EventRangeStore } from './event-range-store.js';
import { groupCommit, type CommitStats } from './group-commit.js';
import { JobStore } from './job-store.js';
import { TaskStore } from './task-store.js';
import { UpdateStore } from './update-store.js';
import { WorkerStore } from './worker-store.js';

export type { Db } from './database.js';
export type { TaskDependency } from './task-store.js';
export type { CommitStats } from './group-commit.js';
export type { NewJob, JobChanges } from './job-store.js';
export type { EsTaskSettings, RangeChanges } from './event-range-store.js';
export type { WorkerStatusRecord } from './worker-store.js';
export type { OrderHistoryRow } from './update-store.js';
export { JobStore, TaskStore, UpdateStore, EventRangeStore, WorkerStore };

/** The stores over one database, and a way to run work atomically across them. */
export interface Stores {
  readonly db: Db;
  readonly jobs: JobStore;
  readonly tasks: TaskStore;
  readonly updates: UpdateStore;
  readonly ranges: EventRangeStore;
  readonly workers: WorkerStore;
  /** Runs `fn` atomically (a savepoint in the current group-commit batch), so concurrent writers never interleave. */
  atomically<T>(fn: () => T): T;
  /** Resolves once every write made so far is committed to disk: a reply about a write waits for this. */
  durable(): Promise<void>;
  /** What the group commit did so far (batches, syncs and their times). */
  commitStats(): CommitStats;
  close(): void;
}

/** Opens the stores under `dataDir`. */
export function openStores(dataDir: string): Stores {
  const db = openDatabase(dataDir);
  const tasks = new TaskStore(db);
  const ranges = new EventRangeStore(db);
  // Their caches hold facts fixed at submit; a rolled-back submit must not leave its task in them.
  const commits = groupCommit(db, () => {
    tasks.forgetCached();
    ranges.forgetCached();
  });
  return {
    db,
    jobs: new JobStore(db),
    tasks,
    updates: new UpdateStore(db),
    ranges,
    workers: new WorkerStore(db),
    atomically: <T>(fn: () => T): T => commits.atomically(fn),
    durable: () => commits.durable(),
    commitStats: () => commits.stats(),
    close: () => {
      commits.close();
      db.close();
    },
  };
}
