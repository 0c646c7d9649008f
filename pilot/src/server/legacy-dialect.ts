/**
 * The legacy dialect: POST {base}/server/panda/<method>, form-urlencoded, every
 * value a string; we ask for JSON replies (Accept) as pilot3's fallback does.
 */
import {
  BULK_SEQ_HEADER,
  encodeForm,
  LEGACY_PARAMS,
  StatusCode,
  type BulkUpdateItem,
  type JobRequest,
  type JobUpdate,
  type LegacyMethod,
  type PandaServer,
  type RangeReport,
  type RangeReportReply,
  type RangeRequest,
  type SendOptions,
  type UpdateReply,
  type WireValue,
  type WorkerStatusReport,
} from '../protocol/index.js';
import { decodeRangeList, decodeRangeReportReply } from './event-range-calls.js';
import type { HttpTransport } from './http-transport.js';
import { legacyGetJobParams, parseCommand } from './panda-server.js';
import { HttpStatusError, ProtocolError } from '../errors/index.js';

export class LegacyDialect implements PandaServer {
  readonly dialect = 'legacy' as const;
  constructor(private readonly http: HttpTransport) {}

  async call(method: LegacyMethod, params: Record<string, WireValue>, opts: SendOptions = {}): Promise<Record<string, unknown>> {
    const parsed = await this.callRaw(method, params, opts);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ProtocolError(`${method}: reply is not a JSON object`);
    return parsed as Record<string, unknown>;
  }

  /** The call, with the reply JSON-decoded but not checked for shape (updateJobsInBulk answers a list). */
  async callRaw(method: LegacyMethod, params: Record<string, WireValue>, opts: SendOptions = {}): Promise<unknown> {
    const allowed = new Set<string>(LEGACY_PARAMS[method]);
    for (const key of Object.keys(params)) {
      // Sending a name the server does not know is an HTTP 500 in production: catch it here instead.
      if (params[key] !== undefined && !allowed.has(key)) throw new ProtocolError(`parameter ${key} is not accepted by ${method}`);
    }
    const path = `/server/panda/${method}`;
    const reply = await this.http.send(
      'POST',
      path,
      encodeForm(params),
      { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...opts.headers },
      opts.signal,
    );
    if (reply.status !== 200) throw new HttpStatusError(reply.status, reply.body, path);
    try {
      return JSON.parse(reply.body) as unknown;
    } catch (err) {
      throw new ProtocolError(`${method}: reply is not JSON: ${reply.body.slice(0, 200)}`, { cause: err });
    }
  }

  async getJob(req: JobRequest, opts?: SendOptions): Promise<Record<string, unknown> | null> {
    const reply = await this.call('getJob', legacyGetJobParams(req), opts);
    const status = Number(reply.StatusCode);
    if (status === StatusCode.NO_JOBS) return null;
    if (status !== StatusCode.OK) {
      throw new ProtocolError(`getJob: StatusCode ${String(reply.StatusCode)}${reply.errorDialog ? ` (${String(reply.errorDialog)})` : ''}`);
    }
    if (Array.isArray(reply.jobs)) return (reply.jobs[0] as Record<string, unknown> | undefined) ?? null;
    return reply;
  }

  async updateJob(update: JobUpdate, opts?: SendOptions): Promise<UpdateReply> {
    return legacyUpdateReply(await this.call('updateJob', legacyUpdateParams(update), opts));
  }

