/**
 * The naive way to send updates, kept only as the benchmark's baseline
 * (hidden flag `--naive-updates`): fire each update as it is made,
 * concurrently, and retry it a few times on error. It stamps the same
 * sequence headers, so the stub can count what it gets wrong. Not for use.
 */
import { SEQ_HEADER, type JobUpdate, type PilotJobState } from '../protocol/index.js';
import type { FinalOutcome, JobUpdateSender, QueuedUpdate, UpdateChannelOptions, UpdateKind } from './ordered-update-channel.js';
import { retry } from '../retry/index.js';

/** Tries per update, like a simple client with a retry loop. */
const NAIVE_ATTEMPTS = 3;

export class NaiveUpdateSender implements JobUpdateSender {
  private seq = 0;
  private finalMade = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly stop = new AbortController();

  constructor(private readonly opts: UpdateChannelOptions) {}

  get closed(): boolean {
    return this.finalMade;
  }

  seqHeader(n: number): string {
    return `${this.opts.pandaId}:${this.opts.attemptNr}:${n}`;
  }

  heartbeat(state: PilotJobState, fields: Record<string, string | number>): void {
    void this.fire('heartbeat', state, fields).catch(() => undefined);
  }

  stateChange(state: PilotJobState, fields: Record<string, string | number>): boolean {
    void this.fire('state', state, fields).catch(() => undefined);
    return true;
  }

  /** The baseline keeps nothing on disk (pilot3 does not). */
  persistProvisionalFinal(): void {}

  async final(state: 'finished' | 'failed', fields: Record<string, string | number>): Promise<FinalOutcome> {
    this.finalMade = true;
    const seq = this.seq + 1;
    try {
      const { reply, item } = await this.fire('final', state, fields);
      return { acknowledged: true, reply, update: item.update, seq };
    } catch (err) {
      const update: JobUpdate = { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields };
      return { acknowledged: false, update, seq, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  abort(reason: string): void {
    this.stop.abort(new Error(reason));
  }

  private async fire(kind: UpdateKind, state: PilotJobState, fields: Record<string, string | number>) {
    this.seq += 1;
    const item: QueuedUpdate = { seq: this.seq, kind, update: { jobId: this.opts.pandaId, state, attemptNr: this.opts.attemptNr, fields } };
    const headers = { [SEQ_HEADER]: this.seqHeader(item.seq) };
    const p = retry(() => this.opts.send(item.update, headers, this.stop.signal, kind), {
      signal: this.stop.signal,
      sleep: this.opts.sleep,
      backoff: this.opts.backoff,
      random: this.opts.random,
      maxAttempts: NAIVE_ATTEMPTS,
    });
    this.inFlight.add(p);
    try {
      const reply = await p;
      this.opts.onReply?.(reply, item);
      return { reply, item };
    } finally {
      this.inFlight.delete(p);
    }
  }
}
