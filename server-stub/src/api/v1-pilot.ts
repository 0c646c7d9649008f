/**
 * The v1 dialect, `/api/v1/<module>/<method>` (and its `/api/latest/` alias),
 * as release 1.0.x serves it: JSON in, `{success, message, data}` out, and a
 * refused call is HTTP 200 with success:false and the server's wording.
 */
import { addressedToStub } from './transformations.js';
import { StatusCode, V1_PARAMS, V1_REQUIRED, isPilotJobState, type V1Endpoint } from '../../../pilot/src/protocol/index.js';
import { decodeV1Body, decodeV1Query } from '../http/body-codec.js';
import { textReply, v1Reply, jsonReply } from '../http/reply.js';
import { BadRequestError, header, type Route, type StubReply, type StubRequest } from '../http/types.js';
import type { StubEngine } from '../engine/index.js';
import { BULK_SEQ_HEADER, parseBulkSeqHeader } from '../model/update-seq.js';
import { decodeRangeReports, reportVersion } from './event-ranges.js';
import { dispatchRequestFromV1, reportFromLegacyNames, v1UpdateToLegacyNames } from './normalise.js';
import { coerceV1Params } from './v1-types.js';
import { V1_SET_NOT_SERIALISABLE, type ServerQuirk } from '../model/server-quirks.js';

/** HTTP method per endpoint the stub serves. */
const SERVED: Partial<Record<V1Endpoint, 'GET' | 'POST'>> = {
  'pilot/acquire_jobs': 'POST',
  'pilot/update_job': 'POST',
  'pilot/update_jobs_bulk': 'POST',
  'pilot/get_job_status': 'GET',
  'pilot/update_worker_status': 'POST',
  'system/is_alive': 'GET',
  'event/acquire_event_ranges': 'POST',
  'event/update_event_ranges': 'POST',
  'event/update_single_event_range': 'POST',
  'event/get_available_event_range_count': 'GET',
};

/** Each endpoint's parameter names as a set, built once: a set per request was ~1% of the stub's CPU under load. */
const allowedParams = new Map<V1Endpoint, ReadonlySet<string>>();

/** The server's "Argument error" for names its function signature does not bind. */
export function v1ArgumentError(endpoint: V1Endpoint, params: Record<string, unknown>): string | null {
  let allowed = allowedParams.get(endpoint);
  if (!allowed) allowedParams.set(endpoint, (allowed = new Set<string>(V1_PARAMS[endpoint])));
  for (const name in params) if (!allowed.has(name)) return `Argument error: got an unexpected keyword argument '${name}'`;
  const missing = (V1_REQUIRED[endpoint] ?? []).find((k) => params[k] === undefined);
  if (missing !== undefined) return `Argument error: missing a required argument: '${missing}'`;
  return null;
}

function acquireJobs(engine: StubEngine, req: StubRequest, p: Record<string, unknown>): StubReply {
  const jobs = engine.dispatch(dispatchRequestFromV1(p), typeof p.node === 'string' ? p.node : null).map((job) => addressedToStub(job, req));
  if (jobs.length === 0) return v1Reply(false, 'No jobs in PanDA');
  // n_jobs defaults to 1 on v1, so the reply is always the bulk form.
  return v1Reply(true, '', { StatusCode: StatusCode.OK, jobs: jobs.map((job) => ({ StatusCode: StatusCode.OK, ...job, nSent: 0 })) });
}

/** The `{success, message, data}` envelope of one update_job, shared with update_jobs_bulk. */
interface Envelope {
  success: boolean;
  message: string;
  data: unknown;
  /** The stub's order verdict, never in the JSON: it goes to the X-PanDA-Stub-Violation header. */
  violation?: string;
}