  /** `updateJobsInBulk`: jobList is JSON text; the server answers `[true, [reply, …]]` or `[false, "why"]`. */
  async updateJobsBulk(items: readonly BulkUpdateItem[], opts: SendOptions = {}): Promise<(UpdateReply | Error)[]> {
    const jobList = JSON.stringify(items.map((i) => legacyUpdateParams(i.update)));
    const headers = { ...opts.headers, [BULK_SEQ_HEADER]: bulkSeqHeader(items) };
    const reply = await this.callRaw('updateJobsInBulk', { jobList }, { ...opts, headers });
    if (!Array.isArray(reply) || reply.length !== 2) throw new ProtocolError('updateJobsInBulk: reply is not [ok, replies]');
    const [ok, replies] = reply as [unknown, unknown];
    if (ok !== true) throw new ProtocolError(`updateJobsInBulk refused: ${String(replies).slice(0, 200)}`);
    if (!Array.isArray(replies) || replies.length !== items.length) {
      throw new ProtocolError(`updateJobsInBulk: ${Array.isArray(replies) ? replies.length : 'no'} replies for ${items.length} updates`);
    }
    // Each entry is a reply dict, or its urlencoded text when the server did not send JSON.
    return replies.map((r: unknown) => {
      if (typeof r === 'string') return legacyUpdateReply(Object.fromEntries(new URLSearchParams(r)));
      if (r && typeof r === 'object' && !Array.isArray(r)) return legacyUpdateReply(r as Record<string, unknown>);
      return new ProtocolError(`updateJobsInBulk: unreadable reply entry ${JSON.stringify(r).slice(0, 100)}`);
    });
  }

  async getEventRanges(req: RangeRequest, opts?: SendOptions): Promise<unknown[]> {
    const reply = await this.call('getEventRanges', { pandaID: req.pandaId, jobsetID: req.jobsetId, taskID: req.taskId, nRanges: req.nRanges }, opts);
    if (Number(reply.StatusCode) !== StatusCode.OK) throw new ProtocolError(`getEventRanges: StatusCode ${String(reply.StatusCode)}`);
    try {
      return decodeRangeList(reply.eventRanges);
    } catch (err) {
      throw new ProtocolError(`getEventRanges: ${(err as Error).message}`, { cause: err });
    }
  }

  async updateEventRanges(pandaId: number, reports: readonly RangeReport[], opts?: SendOptions): Promise<RangeReportReply> {
    const reply = await this.call('updateEventRanges', { eventRanges: JSON.stringify(reports), version: 0, pandaID: pandaId }, opts);
    if (Number(reply.StatusCode) !== StatusCode.OK) throw new ProtocolError(`updateEventRanges: StatusCode ${String(reply.StatusCode)}`);
    try {
      return decodeRangeReportReply(reply.Returns, reply.Command, reports.length);
    } catch (err) {
      throw new ProtocolError(`updateEventRanges: ${(err as Error).message}`, { cause: err });
    }
  }

  /** `updateWorkerPilotStatus`: tells the server, on Harvester's behalf, that a worker's pilot started or finished. */
  async updateWorkerStatus(report: WorkerStatusReport, opts?: SendOptions): Promise<void> {
    const reply = await this.call(
      'updateWorkerPilotStatus',
      { site: report.site, workerID: report.workerId, harvesterID: report.harvesterId, status: report.status, node_id: report.nodeId },
      opts,
    );
    if (Number(reply.StatusCode) !== StatusCode.OK) {
      throw new ProtocolError(`updateWorkerPilotStatus: StatusCode ${String(reply.StatusCode)}${reply.errorDialog ? ` (${String(reply.errorDialog)})` : ''}`);
    }
  }
}

/** updateJob parameters of one update, in legacy names. */
export function legacyUpdateParams(update: JobUpdate): Record<string, WireValue> {
  return { jobId: update.jobId, state: update.state, attemptNr: update.attemptNr, ...update.fields };
}

function legacyUpdateReply(reply: Record<string, unknown>): UpdateReply {
  const { command, commandText } = parseCommand(reply.command);
  return { statusCode: Number(reply.StatusCode ?? 0), command, commandText, raw: reply };
}

/** The bulk sequence header: PandaID → that job's sequence. */
export function bulkSeqHeader(items: readonly BulkUpdateItem[]): string {
  return JSON.stringify(Object.fromEntries(items.map((i) => [String(i.update.jobId), i.seqHeader])));
}
