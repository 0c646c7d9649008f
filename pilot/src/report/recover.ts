/**
 * Re-sends final updates kept on disk: each with its original sequence
 * header, through the dialect of the server it was meant for, a bounded
 * number of tries. Acknowledged files become `final-update.json.acked`;
 * ones the server refuses (it does not know that job attempt, or the order
 * rules say no) `.refused`; unreadable ones `.invalid`; the rest stay for
 * the next try. Kept range reports (`range-reports.json`) go the same way,
 * before their job's final update: delivered when the server took every
 * report (true, or null for one it ignores), refused when it said false to
 * any.
 */
import type { Logger } from 'pino';
import { SEQ_HEADER, type EventRangesApi, type JobsApi, type UpdateReply } from '../protocol/index.js';
import { retry, type BackoffOptions, type Sleep } from '../retry/index.js';
import { claimFinalUpdate, readKept, releaseFinalUpdate, type FinalUpdateRecord, type KeptRecord, type RangeReportsRecord } from './final-update-file.js';

/** What a recovery sends through: final updates (jobs) and kept range reports (event ranges). */
export type RecoveryServer = JobsApi & EventRangesApi;

export type RecoveryResult = 'delivered' | 'refused' | 'invalid' | 'left' | 'skipped';

export interface RecoverDeps {
  /** The server to send a record to, or null to leave it for another time (e.g. another server's job). */
  serverFor: (record: Pick<FinalUpdateRecord, 'serverUrl' | 'dialect'>) => RecoveryServer | null;
  log: Logger;
  signal: AbortSignal;
  maxAttempts: number;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
}

export interface RecoverySummary {
  found: number;
  delivered: number;
  refused: number;
  invalid: number;
  /** Not delivered this time (server away, or skipped); still on disk. */
  left: number;
  files: { file: string; result: RecoveryResult; pandaId?: number | undefined; detail?: string | undefined }[];
}

/** Whether a reply means the server now has this final update. */
function accepted(reply: UpdateReply): boolean {
  // alreadydone: the server has a final for this job already (ours, or its own ending) — nothing left to deliver.
  return reply.statusCode === 0 && reply.command !== 'tobekilled';
}

async function recoverOne(file: string, deps: RecoverDeps): Promise<RecoverySummary['files'][number]> {
  const claimed = claimFinalUpdate(file);
  if (!claimed) return { file, result: 'skipped', detail: 'taken by another process' };
  let record: KeptRecord;
  try {
    record = readKept(claimed);
  } catch (err) {
    const kept = releaseFinalUpdate(claimed, '.invalid');
    deps.log.error({ event: 'final_update_invalid', file: kept, err: (err as Error).message }, 'kept update is unreadable');
    return { file, result: 'invalid', detail: (err as Error).message };
  }
  const pandaId = record.kind === 'range-reports' ? record.pandaId : record.update.jobId;
  const server = deps.serverFor(record);
  if (!server) {
    releaseFinalUpdate(claimed, '');
    return { file, result: 'skipped', pandaId, detail: `meant for ${record.serverUrl}` };
  }
  try {
    const answer = record.kind === 'range-reports' ? await sendRangeReports(record, server, deps) : await sendFinal(record, server, deps);
    releaseFinalUpdate(claimed, answer.ok ? '.acked' : '.refused');
    const what = record.kind === 'range-reports' ? 'range_reports' : 'final_update';
    deps.log.info(
      { event: answer.ok ? `${what}_recovered` : `${what}_refused`, pandaId, detail: answer.detail },
      answer.ok ? `kept ${what} delivered` : `server refused kept ${what}`,
    );
    return { file, result: answer.ok ? 'delivered' : 'refused', pandaId, detail: answer.detail };
  } catch (err) {
    releaseFinalUpdate(claimed, '');
    deps.log.warn({ event: 'final_update_not_recovered', pandaId, err: (err as Error)?.message }, 'kept update still not delivered');
    return { file, result: 'left', pandaId, detail: (err as Error)?.message };
  }
}

type Answer = { ok: boolean; detail: string };

async function sendFinal(record: FinalUpdateRecord, server: JobsApi, deps: RecoverDeps): Promise<Answer> {
  const reply = await retry(() => server.updateJob(record.update, { headers: { [SEQ_HEADER]: record.seqHeader }, signal: deps.signal }), retryOptions(deps));
  return { ok: accepted(reply), detail: `StatusCode ${reply.statusCode}, command ${reply.command}` };
}

async function sendRangeReports(record: RangeReportsRecord, server: EventRangesApi, deps: RecoverDeps): Promise<Answer> {
  const reply = await retry(() => server.updateEventRanges(record.pandaId, record.reports, { signal: deps.signal }), retryOptions(deps));
  const refused = record.reports.filter((_, i) => reply.returns[i] === false).map((r) => r.eventRangeID);
  const odd = reply.oddity ? ` (${reply.oddity.note})` : '';
  return {
    ok: refused.length === 0,
    detail: refused.length === 0 ? `${record.reports.length} range report(s) taken${odd}` : `refused: ${refused.join(', ')}${odd}`,
  };
}

function retryOptions(deps: RecoverDeps) {
  return { signal: deps.signal, maxAttempts: deps.maxAttempts, sleep: deps.sleep, backoff: deps.backoff };
}

/** Sends each file in turn (one at a time: each is one job's one final update). */
export async function recoverFinalUpdates(files: readonly string[], deps: RecoverDeps): Promise<RecoverySummary> {
  const summary: RecoverySummary = { found: files.length, delivered: 0, refused: 0, invalid: 0, left: 0, files: [] };
  for (const file of files) {
    const one = deps.signal.aborted ? { file, result: 'left' as const, detail: 'stopped' } : await recoverOne(file, deps);
    summary.files.push(one);
    if (one.result === 'delivered') summary.delivered += 1;
    else if (one.result === 'refused') summary.refused += 1;
    else if (one.result === 'invalid') summary.invalid += 1;
    else summary.left += 1;
  }
  return summary;
}
