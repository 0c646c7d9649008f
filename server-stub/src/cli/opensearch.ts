/**
 * Job records as OpenSearch documents, for `panda-stub export --format
 * opensearch`: NDJSON that the `_bulk` API takes (an action line, then the
 * document), so a campaign's job history can go to the same dashboards as
 * production's. Field names follow PanDA's job table (lower-case, as the
 * PanDA monitor and its Elasticsearch/OpenSearch indices name them); the
 * mapping below is the one to create the index with. Pure functions.
 */
import type { JobRecord, TaskRecord } from '../model/records.js';

/** The index mapping (PUT /<index> with `{"mappings": OPENSEARCH_MAPPING}`). Every document field is here. */
export const OPENSEARCH_MAPPING = {
  dynamic: 'strict',
  properties: {
    pandaid: { type: 'long' },
    jeditaskid: { type: 'long' },
    reqid: { type: 'long' },
    taskname: { type: 'keyword' },
    workflow: { type: 'keyword' },
    jobname: { type: 'keyword' },
    jobsetid: { type: 'long' },
    attemptnr: { type: 'integer' },
    maxattempt: { type: 'integer' },
    jobstatus: { type: 'keyword' },
    computingsite: { type: 'keyword' },
    prodsourcelabel: { type: 'keyword' },
    resourcetype: { type: 'keyword' },
    corecount: { type: 'integer' },
    minramcount: { type: 'integer' },
    maxrss: { type: 'long' },
    maxpss: { type: 'long' },
    modificationhost: { type: 'keyword' },
    creationtime: { type: 'date' },
    starttime: { type: 'date' },
    endtime: { type: 'date' },
    modificationtime: { type: 'date' },
    piloterrorcode: { type: 'integer' },
    piloterrordiag: { type: 'text' },
    exeerrorcode: { type: 'integer' },
    exeerrordiag: { type: 'text' },
    transexitcode: { type: 'integer' },
    taskbuffererrorcode: { type: 'integer' },
    taskbuffererrordiag: { type: 'text' },
    cpuconsumptiontime: { type: 'long' },
    retryof: { type: 'long' },
  },
} as const;

export type OpenSearchField = keyof typeof OPENSEARCH_MAPPING.properties;
export type OpenSearchDoc = Partial<Record<OpenSearchField, string | number>>;

const FINAL = new Set(['finished', 'failed', 'cancelled', 'closed']);

function int(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? Math.trunc(n) : undefined;
}

function text(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

/** One job as an OpenSearch document; absent values are left out (not null), as the index would store them. */
export function toOpenSearchDoc(job: JobRecord, task: TaskRecord | undefined): OpenSearchDoc {
  const r = job.report;
  const doc: Record<string, string | number | undefined> = {
    pandaid: job.pandaId,
    jeditaskid: job.taskId,
    reqid: task?.requestId,
    taskname: task?.name,
    workflow: task?.workflow ?? undefined,
    jobname: job.jobName,
    jobsetid: job.jobsetId,
    attemptnr: job.attemptNr,
    maxattempt: task?.maxAttempts,
    jobstatus: job.state,
    computingsite: job.site,
    prodsourcelabel: job.label,
    resourcetype: job.resourceType,
    corecount: job.cores,
    minramcount: job.minRamCount,
    maxrss: int(r.maxRSS),
    maxpss: int(r.maxPSS),
    modificationhost: text(job.dispatchNode),
    creationtime: job.createdAt,
    starttime: text(job.dispatchedAt),
    endtime: FINAL.has(job.state) ? job.stateChangedAt : undefined,
    modificationtime: job.heartbeatAt ?? job.stateChangedAt,
    piloterrorcode: int(r.pilotErrorCode),
    piloterrordiag: text(r.pilotErrorDiag),
    exeerrorcode: int(r.exeErrorCode),
    exeerrordiag: text(r.exeErrorDiag),
    transexitcode: int(r.transExitCode),
    taskbuffererrorcode: job.serverErrorCode ?? undefined,
    taskbuffererrordiag: text(job.serverErrorDiag),
    cpuconsumptiontime: int(r.cpuConsumptionTime),
    retryof: job.retryOf ?? undefined,
  };
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined)) as OpenSearchDoc;
}

/** `_bulk` NDJSON: `{"index":{"_index","_id"}}` then the document, per job; `_id` is the PandaID, so a re-export overwrites. */
export function toBulkNdjson(jobs: readonly JobRecord[], tasks: readonly TaskRecord[], index: string): string {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  return jobs
    .map((j) => `${JSON.stringify({ index: { _index: index, _id: String(j.pandaId) } })}\n${JSON.stringify(toOpenSearchDoc(j, byId.get(j.taskId)))}\n`)
    .join('');
}
