/**
 * The one way a job's status reaches the server. Updates leave in the order
 * they were made, one at a time, each stamped with a sequence when made. An
 * update that went out is resent, same sequence, until the server answers,
 * before anything newer leaves: a copy that arrives late is then an exact
 * duplicate, never an overtaken one. A heartbeat still waiting is replaced by
 * any newer update; a state change never is; a state never regresses;
 * nothing follows the final update, which is retried until the server
 * acknowledges it or the deadline passes.
 */
import type { Logger } from 'pino';
import { isFinalPilotState, PILOT_STATE_RANK, SEQ_HEADER, type JobUpdate, type PilotJobState, type UpdateReply } from '../protocol/index.js';
import { retry, type BackoffOptions, type Sleep } from '../retry/index.js';

export { SEQ_HEADER };

export type UpdateKind = 'heartbeat' | 'state' | 'final';

export interface QueuedUpdate {
  seq: number;
  kind: UpdateKind;
  update: JobUpdate;
}

/** Sends one update with its headers; `kind` lets a caller route heartbeats differently (bulk). */
export type SendUpdate = (update: JobUpdate, headers: Record<string, string>, signal: AbortSignal | undefined, kind: UpdateKind) => Promise<UpdateReply>;

export interface UpdateChannelOptions {
  pandaId: number;
  attemptNr: number;
  send: SendUpdate;
  log: Logger;
  /** Called for every answered update, with the reply the server gave to that update. */
  onReply?: ((reply: UpdateReply, sent: QueuedUpdate) => void) | undefined;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
  /** How long the final update keeps trying (ms) before the caller must persist it. */
  finalDeadlineMs?: number | undefined;
  /** Aborted when the final update must stop trying now, deadline or not (the batch system's kill is near). */
  finalCutoff?: AbortSignal | undefined;
  /**
   * Called with the final update and its sequence header before it is first
   * sent, so a SIGKILL at any moment after leaves it on disk (crash-safe final).
   */
  persistFinal?: ((update: JobUpdate, seqHeader: string) => void) | undefined;
}

export interface FinalOutcome {
  acknowledged: boolean;
  reply?: UpdateReply | undefined;
  /** The update as it was built, for persisting when not acknowledged. */
  update: JobUpdate;
  seq: number;
  error?: string | undefined;
}

/** What a job runner needs from whatever sends its updates (the ordered channel; the bench's naive sender). */
export interface JobUpdateSender {
  readonly closed: boolean;
  seqHeader(n: number): string;
  heartbeat(state: PilotJobState, fields: Record<string, string | number>): void;
  stateChange(state: PilotJobState, fields: Record<string, string | number>): boolean;
  /**
   * Writes the final update to disk as it would be sent now, without sending
   * it: the payload's outcome is known, and what follows (log tarball,
   * stage-out) may be cut short by a SIGKILL. Nothing but the final is made
   * after it, so its sequence number holds; `final()` then replaces it.
   */
  persistProvisionalFinal(state: 'finished' | 'failed', fields: Record<string, string | number>): void;
  final(state: 'finished' | 'failed', fields: Record<string, string | number>): Promise<FinalOutcome>;
  flush(): Promise<void>;
  abort(reason: string): void;
}

export class OrderedUpdateChannel implements JobUpdateSender {
  /** Made but not yet sent. */
  private readonly waiting: QueuedUpdate[] = [];
  /** Sent at least once and not yet answered: it owns the wire until answered. */
  private inFlight: QueuedUpdate | null = null;
  private seq = 0;
  private highestRank = -1;
  private finalMade = false;
  /** A provisional final is on disk under the next sequence number: nothing else may take that number. */
  private finalReserved = false;
  private closedByServer = false;
  private draining: Promise<void> | null = null;
  private readonly stop = new AbortController();
  private finalResult: FinalOutcome | null = null;

  constructor(private readonly opts: UpdateChannelOptions) {}

  /** The header value for sequence `n` of this job and attempt. */
  seqHeader(n: number): string {
    return `${this.opts.pandaId}:${this.opts.attemptNr}:${n}`;
  }

  /** True once the server said `alreadydone` or the final update was made (or reserved on disk). */
  get closed(): boolean {
    return this.closedByServer || this.finalMade || this.finalReserved;
  }

  /** Updates made and not yet answered (for tests and logs). */
  get pending(): number {
    return this.waiting.length + (this.inFlight ? 1 : 0);
  }

  /** Queues a heartbeat, replacing one still waiting. Ignored after the final update or when it would regress. */
  heartbeat(state: PilotJobState, fields: Record<string, string | number>): void {
    if (this.closed || PILOT_STATE_RANK[state] < this.highestRank) return;
    this.enqueue('heartbeat', state, fields);
  }

  /** Queues a state change (never coalesced away). A regression is refused and logged. */
  stateChange(state: PilotJobState, fields: Record<string, string | number>): boolean {
    if (this.closed) return false;
    if (PILOT_STATE_RANK[state] < this.highestRank) {
      this.opts.log.warn({ event: 'state_regression_refused', state }, `refusing to send ${state} after a later state`);
      return false;
    }
    this.enqueue('state', state, fields);
    return true;
  }

