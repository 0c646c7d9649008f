/**
 * The v1 dialect (servers ≥ 1.0): JSON bodies at {base}/api/v1/<module>/<method>
 * and a {success, message, data} envelope. Names are the snake_case forms.
 */
import {
  BULK_SEQ_HEADER,
  V1_PARAMS,
  v1GetJobName,
  v1UpdateJobName,
  type BulkUpdateItem,
  type JobRequest,
  type JobUpdate,
  type PandaServer,
  type RangeReport,
  type RangeReportReply,
  type RangeRequest,
  type SendOptions,
  type UpdateReply,
  type V1Endpoint,
  type WorkerStatusReport,
} from '../protocol/index.js';
import { decodeRangeList, decodeRangeReportReply } from './event-range-calls.js';
import type { HttpTransport } from './http-transport.js';
import { bulkSeqHeader } from './legacy-dialect.js';
import { legacyGetJobParams, parseCommand } from './panda-server.js';
import { HttpStatusError, ProtocolError } from '../errors/index.js';

export interface V1Envelope {
  success: boolean;
  message: string;
  data: unknown;
}

export class V1Dialect implements PandaServer {
  readonly dialect = 'v1' as const;
  constructor(private readonly http: HttpTransport) {}

  async call(endpoint: V1Endpoint, params: Record<string, unknown>, opts: SendOptions = {}, method: 'GET' | 'POST' = 'POST'): Promise<V1Envelope> {
    const allowed = new Set<string>(V1_PARAMS[endpoint]);
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined) continue;
      if (!allowed.has(key)) throw new ProtocolError(`parameter ${key} is not accepted by ${endpoint}`);
      body[key] = value;
    }
    let path = `/api/v1/${endpoint}`;
    let payload: string | undefined;
    if (method === 'GET') {
      const qs = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
      if (qs) path += `?${qs}`;
    } else {
      payload = JSON.stringify(body);
    }
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    // The v1 server insists on exactly this content type (no charset).
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const reply = await this.http.send(method, path, payload, headers, opts.signal);
    if (reply.status !== 200) throw new HttpStatusError(reply.status, reply.body, path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(reply.body);
    } catch (err) {
      throw new ProtocolError(`${endpoint}: reply is not JSON: ${reply.body.slice(0, 200)}`, { cause: err });
    }
    if (!parsed || typeof parsed !== 'object' || typeof (parsed as V1Envelope).success !== 'boolean') {
      throw new ProtocolError(`${endpoint}: reply lacks the {success, message, data} envelope`);
    }
    return parsed as V1Envelope;
  }

  async getJob(req: JobRequest, opts?: SendOptions): Promise<Record<string, unknown> | null> {
    const params: Record<string, unknown> = { n_jobs: 1 };
    for (const [k, v] of Object.entries(legacyGetJobParams(req))) if (v !== undefined) params[v1GetJobName(k)] = v;
    const env = await this.call('pilot/acquire_jobs', params, opts);
    if (!env.success) {
      if (/no jobs/i.test(env.message)) return null;
      throw new ProtocolError(`acquire_jobs refused: ${env.message}`);
    }
    const data = env.data as { StatusCode?: unknown; jobs?: unknown } | null;
    if (!data || !Array.isArray(data.jobs)) throw new ProtocolError('acquire_jobs: data.jobs missing');
    return (data.jobs[0] as Record<string, unknown> | undefined) ?? null;
  }

  async updateJob(update: JobUpdate, opts?: SendOptions): Promise<UpdateReply> {
    return v1UpdateReply(await this.call('pilot/update_job', v1UpdateParams(update), opts));
  }

  /** `pilot/update_jobs_bulk`: job_list of update_job dicts; data is the list of their envelopes. */
  async updateJobsBulk(items: readonly BulkUpdateItem[], opts: SendOptions = {}): Promise<(UpdateReply | Error)[]> {
    const headers = { ...opts.headers, [BULK_SEQ_HEADER]: bulkSeqHeader(items) };
    const env = await this.call('pilot/update_jobs_bulk', { job_list: items.map((i) => v1UpdateParams(i.update)) }, { ...opts, headers });
    if (!env.success) throw new ProtocolError(`update_jobs_bulk refused: ${env.message}`);
    if (!Array.isArray(env.data) || env.data.length !== items.length) {
      throw new ProtocolError(`update_jobs_bulk: ${Array.isArray(env.data) ? env.data.length : 'no'} replies for ${items.length} updates`);
    }
    return env.data.map((one: unknown) => {
      if (!one || typeof one !== 'object' || typeof (one as V1Envelope).success !== 'boolean')
        return new ProtocolError('update_jobs_bulk: entry lacks the envelope');
      try {
        return v1UpdateReply(one as V1Envelope);
      } catch (err) {
        return err as Error;
      }
    });
  }

  async getEventRanges(req: RangeRequest, opts?: SendOptions): Promise<unknown[]> {
    const env = await this.call(
      'event/acquire_event_ranges',
      { job_id: req.pandaId, jobset_id: req.jobsetId, task_id: req.taskId, n_ranges: req.nRanges },
      opts,
    );
    if (!env.success) throw new ProtocolError(`acquire_event_ranges refused: ${env.message}`);
    try {
      return decodeRangeList(env.data);
    } catch (err) {
      throw new ProtocolError(`acquire_event_ranges: ${(err as Error).message}`, { cause: err });
    }
  }

  async updateEventRanges(_pandaId: number, reports: readonly RangeReport[], opts?: SendOptions): Promise<RangeReportReply> {
    const env = await this.call('event/update_event_ranges', { event_ranges: JSON.stringify(reports), version: 0 }, opts);
    if (!env.success) throw new ProtocolError(`update_event_ranges refused: ${env.message}`);
    const data = (env.data ?? {}) as { Returns?: unknown; Commands?: unknown; Command?: unknown };
    try {
      // v1 names it Commands; accept the legacy spelling too.
      return decodeRangeReportReply(data.Returns, data.Commands ?? data.Command, reports.length);
    } catch (err) {
      throw new ProtocolError(`update_event_ranges: ${(err as Error).message}`, { cause: err });
    }
  }

  /** `pilot/update_worker_status`: tells the server, on Harvester's behalf, that a worker's pilot started or finished. */
  async updateWorkerStatus(report: WorkerStatusReport, opts?: SendOptions): Promise<void> {
    // v1 types worker_id as an integer (Harvester's ids are); there is no site parameter.
    const workerId = /^\d+$/.test(report.workerId) ? Number(report.workerId) : report.workerId;
    const env = await this.call(
      'pilot/update_worker_status',
      { worker_id: workerId, harvester_id: report.harvesterId, status: report.status, node_id: report.nodeId },
      opts,
    );
    if (!env.success) throw new ProtocolError(`update_worker_status refused: ${env.message}`);
  }
}

/** update_job parameters of one update, in v1 names. */
export function v1UpdateParams(update: JobUpdate): Record<string, unknown> {
  const params: Record<string, unknown> = { job_id: update.jobId, job_status: update.state, attempt_nr: update.attemptNr };
  for (const [k, v] of Object.entries(update.fields)) {
    if (k === 'timestamp') continue; // v1 has no timestamp parameter
    params[v1UpdateJobName(k)] = v;
  }
  return params;
}

function v1UpdateReply(env: V1Envelope): UpdateReply {
  if (!env.success) throw new ProtocolError(`update_job refused: ${env.message}`);
  // Servers put the reply dict in data; tolerate a bare command string too.
  const data: Record<string, unknown> = env.data && typeof env.data === 'object' ? (env.data as Record<string, unknown>) : { command: env.data };
  const { command, commandText } = parseCommand(data.command);
  return { statusCode: Number(data.StatusCode ?? 0), command, commandText, raw: data };
}
