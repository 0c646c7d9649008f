/**
 * `--bulk-heartbeats`: the heartbeats of a pilot's jobs leave together, as
 * one updateJobsInBulk / pilot/update_jobs_bulk request. Each job's channel
 * still owns its order: it hands its heartbeat here as its one update in
 * flight, with the sequence it stamped, and waits for that job's own reply,
 * so a bulk request holds at most one update per job, and a failed bulk is
 * resent by each channel (same sequence) exactly as a failed single update.
 */
import type { Logger } from 'pino';
import { SEQ_HEADER, type BulkUpdateItem, type JobUpdate, type UpdateReply } from '../protocol/index.js';

/** Sends a batch; one result per item, in order (see BulkUpdatesApi.updateJobsBulk). */
export type SendBulk = (items: readonly BulkUpdateItem[]) => Promise<(UpdateReply | Error)[]>;

export interface BulkHeartbeatOptions {
  sendBulk: SendBulk;
  /** How long the first heartbeat of a batch waits for the others (ms). */
  gatherMs: number;
  log: Logger;
}

interface Waiting {
  item: BulkUpdateItem;
  resolve: (r: UpdateReply) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class BulkHeartbeatBatcher {
  private batch: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Bulk requests sent, and updates they carried (for logs and the bench). */
  readonly stats = { requests: 0, updates: 0 };

  constructor(private readonly opts: BulkHeartbeatOptions) {}

  /** A channel's `send` for heartbeats: joins the next bulk request and resolves with this job's reply. */
  send(update: JobUpdate, headers: Record<string, string>, signal?: AbortSignal): Promise<UpdateReply> {
    return new Promise<UpdateReply>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const seqHeader = headers[SEQ_HEADER] ?? '';
      const entry: Waiting = {
        item: { update, seqHeader },
        resolve,
        reject,
        signal,
        onAbort: () => {
          // Still waiting for the batch to leave: take it out; already sent: only this caller stops waiting.
          this.batch = this.batch.filter((w) => w !== entry);
          reject(signal?.reason);
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.batch.push(entry);
      this.timer ??= setTimeout(() => void this.flush(), this.opts.gatherMs);
    });
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.stats.requests += 1;
    this.stats.updates += batch.length;
    let results: (UpdateReply | Error)[];
    try {
      results = await this.opts.sendBulk(batch.map((w) => w.item));
    } catch (err) {
      this.opts.log.debug({ event: 'bulk_failed', jobs: batch.length, err: (err as Error).message }, 'bulk heartbeat request failed');
      for (const w of batch) this.settle(w, err);
      return;
    }
    batch.forEach((w, i) => this.settle(w, results[i] ?? new Error('no reply for this job in the bulk reply')));
  }

  private settle(w: Waiting, result: UpdateReply | Error | unknown): void {
    w.signal?.removeEventListener('abort', w.onAbort);
    if (result && typeof result === 'object' && 'command' in result && !(result instanceof Error)) w.resolve(result as UpdateReply);
    else w.reject(result);
  }
}
