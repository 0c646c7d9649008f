/**
 * How a job's result leaves the pilot outside the payload's own run: the
 * update sender for a job attempt, a malformed job's refusal, and the final
 * update kept on disk when the server never acknowledged it.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { truncateDiag } from '../errors/index.js';
import type { MalformedJobError } from '../job/index.js';
import { jobLogger } from '../log/index.js';
import {
  markFinalUpdateAcked,
  NaiveUpdateSender,
  OrderedUpdateChannel,
  writeFinalUpdate,
  writeFinalUpdateInFlight,
  dropFinalUpdateInFlight,
  writeRangeReports,
  type FinalOutcome,
  type JobUpdateSender,
  type SendUpdate,
} from '../report/index.js';
import type { JobUpdate, RangeReport, UpdateReply } from '../protocol/index.js';
import type { JobContext, JobServices, JobSettings } from './job-context.js';

/** What keeping an undelivered update on disk needs: where it was meant to go, and the log. */
type KeepContext = Pick<JobServices, 'server' | 'log'> & Pick<JobSettings, 'serverUrl'>;

export interface JobOutcome {
  pandaId: number | null;
  attemptNr: number | null;
  state: 'finished' | 'failed';
  pilotErrorCode: number;
  pilotErrorDiag: string;
  /** Whether the server acknowledged the final update. */
  acknowledged: boolean;
  /** Where the unacknowledged final update was kept, if it was. */
  finalUpdateFile?: string | undefined;
}

/** Reads the last `bytes` of a file (the payload's stderr can be large). */
export function tail(file: string, bytes = 4096): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, bytes);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/**
 * Where a job attempt's final update is kept when it has no job dir (it
 * failed before one was made): its own dir under the pilot home, so two
 * such jobs never share a file.
 */
export function finalsDir(ctx: Pick<JobSettings, 'pilotHome'>, pandaId: number, attemptNr: number): string {
  const dir = path.join(ctx.pilotHome, 'finals', `${pandaId}.${attemptNr}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The update sender of one job attempt: heartbeats through the bulk batcher
 * when there is one. With `finalDir`, the final update is written there
 * before it is first sent (a SIGKILL at any moment after leaves it on disk).
 */
export function updateSender(
  ctx: JobContext,
  pandaId: number,
  attemptNr: number,
  log: JobContext['log'],
  onReply?: (reply: UpdateReply) => void,
  finalDir?: () => string,
): JobUpdateSender {
  const bulk = ctx.bulk?.batcher;
  const send: SendUpdate = (u, headers, signal, kind) =>
    kind === 'heartbeat' && bulk ? bulk.send(u, headers, signal) : ctx.server.updateJob(u, { headers, signal });
  const persistFinal = finalDir
    ? (update: JobUpdate, seqHeader: string) => {
        try {
          const file = writeFinalUpdateInFlight(finalDir(), {
            serverUrl: ctx.serverUrl,
            dialect: ctx.server.dialect,
            seqHeader,
            update,
            writtenAt: new Date().toISOString(),
          });
          log.debug({ event: 'final_update_written', file }, 'final update on disk before its first send');
        } catch (err) {
          // A full disk must not keep the update from the server; it is only less safe.
          log.error({ event: 'final_update_write_failed', err: (err as Error).message }, 'could not write the final update before sending it');
        }
      }
    : undefined;
  const opts = {
    pandaId,
    attemptNr,
    send,
    log,
    sleep: ctx.sleep,
    backoff: ctx.backoff,
    finalDeadlineMs: ctx.finalDeadlineMs,
    finalCutoff: ctx.cutoff.signal,
    onReply,
    persistFinal,
  };
  return ctx.naiveUpdates ? new NaiveUpdateSender(opts) : new OrderedUpdateChannel(opts);
}

/** A malformed description is still reported, to the job it names, so the server does not wait 30 min for it. */
export async function refuseMalformed(ctx: JobContext, err: MalformedJobError): Promise<JobOutcome> {
  ctx.log.error({ event: 'job_refused', pandaId: err.pandaId, code: err.code, diag: err.diagnostic }, 'refusing malformed job description');
  const outcome: JobOutcome = {
    pandaId: err.pandaId,
    attemptNr: err.attemptNr,
    state: 'failed',
    pilotErrorCode: err.code,
    pilotErrorDiag: err.diagnostic,
    acknowledged: false,
  };
  if (err.pandaId === null) return outcome;
  const pandaId = err.pandaId;
  const attemptNr = err.attemptNr ?? 1;
  const dir = () => finalsDir(ctx, pandaId, attemptNr);
  const channel = updateSender(ctx, pandaId, attemptNr, jobLogger(ctx.log, pandaId, attemptNr), undefined, dir);
  const fin = await channel.final('failed', {
    ...identityFields(ctx),
    pilotErrorCode: err.code,
    pilotErrorDiag: truncateDiag(err.diagnostic),
    transExitCode: 0,
    timestamp: new Date().toISOString(),
  });
  if (fin.acknowledged) markFinalUpdateAcked(dir());
  const finalUpdateFile = fin.acknowledged || ctx.naiveUpdates ? undefined : keepFinalUpdate(ctx, dir(), channel, fin);
  return { ...outcome, acknowledged: fin.acknowledged, finalUpdateFile };
}

/** Invariant 2: a final update the server never acknowledged is kept where the next pilot will find it. */
export function keepFinalUpdate(ctx: KeepContext, dir: string, channel: JobUpdateSender, outcome: FinalOutcome): string {
  const file = writeFinalUpdate(dir, {
    serverUrl: ctx.serverUrl,
    dialect: ctx.server.dialect,
    seqHeader: channel.seqHeader(outcome.seq),
    update: outcome.update,
    error: outcome.error,
    writtenAt: new Date().toISOString(),
  });
  // The plain name is what any recovery takes; this pilot has stopped sending it.
  dropFinalUpdateInFlight(dir);
  ctx.log.error(
    { event: 'final_update_kept', pandaId: outcome.update.jobId, attemptNr: outcome.update.attemptNr, file, error: outcome.error },
    'final update not acknowledged; kept on disk for recovery',
  );
  return file;
}

/** Range reports the server never answered, kept beside the job's final update (re-sent before it). */
export function keepRangeReports(ctx: KeepContext, jobDir: string, job: { pandaId: number; attemptNr: number }, reports: RangeReport[], error: string): string {
  return writeRangeReports(jobDir, {
    serverUrl: ctx.serverUrl,
    dialect: ctx.server.dialect,
    pandaId: job.pandaId,
    attemptNr: job.attemptNr,
    reports,
    error,
    writtenAt: new Date().toISOString(),
  });
}

export function identityFields(ctx: Pick<JobSettings, 'identity'>): Record<string, string | number> {
  const f: Record<string, string | number> = { node: ctx.identity.node, pilotID: ctx.identity.pilotId, siteName: ctx.identity.siteName };
  if (ctx.identity.batchId) f.batchID = ctx.identity.batchId;
  if (ctx.identity.schedulerId) f.schedulerID = ctx.identity.schedulerId;
  return f;
}
