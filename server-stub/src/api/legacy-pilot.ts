/**
 * The legacy dialect, `POST /server/panda/<method>`, as release 0.8.x serves
 * it to pilot3: parameters become function arguments, so an unknown or
 * missing name is an HTTP 500 with Python's TypeError text.
 */
import { addressedToStub } from './transformations.js';
import { LEGACY_PARAMS, LEGACY_REQUIRED, StatusCode, missingParams, type LegacyMethod } from '../../../pilot/src/protocol/index.js';
import { decodeLegacyParams } from '../http/body-codec.js';
import { acceptsJson, encodeLegacyForm, jsonReply, legacyReply, textReply } from '../http/reply.js';
import { header, type Route, type StubReply, type StubRequest } from '../http/types.js';
import type { StubEngine } from '../engine/index.js';
import { BULK_SEQ_HEADER, parseBulkSeqHeader } from '../model/update-seq.js';
import { decodeRangeReports, reportVersion } from './event-ranges.js';
import { dispatchRequestFromLegacy, numberOf, reportFromLegacyNames } from './normalise.js';
import { extraReturns, type ServerQuirk } from '../model/server-quirks.js';

/** Each method's parameter names as a set, built once: a set of ~60 names per request was 2% of the stub's CPU under load. */
const allowedParams = new Map<string, ReadonlySet<string>>();

/** Python's wording for a call with wrong arguments, which is what the real server answers. */
export function pythonArgumentError(method: string, params: Record<string, unknown>): string | null {
  let allowed = allowedParams.get(method);
  if (!allowed) allowedParams.set(method, (allowed = new Set<string>(LEGACY_PARAMS[method as LegacyMethod])));
  for (const name in params) if (!allowed.has(name)) return `${method}() got an unexpected keyword argument '${name}'`;
  const missing = missingParams(params, LEGACY_REQUIRED[method as LegacyMethod]).filter((k) => params[k] === undefined);
  if (missing.length === 0) return null;
  const names = missing.map((n) => `'${n}'`);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `${method}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${list}`;
}

const INT_TEXT = /^\s*-?\d+\s*$/;

/** What `updateJob` answers (shared by updateJobsInBulk), or the error text when the job id is not an integer (server: HTTP 500). */
function updateJob(engine: StubEngine, params: Record<string, string>, seqHeader: string | null, method: string): UpdateAnswer | string {
  const jobId = params.jobId ?? '';
  // pilot3 sends jobId=NULL to abort; the server acknowledges and does nothing.
  if (jobId === 'NULL') return { reply: { StatusCode: StatusCode.OK }, violation: null };
  if (!INT_TEXT.test(jobId)) return `invalid literal for int() with base 10: '${jobId}'`;
  const attempt = params.attemptNr;
  const outcome = engine.update({
    dialect: 'legacy',
    method,
    pandaId: Number(jobId),
    state: params.state ?? '',
    // The server casts attemptNr with int() and drops it when that fails.
    attemptNr: attempt !== undefined && INT_TEXT.test(attempt) ? Number(attempt) : undefined,
    report: reportFromLegacyNames(params),
    params,
    seqHeader,
  });
  // An order violation is answered as the real server answers (silently, or with its guards' command);
  // only the X-PanDA-Stub-Violation header, the summary and the job page tell.
  const violation = outcome.order.kind === 'violation' ? outcome.order.reason : null;
  // An invalid state is acknowledged without a command, as the server does.
  if (outcome.decision?.kind === 'invalid') return { reply: { StatusCode: StatusCode.OK }, violation };
  return { reply: { StatusCode: StatusCode.OK, command: outcome.command }, violation };
}

/** What one updateJob answers, and the order violation the stub saw in it (not on the wire except as a header). */
interface UpdateAnswer {
  reply: Record<string, unknown>;
  violation: string | null;
}

/** The reply header that shows order violations without changing the answer. */
export const VIOLATION_HEADER = 'x-panda-stub-violation';

function withViolations(reply: StubReply, violations: ReadonlyMap<string, string>): StubReply {
  if (violations.size === 0) return reply;
  // One update: the reason; a bulk call: a JSON map PandaID → reason, like the bulk sequence header.
  const value = violations.size === 1 && violations.has('') ? (violations.get('') ?? '') : JSON.stringify(Object.fromEntries(violations));
  return { ...reply, headers: { ...reply.headers, [VIOLATION_HEADER]: value } };
}