function updateOne(engine: StubEngine, raw: Record<string, unknown>, p: Record<string, unknown>, seqHeader: string | null, method: string): Envelope {
  const state = String(p.job_status);
  if (!isPilotJobState(state)) {
    // Refused before the database on v1; still recorded so a developer sees what was sent.
    engine.update({ dialect: 'v1', method, pandaId: Number(p.job_id), state, report: {}, params: raw, seqHeader });
    return { success: false, message: `Invalid job status: ${state}`, data: { StatusCode: StatusCode.INVALID } };
  }
  const legacy = v1UpdateToLegacyNames(p);
  const outcome = engine.update({
    dialect: 'v1',
    method,
    pandaId: Number(p.job_id),
    state,
    attemptNr: typeof p.attempt_nr === 'number' ? p.attempt_nr : undefined,
    report: reportFromLegacyNames(legacy),
    params: raw,
    seqHeader,
  });
  // An order violation is answered as the server answers (it has no order rules); the header shows it.
  const violation = outcome.order.kind === 'violation' ? outcome.order.reason : undefined;
  return { success: true, message: '', data: { StatusCode: StatusCode.OK, command: outcome.command }, ...(violation ? { violation } : {}) };
}

/** The reply header that shows order violations without changing the answer. */
const VIOLATION_HEADER = 'x-panda-stub-violation';

/** The envelope as the server sends it (without the stub's note), plus the violation header when there was one. */
function envelopeReply(e: Envelope): StubReply {
  const reply = v1Reply(e.success, e.message, e.data);
  return e.violation ? { ...reply, headers: { ...reply.headers, [VIOLATION_HEADER]: e.violation } } : reply;
}

function updateJob(engine: StubEngine, req: StubRequest, raw: Record<string, unknown>, p: Record<string, unknown>): StubReply {
  return envelopeReply(updateOne(engine, raw, p, header(req, 'x-panda-update-seq') ?? null, 'pilot/update_job'));
}

/**
 * `update_jobs_bulk`: the server calls update_job once per entry and answers
 * the list of their envelopes; an entry it cannot even call (no job_id, an
 * unknown name) fails the whole request with nothing in data. Entries before
 * it stay applied, as on the server. Sequences come in the bulk header.
 */
function updateJobsBulk(engine: StubEngine, req: StubRequest, p: Record<string, unknown>): StubReply {
  const list = p.job_list;
  if (!Array.isArray(list)) return v1Reply(false, 'failed with TypeError job_list is not a list', []);
  const seqs = parseBulkSeqHeader(header(req, BULK_SEQ_HEADER));
  const data: Envelope[] = [];
  const violations: Record<string, string> = {};
  for (const item of list as unknown[]) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return v1Reply(false, 'failed with TypeError job_list entries must be objects', []);
    const entry = item as Record<string, unknown>;
    if (entry.job_id === undefined || entry.job_status === undefined) {
      return v1Reply(false, `failed with KeyError '${entry.job_id === undefined ? 'job_id' : 'job_status'}'`, []);
    }
    const argError = v1ArgumentError('pilot/update_job', entry);
    if (argError) return v1Reply(false, `failed with TypeError ${argError.replace(/^Argument error: /, '')}`, []);
    const coerced = coerceV1Params('pilot/update_job', entry);
    if (!coerced.ok) {
      data.push({ success: false, message: coerced.message, data: null });
      continue;
    }
    const { violation, ...e } = updateOne(engine, entry, coerced.values, seqs.get(String(coerced.values.job_id)) ?? null, 'pilot/update_jobs_bulk');
    if (violation) violations[String(coerced.values.job_id)] = violation;
    data.push(e);
  }
  const reply = v1Reply(true, '', data);
  return Object.keys(violations).length ? { ...reply, headers: { ...reply.headers, [VIOLATION_HEADER]: JSON.stringify(violations) } } : reply;
}

function getJobStatus(engine: StubEngine, p: Record<string, unknown>): StubReply {
  const ids = p.job_ids as number[];
  const found = engine.statusOf(ids);
  return v1Reply(
    true,
    '',
    ids.map((id, i) => ({ job_id: id, status: found[i]?.state ?? 'unknown', attempt_number: found[i]?.attemptNr ?? 0 })),
  );
}

