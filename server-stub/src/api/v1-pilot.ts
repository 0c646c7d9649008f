/**
 * The v1 dialect, `/api/v1/<module>/<method>` (and its `/api/latest/` alias),
 * as release 1.0.x serves it: JSON in, `{success, message, data}` out, and a
 * refused call is HTTP 200 with success:false and the server's wording.
 */
import { StatusCode, V1_PARAMS, V1_REQUIRED, isPilotJobState, type V1Endpoint } from '../../../pilot/src/protocol/index.js';
import { decodeV1Body, decodeV1Query } from '../http/body-codec.js';
import { textReply, v1Reply, jsonReply } from '../http/reply.js';
import { BadRequestError, header, type Route, type StubReply, type StubRequest } from '../http/types.js';
import type { StubEngine } from '../engine/index.js';
import { dispatchRequestFromV1, reportFromLegacyNames, v1UpdateToLegacyNames } from './normalise.js';
import { coerceV1Params } from './v1-types.js';

/** HTTP method per endpoint the stub serves. */
const SERVED: Partial<Record<V1Endpoint, 'GET' | 'POST'>> = {
  'pilot/acquire_jobs': 'POST',
  'pilot/update_job': 'POST',
  'pilot/get_job_status': 'GET',
  'pilot/update_worker_status': 'POST',
  'system/is_alive': 'GET',
};

/** The server's "Argument error" for names its function signature does not bind. */
export function v1ArgumentError(endpoint: V1Endpoint, params: Record<string, unknown>): string | null {
  const allowed = new Set<string>(V1_PARAMS[endpoint]);
  const unknown = Object.keys(params).find((k) => !allowed.has(k));
  if (unknown !== undefined) return `Argument error: got an unexpected keyword argument '${unknown}'`;
  const missing = (V1_REQUIRED[endpoint] ?? []).find((k) => params[k] === undefined);
  if (missing !== undefined) return `Argument error: missing a required argument: '${missing}'`;
  return null;
}

function acquireJobs(engine: StubEngine, p: Record<string, unknown>): StubReply {
  const jobs = engine.dispatch(dispatchRequestFromV1(p), typeof p.node === 'string' ? p.node : null);
  if (jobs.length === 0) return v1Reply(false, 'No jobs in PanDA');
  // n_jobs defaults to 1 on v1, so the reply is always the bulk form.
  return v1Reply(true, '', { StatusCode: StatusCode.OK, jobs: jobs.map((job) => ({ StatusCode: StatusCode.OK, ...job, nSent: 0 })) });
}

function updateJob(engine: StubEngine, req: StubRequest, raw: Record<string, unknown>, p: Record<string, unknown>): StubReply {
  const state = String(p.job_status);
  if (!isPilotJobState(state)) {
    // Refused before the database on v1; still recorded so a developer sees what was sent.
    engine.update({ dialect: 'v1', method: 'pilot/update_job', pandaId: Number(p.job_id), state, report: {}, params: raw, seqHeader: header(req, 'x-panda-update-seq') ?? null });
    return v1Reply(false, `Invalid job status: ${state}`, { StatusCode: StatusCode.INVALID });
  }
  const legacy = v1UpdateToLegacyNames(p);
  const outcome = engine.update({
    dialect: 'v1',
    method: 'pilot/update_job',
    pandaId: Number(p.job_id),
    state,
    attemptNr: typeof p.attempt_nr === 'number' ? p.attempt_nr : undefined,
    report: reportFromLegacyNames(legacy),
    params: raw,
    seqHeader: header(req, 'x-panda-update-seq') ?? null,
  });
  return v1Reply(true, '', { StatusCode: StatusCode.OK, command: outcome.command });
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

function handle(engine: StubEngine, req: StubRequest, endpoint: string): StubReply {
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
      return acquireJobs(engine, coerced.values);
    case 'pilot/update_job':
      return updateJob(engine, req, raw, coerced.values);
    case 'pilot/get_job_status':
      return getJobStatus(engine, coerced.values);
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
export function v1Routes(engine: StubEngine): Route[] {
  return [
    {
      method: '*',
      pattern: /^\/api\/(?:v1|latest)\/(\w+\/\w+)$/,
      handler: (req, match) => handle(engine, req, match[1] ?? ''),
    },
  ];
}