function getJob(engine: StubEngine, req: StubRequest, params: Record<string, string>): StubReply {
  const request = dispatchRequestFromLegacy(params);
  const jobs = engine.dispatch(request, params.node ?? null).map((job) => addressedToStub(job, req));
  if (jobs.length === 0) {
    const data: Record<string, unknown> = { StatusCode: StatusCode.NO_JOBS };
    if (acceptsJson(req)) data.errorDialog = 'no jobs in PanDA';
    return legacyReply(req, data);
  }
  // Each job is a whole reply of its own on the server (StatusCode, fields, nSent).
  const replies = jobs.map((job) => ({ StatusCode: StatusCode.OK, ...job, nSent: 0 }));
  if (params.nJobs === undefined) return legacyReply(req, replies[0] ?? {});
  return legacyReply(req, { StatusCode: StatusCode.OK, jobs: replies });
}

function updateJobsInBulk(engine: StubEngine, req: StubRequest, params: Record<string, string>): StubReply {
  const replies: unknown[] = [];
  let list: unknown;
  try {
    list = JSON.parse(params.jobList ?? '');
  } catch (err) {
    return textReply(200, JSON.stringify([false, `updateJobsInBulk failed with JSONDecodeError ${(err as Error).message}`]));
  }
  if (!Array.isArray(list)) return textReply(200, JSON.stringify([false, 'updateJobsInBulk failed: jobList is not a list']));
  // One header cannot carry a sequence per job: bulk requests carry a JSON map PandaID → sequence.
  const seqs = parseBulkSeqHeader(header(req, BULK_SEQ_HEADER));
  const violations = new Map<string, string>();
  for (const item of list as Record<string, unknown>[]) {
    const one: Record<string, string> = {};
    for (const [k, v] of Object.entries(item ?? {})) if (v !== null && v !== undefined) one[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    const error = pythonArgumentError('updateJob', one);
    // The server stops at the first bad entry and answers false with the error text.
    if (error) return textReply(200, JSON.stringify([false, `updateJobsInBulk failed with TypeError ${error}`]));
    const result = updateJob(engine, one, seqs.get(one.jobId ?? '') ?? null, 'updateJobsInBulk');
    if (typeof result === 'string') return textReply(200, JSON.stringify([false, `updateJobsInBulk failed with ValueError ${result}`]));
    if (result.violation !== null) violations.set(one.jobId ?? '', result.violation);
    replies.push(acceptsJson(req) ? result.reply : encodeLegacyForm(result.reply));
  }
  return withViolations(textReply(200, JSON.stringify([true, replies])), violations);
}

function getStatus(engine: StubEngine, params: Record<string, string>): StubReply {
  const ids = (params.ids ?? '').split(/\s+/).filter(Boolean);
  const found = engine.statusOf(ids.map((id) => numberOf(id) ?? -1));
  // The server joins with '+' and urlencodes, so the wire shows %2B; always urlencoded.
  return textReply(
    200,
    encodeLegacyForm({
      StatusCode: StatusCode.OK,
      status: found.map((j) => j?.state ?? 'notfound').join('+'),
      attemptNr: found.map((j) => j?.attemptNr ?? 0).join('+'),
    }),
  );
}

/** The real server answers StatusCode 0 once Harvester's worker row is updated; the stub keeps the report. */
function updateWorkerPilotStatus(engine: StubEngine, req: StubRequest, params: Record<string, string>): StubReply {
  engine.workerStatus({
    dialect: 'legacy',
    harvesterId: params.harvesterID ?? '',
    workerId: params.workerID ?? '',
    status: params.status ?? '',
    nodeId: params.node_id ?? null,
    site: params.site ?? null,
  });
  return legacyReply(req, { StatusCode: StatusCode.OK });
}

/** An integer parameter as the server's int() reads it, or undefined. */
function intOf(text: string | undefined): number | undefined {
  return text !== undefined && INT_TEXT.test(text) ? Number(text) : undefined;
}

function getEventRanges(engine: StubEngine, req: StubRequest, params: Record<string, string>): StubReply {
  const pandaId = intOf(params.pandaID);
  const jobsetId = intOf(params.jobsetID);
  // The server's query fails on a non-numeric id and answers "failed".
  if (pandaId === undefined || jobsetId === undefined) return legacyReply(req, { StatusCode: StatusCode.FAILED });
  const ranges = engine.acquireRanges(pandaId, jobsetId, intOf(params.nRanges) ?? 10);
  // JSON replies carry the list; urlencoded ones its JSON text (encodeLegacyForm does that).
  return legacyReply(req, { StatusCode: StatusCode.OK, eventRanges: ranges });
}

function updateEventRanges(engine: StubEngine, req: StubRequest, params: Record<string, string>, quirks: ReadonlySet<ServerQuirk>): StubReply {
  const decoded = decodeRangeReports(params.eventRanges, reportVersion(params.version));
  // The server's bulk update fails as a whole on bad JSON and answers [false].
  const result = decoded.ok ? engine.reportRanges(decoded.items) : { returns: [false], commands: {} };
  // On PostgreSQL the ranges are stored, then a follow-up query fails and adds a false entry.
  const returns = decoded.ok && quirks.has('es-extra-returns') ? extraReturns(result.returns) : result.returns;
  // Version 0 replies carry Returns and Command as JSON text, whatever the encoding.
  return legacyReply(req, { StatusCode: StatusCode.OK, Returns: JSON.stringify(returns), Command: JSON.stringify(result.commands) });
}

function updateEventRange(engine: StubEngine, req: StubRequest, params: Record<string, string>): StubReply {
  const { ok, command } = engine.reportSingleRange({
    eventRangeID: params.eventRangeID,
    eventStatus: params.eventStatus,
    coreCount: params.coreCount,
    cpuConsumptionTime: params.cpuConsumptionTime,
  });
  return legacyReply(req, ok ? { StatusCode: StatusCode.OK, Command: command ?? 'NULL' } : { StatusCode: StatusCode.FAILED });
}

function checkEventsAvailability(engine: StubEngine, params: Record<string, string>): StubReply {
  const pandaId = intOf(params.pandaID);
  const jobsetId = intOf(params.jobsetID);
  if (pandaId === undefined || jobsetId === undefined) return jsonReply(200, { StatusCode: StatusCode.FAILED });
  // This method always answers JSON on the server.
  return jsonReply(200, { StatusCode: StatusCode.OK, nEventRanges: engine.availableRanges(pandaId, jobsetId) });
}

/** The legacy methods the stub answers; any other method the real server knows gets 501 (the fuzz test walks this list). */
export const IMPLEMENTED_LEGACY_METHODS: ReadonlySet<string> = new Set([
  'getJob',
  'updateJob',
  'updateJobsInBulk',
  'getStatus',
  'getEventRanges',
  'updateEventRanges',
  'updateEventRange',
  'checkEventsAvailability',
  'updateWorkerPilotStatus',
]);

/** Routes of the legacy dialect. */
export function legacyRoutes(engine: StubEngine, quirks: ReadonlySet<ServerQuirk> = new Set()): Route[] {
  const handler = (req: StubRequest, match: RegExpMatchArray): StubReply => {
    const method = match[1] ?? '';
    if (!Object.hasOwn(LEGACY_PARAMS, method)) return textReply(403, `ERROR : method ${method} is forbidden`);
    if (!IMPLEMENTED_LEGACY_METHODS.has(method)) return textReply(501, `ERROR : method ${method} is not implemented by panda-stub yet`);
    const params = decodeLegacyParams(req);
    const error = pythonArgumentError(method, params);
    if (error) return textReply(500, error);
    switch (method) {
      case 'getJob':
        return getJob(engine, req, params);
      case 'updateJob': {
        const result = updateJob(engine, params, header(req, 'x-panda-update-seq') ?? null, 'updateJob');
        if (typeof result === 'string') return textReply(500, result);
        return withViolations(legacyReply(req, result.reply), new Map(result.violation === null ? [] : [['', result.violation]]));
      }
      case 'updateJobsInBulk':
        return updateJobsInBulk(engine, req, params);
      case 'getEventRanges':
        return getEventRanges(engine, req, params);
      case 'updateEventRanges':
        return updateEventRanges(engine, req, params, quirks);
      case 'updateEventRange':
        return updateEventRange(engine, req, params);
      case 'checkEventsAvailability':
        return checkEventsAvailability(engine, params);
      case 'updateWorkerPilotStatus':
        return updateWorkerPilotStatus(engine, req, params);
      default:
        return getStatus(engine, params);
    }
  };
  return [{ method: '*', pattern: /^\/server\/panda\/([A-Za-z_]\w*)$/, handler }];
}
