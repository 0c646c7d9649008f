/**
 * The stub's own records: what it keeps about tasks, jobs and the updates
 * pilots send. Plain data, shared by the store (rows ↔ records), the engine
 * and the management API, so there is one vocabulary for "a job".
 */
import type { OrderSummary } from './update-seq.js';
import type { ServerJobState } from '../../../pilot/src/protocol/index.js';

/** Where a task stands as a whole; derived from its jobs and dependencies. */
export type TaskStatus = 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';

/** A task's settings, the same whether just read from a task file or stored. */
export interface TaskSettings {
  name: string;
  site: string;
  label: string;
  cores: number;
  memoryMB: number;
  walltimeSec: number;
  maxAttempts: number;
  /** OOM retries: memory multiplier (null = the memory ladder) and cap (MB, null = none). */
  memoryBoost: number | null;
  maxMemoryMB: number | null;
  priority: number;
  /** A user sandbox in the stub's cache (`/cache/<name>`): the jobs become prun jobs that unpack it first. */
  sandbox: string | null;
  /** The jobs' transformation when not the stub's bash-c-enc: a URL, or a path on the stub (`/cache/x.sh`); jobPars is then the command as it is. */
  transformation: string | null;
}

/** One task as stored. `after` holds the task ids it waits for. */
export interface TaskRecord extends TaskSettings {
  taskId: number;
  /** One submission (a task file) = one request; PanDA calls it reqID. */
  requestId: number;
  workflow: string | null;
  after: number[];
  status: TaskStatus;
  createdAt: string;
}

/** Pilot-reported fields, normalised to one camelCase vocabulary for both dialects. */
export type PilotReport = Record<string, string | number>;

/**
 * What an update reads of its job: the guards' facts, the report it merges into, what finalising needs,
 * and the order rules' summary kept on the row (null: not kept yet, e.g. a data dir of an older stub).
 */
export type JobUpdateView = Pick<
  JobRecord,
  'pandaId' | 'taskId' | 'slot' | 'state' | 'attemptNr' | 'commandToPilot' | 'finalReported' | 'pilotFinalState' | 'report'
> & { order: OrderSummary | null };

/** One job attempt as stored. A retry is a new record (new PandaID) with the same `slot`. */
export interface JobRecord {
  pandaId: number;
  taskId: number;
  /** Position of the job in its task; all attempts of one job share it. */
  slot: number;
  /** The name given in the task file (or `job_<index>`). */
  name: string;
  /** PanDA's jobName: unique per attempt. */
  jobName: string;
  jobsetId: number;
  attemptNr: number;
  state: ServerJobState;
  command: string;
  cores: number;
  minRamCount: number;
  maxDiskCount: number;
  maxWalltime: number | null;
  resourceType: string;
  label: string;
  site: string;
  priority: number;
  logGuid: string;
  /** Set by the management API's kill; returned to the pilot with every update reply. */
  commandToPilot: string | null;
  /** Server-side failure reason (PanDA's taskBufferErrorCode/Diag), e.g. 100 "killed by …". */
  serverErrorCode: number | null;
  serverErrorDiag: string | null;
  /** True once the pilot's final update (finished/failed) has been accepted. */
  finalReported: boolean;
  /** The pilot's own final state, kept because a killed job ends failed whatever the pilot said. */
  pilotFinalState: string | null;
  report: PilotReport;
  retryOf: number | null;
  createdAt: string;
  stateChangedAt: string;
  dispatchedAt: string | null;
  heartbeatAt: string | null;
  /** Node and request parameters of the getJob that took this job. */
  dispatchNode: string | null;
}

/** One entry of a job's state history. */
export interface JobTransition {
  pandaId: number;
  at: string;
  from: ServerJobState | null;
  to: ServerJobState;
  reason: string;
}

/** Which wire dialect a request came in on. */
export type Dialect = 'legacy' | 'v1';

/** One update request as received, with what the stub made of it. */
export interface UpdateRecord {
  id: number;
  pandaId: number;
  receivedAt: string;
  dialect: Dialect;
  method: string;
  /** The parameters exactly as decoded from the body (wire names, wire values). */
  params: Record<string, unknown>;
  /** The raw `X-PanDA-Update-Seq` header, if any. */
  seqHeader: string | null;
  /** What the state machine did (applied, skipped, alreadydone, tobekilled, invalid), or what the order rules did (duplicate, refused). */
  result: string;
  /** The command returned to the pilot. */
  command: string;
  /** Why the order rules refused the update (`model/update-seq.ts`); null when they did not. */
  orderViolation: string | null;
}
