/**
 * The one way a job's status reaches the server. Updates leave in the order
 * they were made, one at a time, each stamped with a sequence when made; a
 * pending heartbeat is replaced by a newer one; a state never regresses; the
 * final update waits for everything before it and is retried until the server
 * acknowledges it or the deadline passes.
 */
import type { Logger } from 'pino';
import { isFinalPilotState, PILOT_STATE_RANK, type PilotJobState } from '../protocol/index.js';
import {
  backoffDelay,
  DEFAULT_BACKOFF,
  isRetryable,
  realSleep,
  type BackoffOptions,
  type JobUpdate,
  type Sleep,
  type UpdateReply,
} from '../server/index.js';

export const SEQ_HEADER = 'X-PanDA-Update-Seq';

export type UpdateKind = 'heartbeat' | 'state' | 'final';

export interface QueuedUpdate {
  seq: number;
  kind: UpdateKind;
  update: JobUpdate;
}

export type SendUpdate = (update: JobUpdate, headers: Record<string, string>, signal?: AbortSignal) => Promise<UpdateReply>;

export interface UpdateChannelOptions {
  pandaId: number;
  attemptNr: number;
  send: SendUpdate;
  log: Logger;
  /** Called for every acknowledged update, with the reply the server gave to that update. */
  onReply?: ((reply: UpdateReply, sent: QueuedUpdate) => void) | undefined;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
  /** How long the final update keeps trying (ms) before the caller must persist it. */
  finalDeadlineMs?: number | undefined;
  now?: (() => number) | undefined;
}

export interface FinalOutcome {
  acknowledged: boolean;
  reply?: UpdateReply | undefined;
  /** The update as it was built, for persisting when not acknowledged. */
  update: JobUpdate;
  seq: number;
  error?: string | undefined;
}

export class OrderedUpdateChannel {
  private readonly queue: QueuedUpdate[] = [];
  private seq = 0;
  private highestRank = -1;
  private finalMade = false;
  private closedByServer = false;
  private draining: Promise<void> | null = null;
  private readonly stop = new AbortController();
  private finalResult: FinalOutcome | null = null;

  constructor(private readonly opts: UpdateChannelOptions) {}

  /** The header value for sequence `n` of this job and attempt. */
  seqHeader(n: number): string {
    return `${this.opts.pandaId}:${this.opts.attemptNr}:${n}`;
  }

  /** True once the server said `alreadydone` or the final update was made. */
  get closed(): boolean {
    return this.closedByServer || this.finalMade;
  }

  /** Queues a heartbeat; a heartbeat still waiting to leave is replaced by this newer one. */
  heartbeat(state: PilotJobState, fields: Record<string, string | number>): void {
    if (this.closed || this.rankOf(state) < this.highestRank) return;
    const tail = this.queue.at(-1);
    const tailWaiting = tail && !(this.queue.length === 1 && this.draining);
    if (tail && tailWaiting && tail.kind === 'heartbeat') this.queue.pop();
    this.enqueue('heartbeat', state, fields);
  }

  /** Queues a state change (never coalesced away). A regression is refused and logged. */
  stateChange(state: PilotJobState, fields: Record<string, string | number>): boolean {
    if (this.closed) return false;
    if (this.rankOf(state) < this.highestRank) {
      this.opts.log.warn({ event: 'state_regression_refused', state }, `refusing to send ${state} after a later state`);
      return false;
    }
    this.enqueue('state', state, fields);
    return true;
  }

  /** Queues the final update and resolves when it was acknowledged or the deadline passed. */
  async final(state: 'finished' | 'failed', fields: Record<string, string | number>): Promise<FinalOutcome> {
    if (this.finalResult) return this.finalResult;
    const update: JobUpdate = { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields };
    if (this.closedByServer) {
      this.finalResult = { acknowledged: true, update, seq: this.seq, error: 'server said alreadydone before the final update' };
      return this.finalResult;
    }
    const item = this.enqueue('final', state, fields);
    this.finalMade = true;
    const deadline = this.opts.finalDeadlineMs ?? 20 * 60_000;
    const timer = setTimeout(() => this.stop.abort(new Error('final update deadline passed')), deadline);
    try {
      await this.flush();
    } finally {
      clearTimeout(timer);
    }
    this.finalResult ??= { acknowledged: false, update: item.update, seq: item.seq, error: String(this.stop.signal.reason ?? 'not delivered') };
    return this.finalResult;
  }

  /** Resolves when nothing is queued or in flight. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.stop.signal.aborted) {
      this.draining ??= this.drain().finally(() => {
        this.draining = null;
      });
      await this.draining;
    }
  }

  /** Abandons whatever is queued (pilot shutting down without a final update). */
  abort(reason: string): void {
    this.stop.abort(new Error(reason));
  }

  private rankOf(state: PilotJobState): number {
    return PILOT_STATE_RANK[state];
  }

  private enqueue(kind: UpdateKind, state: PilotJobState, fields: Record<string, string | number>): QueuedUpdate {
    this.seq += 1;
    this.highestRank = Math.max(this.highestRank, this.rankOf(state));
    const item: QueuedUpdate = { seq: this.seq, kind, update: { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields } };
    this.queue.push(item);
    if (!this.draining) {
      this.draining = this.drain().finally(() => {
        this.draining = null;
      });
      this.draining.catch(() => undefined);
    }
    return item;
  }

  private async drain(): Promise<void> {
    const sleep = this.opts.sleep ?? realSleep;
    while (this.queue.length > 0 && !this.stop.signal.aborted) {
      const head = this.queue[0] as QueuedUpdate;
      let attempt = 0;
      for (;;) {
        attempt += 1;
        try {
          const reply = await this.opts.send(head.update, { [SEQ_HEADER]: this.seqHeader(head.seq) }, this.stop.signal);
          this.queue.shift();
          this.acknowledge(head, reply);
          break;
        } catch (err) {
          if (this.stop.signal.aborted) return;
          const retryable = isRetryable(err);
          const newerWaiting = this.queue.length > 1;
          this.opts.log.warn(
            { event: 'update_failed', seq: head.seq, state: head.update.state, kind: head.kind, attempt, retryable, err: (err as Error).message },
            'job update not acknowledged',
          );
          if (!retryable || (head.kind === 'heartbeat' && newerWaiting && attempt >= 3)) {
            // An answer that is not a success will not change by resending; a stale heartbeat is superseded.
            this.queue.shift();
            if (head.kind === 'final') this.finalResult = { acknowledged: false, update: head.update, seq: head.seq, error: (err as Error).message };
            break;
          }
          try {
            await sleep(backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random), this.stop.signal);
          } catch {
            return;
          }
        }
      }
    }
  }

  private acknowledge(item: QueuedUpdate, reply: UpdateReply): void {
    if (item.kind === 'final' || isFinalPilotState(item.update.state)) {
      this.finalResult = { acknowledged: true, reply, update: item.update, seq: item.seq };
    }
    if (reply.command === 'alreadydone') {
      this.closedByServer = true;
      // Nothing after this can matter to the server; drop what is left except a final we owe a result for.
      const rest = this.queue.splice(0);
      const fin = rest.find((q) => q.kind === 'final');
      if (fin) this.finalResult = { acknowledged: true, reply, update: fin.update, seq: fin.seq, error: 'server said alreadydone' };
    }
    this.opts.onReply?.(reply, item);
  }
}
