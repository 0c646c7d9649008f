/**
 * The PanDA server as the pilot's logic sees it: four narrow, required
 * interfaces, one per kind of call. Both HTTP dialects (server/) implement
 * all four; a push-mode transport (Harvester's files) or a test double
 * implements the ones it is handed to. A consumer takes only the interface
 * it calls, so nothing ever asks "does this server have …?".
 */
import type { PilotRangeState } from './event-ranges.js';
import type { PilotJobState, ServerCommand } from './job-states.js';

/** Per-call options every transport understands. */
export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Extra headers for this request (the update sequence header). */
  headers?: Record<string, string> | undefined;
}

/** What the pilot asks for in getJob (legacy names; dialects translate). */
export interface JobRequest {
  siteName: string;
  prodSourceLabel?: string | undefined;
  /** MB available to the job. */
  mem?: number | undefined;
  /** MB of local disk. */
  diskSpace?: number | undefined;
  node?: string | undefined;
  computingElement?: string | undefined;
  resourceType?: string | undefined;
  jobType?: string | undefined;
  /** Seconds the pilot can still run. */
  remainingTime?: number | undefined;
  harvesterId?: string | undefined;
  workerId?: string | undefined;
  schedulerID?: string | undefined;
}

/** One job update in legacy names; values are numbers or strings as they should go on the wire. */
export interface JobUpdate {
  jobId: number;
  state: PilotJobState;
  attemptNr: number;
  /** Further updateJob parameters by legacy name (pilotErrorCode, maxRSS, …). */
  fields: Record<string, string | number>;
}

export interface UpdateReply {
  statusCode: number;
  command: ServerCommand | string;
  /** Free text the operator attached to a debug command, if any. */
  commandText?: string | undefined;
  raw: Record<string, unknown>;
}

/** One entry of a bulk update: the update and its sequence header value. */
export interface BulkUpdateItem {
  update: JobUpdate;
  seqHeader: string;
}

/** What the pilot asks for in getEventRanges (legacy names; dialects translate). */
export interface RangeRequest {
  pandaId: number;
  jobsetId: number;
  taskId?: number | undefined;
  nRanges: number;
}

/** One range's report, as updateEventRanges version 0 takes it. */
export interface RangeReport {
  eventRangeID: string;
  eventStatus: PilotRangeState;
  errorCode?: number | undefined;
  errorDiag?: string | undefined;
  coreCount?: number | undefined;
  cpuConsumptionTime?: number | undefined;
}

/** The server's answer: per range true (taken), false (refused) or null (not final, ignored); a command per PandaID. */
export interface RangeReportReply {
  returns: (boolean | null)[];
  commands: Record<string, string>;
  /**
   * What was odd about `Returns`, when something was: more entries than
   * reports (legacy on PostgreSQL appends one), fewer, or entries that are
   * not true/false/null. Each odd entry has been counted as a refusal.
   */
  oddity?: { note: string; returns: unknown } | undefined;
}

export type WorkerStatus = 'started' | 'finished';

export interface WorkerStatusReport {
  site: string;
  harvesterId: string;
  workerId: string;
  status: WorkerStatus;
  nodeId: string;
}

/** Jobs: take one, report on it. */
export interface JobsApi {
  /** A raw job description (field → value) or null when the server has none. */
  getJob(req: JobRequest, opts?: SendOptions): Promise<Record<string, unknown> | null>;
  updateJob(update: JobUpdate, opts?: SendOptions): Promise<UpdateReply>;
}

/** Several jobs' updates in one request (`--bulk-heartbeats`). */
export interface BulkUpdatesApi {
  /**
   * Resolves with one entry per item, in order: the reply to that job's
   * update, or the error the server gave for it alone. Rejects when the
   * request as a whole failed.
   */
  updateJobsBulk(items: readonly BulkUpdateItem[], opts?: SendOptions): Promise<(UpdateReply | Error)[]>;
}

/** The event-service calls. */
export interface EventRangesApi {
  /** Raw range objects as the server sent them (validated by the caller); empty = exhausted. */
  getEventRanges(req: RangeRequest, opts?: SendOptions): Promise<unknown[]>;
  updateEventRanges(pandaId: number, reports: readonly RangeReport[], opts?: SendOptions): Promise<RangeReportReply>;
}

/** The worker status report Harvester's wrapper sends around the pilot; throws when the server refuses it. */
export interface WorkerStatusApi {
  updateWorkerStatus(report: WorkerStatusReport, opts?: SendOptions): Promise<void>;
}

/** The HTTP dialects, or Harvester's access-point files (push mode; recovery sends such a kept final in the legacy dialect). */
export type ServerDialect = 'legacy' | 'v1' | 'harvester';

/** A whole server connection: every call, and the dialect it speaks (kept with a final update for recovery). */
export interface PandaServer extends JobsApi, BulkUpdatesApi, EventRangesApi, WorkerStatusApi {
  readonly dialect: ServerDialect;
}