/** Event-range endpoints; parameters are already type-checked. */
function eventCall(engine: StubEngine, endpoint: V1Endpoint, p: Record<string, unknown>, quirks: ReadonlySet<ServerQuirk>): StubReply {
  switch (endpoint) {
    case 'event/acquire_event_ranges':
      return v1Reply(true, '', engine.acquireRanges(p.job_id as number, p.jobset_id as number, (p.n_ranges as number | undefined) ?? 10));
    case 'event/update_event_ranges': {
      const decoded = decodeRangeReports(p.event_ranges, reportVersion(p.version));
      if (!decoded.ok) return v1Reply(false, decoded.error);
      const { returns, commands } = engine.reportRanges(decoded.items);
      // 1.0.3 stores the ranges, then builds its reply as a set, which cannot be serialised.
      if (quirks.has('es-v1-500')) return textReply(500, V1_SET_NOT_SERIALISABLE);
      // v1 says Commands where legacy says Command (docs/panda-protocol.md §12).
      return v1Reply(true, '', { Returns: returns, Commands: commands });
    }
    case 'event/update_single_event_range': {
      const { ok, command } = engine.reportSingleRange({
        eventRangeID: p.event_range_id,
        eventStatus: p.event_range_status,
        coreCount: p.core_count,
        cpuConsumptionTime: p.cpu_consumption_time,
      });
      return ok ? v1Reply(true, '', { Command: command }) : v1Reply(false, 'database error: event range not updated');
    }
    default:
      return v1Reply(true, '', engine.availableRanges(p.job_id as number, p.jobset_id as number));
  }
}

function handle(engine: StubEngine, req: StubRequest, endpoint: string, quirks: ReadonlySet<ServerQuirk>): StubReply {
  if (!Object.hasOwn(V1_PARAMS, endpoint)) return textReply(403, `ERROR : method ${endpoint} is forbidden`);
  const known = endpoint as V1Endpoint;
  const expected = SERVED[known];
  if (expected === undefined) return jsonReply(501, { success: false, message: `${endpoint} is not implemented by panda-stub yet`, data: null });
  if (req.method !== expected) return v1Reply(false, `expecting ${expected}, received ${req.method}`);
  let raw: Record<string, unknown>;
  try {
    raw = expected === 'POST' ? decodeV1Body(req) : decodeV1Query(req);
  } catch (err) {
    if (err instanceof BadRequestError) return v1Reply(false, err.message);
    throw err;
  }
  const argError = v1ArgumentError(known, raw);
  if (argError) return v1Reply(false, argError);
  const coerced = coerceV1Params(known, raw);
  if (!coerced.ok) return v1Reply(false, coerced.message);
  switch (known) {
    case 'pilot/acquire_jobs':
      return acquireJobs(engine, req, coerced.values);
    case 'pilot/update_job':
      return updateJob(engine, req, raw, coerced.values);
    case 'pilot/update_jobs_bulk':
      return updateJobsBulk(engine, req, coerced.values);
    case 'pilot/get_job_status':
      return getJobStatus(engine, coerced.values);
    case 'event/acquire_event_ranges':
    case 'event/update_event_ranges':
    case 'event/update_single_event_range':
    case 'event/get_available_event_range_count':
      return eventCall(engine, known, coerced.values, quirks);
    case 'pilot/update_worker_status': {
      const p = coerced.values;
      engine.workerStatus({
        dialect: 'v1',
        harvesterId: String(p.harvester_id),
        workerId: String(p.worker_id),
        status: String(p.status),
        nodeId: p.node_id === undefined || p.node_id === null ? null : String(p.node_id),
        site: null,
      });
      return v1Reply(true, '');
    }
    default:
      return v1Reply(true, '');
  }
}

/** Routes of the v1 dialect. */
export function v1Routes(engine: StubEngine, quirks: ReadonlySet<ServerQuirk> = new Set()): Route[] {
  return [
    {
      method: '*',
      pattern: /^\/api\/(?:v1|latest)\/(\w+\/\w+)$/,
      handler: (req, match) => handle(engine, req, match[1] ?? '', quirks),
    },
  ];
}
