/**
 * The narrow view of a PanDA server that the pilot's logic sees. Two dialects
 * implement it over HTTP; tests may pass an object literal.
 */
import type { PilotJobState, ServerCommand } from '../protocol/index.js';
import type { EventRangeApi } from './event-range-calls.js';

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

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** Extra headers for this request (the update sequence header). */
  headers?: Record<string, string> | undefined;
}

/** One entry of a bulk update: the update and its sequence header value. */
export interface BulkUpdateItem {
  update: JobUpdate;
  seqHeader: string;
}

export interface PandaServer {
  readonly dialect: 'legacy' | 'v1';
  /** A raw job description (field → value) or null when the server has none. */
  getJob(req: JobRequest, opts?: SendOptions): Promise<Record<string, unknown> | null>;
  updateJob(update: JobUpdate, opts?: SendOptions): Promise<UpdateReply>;
  /**
   * Several jobs' updates in one request. Resolves with one entry per item,
   * in order: the reply to that job's update, or the error the server gave
   * for it alone. Rejects when the request as a whole failed.
   */
  updateJobsBulk?(items: readonly BulkUpdateItem[], opts?: SendOptions): Promise<(UpdateReply | Error)[]>;
  /** Event-range calls; both dialects have them, a test double may leave them out. */
  getEventRanges?: EventRangeApi['getEventRanges'];
  updateEventRanges?: EventRangeApi['updateEventRanges'];
}

/** The getJob parameters by their legacy names; undefined values are left off the wire. */
export function legacyGetJobParams(req: JobRequest): Record<string, string | number | undefined> {
  return {
    siteName: req.siteName,
    prodSourceLabel: req.prodSourceLabel,
    mem: req.mem,
    diskSpace: req.diskSpace,
    node: req.node,
    computingElement: req.computingElement,
    resourceType: req.resourceType,
    jobType: req.jobType,
    remaining_time: req.remainingTime,
    harvester_id: req.harvesterId,
    worker_id: req.workerId,
    schedulerID: req.schedulerID,
  };
}

/** Splits "debug,some text" into the command and its text, the way servers join them. */
export function parseCommand(value: unknown): { command: string; commandText?: string } {
  const text = value === undefined || value === null || value === '' ? 'NULL' : String(value);
  const comma = text.indexOf(',');
  if (comma < 0) return { command: text };
  return { command: text.slice(0, comma), commandText: text.slice(comma + 1) };
}