  persistProvisionalFinal(state: 'finished' | 'failed', fields: Record<string, string | number>): void {
    if (this.closed) return;
    this.finalReserved = true;
    this.opts.persistFinal?.({ jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields }, this.seqHeader(this.seq + 1));
  }

  /** Queues the final update and resolves when it was acknowledged or the deadline passed. */
  async final(state: 'finished' | 'failed', fields: Record<string, string | number>): Promise<FinalOutcome> {
    if (this.finalResult) return this.finalResult;
    const update: JobUpdate = { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields };
    if (this.closedByServer) {
      this.finalResult = { acknowledged: true, update, seq: this.seq, error: 'server said alreadydone before the final update' };
      return this.finalResult;
    }
    // enqueue numbers it this.seq + 1 and may send it at once: it goes to disk first.
    this.opts.persistFinal?.(update, this.seqHeader(this.seq + 1));
    const item = this.enqueue('final', state, fields);
    this.finalMade = true;
    const deadline = this.opts.finalDeadlineMs ?? 20 * 60_000;
    const timer = setTimeout(() => this.stop.abort(new Error(`final update not acknowledged within ${Math.round(deadline / 1000)} s`)), deadline);
    const cutoff = this.opts.finalCutoff;
    const onCutoff = () =>
      this.stop.abort(new Error('pilot stopping: final update not acknowledged within the signal grace (the batch system kills the pilot next)'));
    if (cutoff?.aborted) onCutoff();
    cutoff?.addEventListener('abort', onCutoff, { once: true });
    try {
      await this.flush();
    } finally {
      clearTimeout(timer);
      cutoff?.removeEventListener('abort', onCutoff);
    }
    this.finalResult ??= { acknowledged: false, update: item.update, seq: item.seq, error: errorText(this.stop.signal.reason) };
    return this.finalResult;
  }

  /** Resolves when nothing is waiting or in flight (or the channel was stopped). */
  async flush(): Promise<void> {
    while (this.pending > 0 && !this.stop.signal.aborted) {
      this.startDrain();
      await this.draining;
    }
  }

  /** Abandons whatever is queued (pilot shutting down without a final update). */
  abort(reason: string): void {
    this.stop.abort(new Error(reason));
  }

  private enqueue(kind: UpdateKind, state: PilotJobState, fields: Record<string, string | number>): QueuedUpdate {
    // Any newer update supersedes a heartbeat that has not left yet; what has left is never taken back.
    const tail = this.waiting.at(-1);
    if (tail?.kind === 'heartbeat') this.waiting.pop();
    this.seq += 1;
    this.highestRank = Math.max(this.highestRank, PILOT_STATE_RANK[state]);
    const item: QueuedUpdate = { seq: this.seq, kind, update: { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields } };
    this.waiting.push(item);
    this.startDrain();
    return item;
  }

  private startDrain(): void {
    if (this.draining) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      // Something made in the instant between the loop's last look and now must not wait for the next update.
      if (this.waiting.length > 0 && !this.stop.signal.aborted) this.startDrain();
    });
    this.draining.catch(() => undefined);
  }

  private async drain(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const head = this.waiting.shift();
      if (!head) return;
      this.inFlight = head;
      try {
        const headers = { [SEQ_HEADER]: this.seqHeader(head.seq) };
        const reply = await retry(() => this.opts.send(head.update, headers, this.stop.signal, head.kind), {
          signal: this.stop.signal,
          sleep: this.opts.sleep,
          backoff: this.opts.backoff,
          random: this.opts.random,
          onFailure: (err, attempt, willRetry) =>
            this.opts.log.warn(
              { event: 'update_failed', seq: head.seq, state: head.update.state, kind: head.kind, attempt, willRetry, err: errorText(err) },
              willRetry ? 'job update not answered; resending the same update' : 'job update refused',
            ),
        });
        this.acknowledge(head, reply);
      } catch (err) {
        if (this.stop.signal.aborted) return;
        // Not retryable: the server answered, and resending will not change that answer.
        if (head.kind === 'final') this.finalResult = { acknowledged: false, update: head.update, seq: head.seq, error: errorText(err) };
      } finally {
        this.inFlight = null;
      }
    }
  }

  private acknowledge(item: QueuedUpdate, reply: UpdateReply): void {
    if (reply.statusCode !== 0) {
      this.opts.log.warn(
        { event: 'update_status', seq: item.seq, statusCode: reply.statusCode, raw: reply.raw },
        'server answered the update with a non-zero StatusCode',
      );
    }
    if (item.kind === 'final' || isFinalPilotState(item.update.state)) {
      this.finalResult = { acknowledged: true, reply, update: item.update, seq: item.seq };
    }
    if (reply.command === 'alreadydone') {
      this.closedByServer = true;
      // Nothing after this can matter to the server; drop what is left except a final we owe a result for.
      const rest = this.waiting.splice(0);
      const fin = rest.find((q) => q.kind === 'final');
      if (fin) this.finalResult = { acknowledged: true, reply, update: fin.update, seq: fin.seq, error: 'server said alreadydone' };
    }
    this.opts.onReply?.(reply, item);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err ?? 'not delivered');
}
