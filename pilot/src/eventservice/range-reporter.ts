/**
 * Range results reach the server in bulk (updateEventRanges version 0):
 * reports leave in the order they were made, one request in flight; a
 * range's pending `running` is replaced by its final report (coalescing);
 * a batch goes when it is full, when the oldest report has waited long
 * enough, at once for a failure (so its retry is offered while other ranges
 * still run), or on flush; a batch that did not get through is retried with
 * backoff until the flush deadline. What could not be delivered is kept for
 * the job's outcome and log, never silently dropped.
 */
import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_BACKOFF, isRetryable, pause, Wakeup, type BackoffOptions, type Sleep } from '../retry/index.js';
import type { RangeReport, RangeReportReply } from '../server/index.js';

export interface RangeReporterOptions {
  pandaId: number;
  send: (reports: RangeReport[], signal: AbortSignal) => Promise<RangeReportReply>;
  log: Logger;
  /** Send when this many reports are pending. */
  maxBatch: number;
  /** …or when the oldest pending report has waited this long (ms). */
  maxDelayMs: number;
  onCommand?: ((command: string) => void) | undefined;
  /** Every final report's fate: true taken, false refused or undeliverable. */
  onFinal?: ((report: RangeReport, delivered: boolean) => void) | undefined;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
}

const isFinal = (r: RangeReport) => r.eventStatus !== 'running';
const isUrgent = (r: RangeReport) => r.eventStatus === 'failed' || r.eventStatus === 'fatal';

/** Adds `next` to `pending`: a range's running report is replaced by its final one; anything after a final is ignored. */
export function coalesce(pending: RangeReport[], next: RangeReport): void {
  const i = pending.findIndex((p) => p.eventRangeID === next.eventRangeID);
  if (i < 0) pending.push(next);
  else if (!isFinal(pending[i] as RangeReport)) pending[i] = next;
}

export class RangeReporter {
  private readonly pending: RangeReport[] = [];
  private oldestAt = 0;
  private flushing = false;
  private closed = false;
  private loopDone: Promise<void> | null = null;
  private readonly wakeup = new Wakeup();
  private readonly stop = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  /** Failures the server took: each may have made a retry of its range ready. */
  failuresTaken = 0;
  /** Bulk requests sent (including retries). */
  requests = 0;
  /** Final reports the server refused or never got. */
  readonly undelivered: RangeReport[] = [];

  constructor(private readonly opts: RangeReporterOptions) {}

  /** Queues a report; never blocks. */
  report(r: RangeReport): void {
    if (this.closed) {
      if (isFinal(r)) this.undeliverable([r], 'reporter closed');
      return;
    }
    if (this.pending.length === 0) this.oldestAt = Date.now();
    coalesce(this.pending, r);
    this.loopDone ??= this.loop();
    this.wakeup.wake();
  }

  /** Sends everything pending; resolves when nothing is pending or in flight, or after `deadlineMs` (then the rest is kept as undelivered). */
  async flush(deadlineMs: number): Promise<void> {
    this.flushing = true;
    const timer = setTimeout(() => this.stop.abort(new Error('range report deadline passed')), deadlineMs);
    try {
      if (this.pending.length === 0 && this.inFlight === 0) return;
      this.loopDone ??= this.loop();
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      this.wakeup.wake();
      await Promise.race([idle, new Promise<void>((resolve) => this.stop.signal.addEventListener('abort', () => resolve(), { once: true }))]);
    } finally {
      clearTimeout(timer);
      this.flushing = false;
    }
    if (this.stop.signal.aborted) this.close();
  }

  /** Stops the reporter; whatever is still pending is kept as undelivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort(new Error('reporter closed'));
    this.wakeup.wake();
    this.undeliverable(this.pending.splice(0).filter(isFinal), 'not sent before the job ended');
  }

  private due(): boolean {
    return (
      this.flushing ||
      this.pending.length >= this.opts.maxBatch ||
      this.pending.some(isUrgent) ||
      Date.now() - this.oldestAt >= this.opts.maxDelayMs
    );
  }

  private async loop(): Promise<void> {
    const sleep = this.opts.sleep ?? pause;
    while (!this.stop.signal.aborted) {
      if (this.pending.length === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
        await sleep(60_000, AbortSignal.any([this.wakeup.signal, this.stop.signal])).catch(() => undefined);
        continue;
      }
      if (!this.due()) {
        const wait = Math.max(1, this.oldestAt + this.opts.maxDelayMs - Date.now());
        await sleep(wait, AbortSignal.any([this.wakeup.signal, this.stop.signal])).catch(() => undefined);
        continue;
      }
      const batch = this.pending.splice(0, this.opts.maxBatch);
      if (this.pending.length > 0) this.oldestAt = Date.now();
      this.inFlight += 1;
      try {
        await this.send(batch, sleep);
      } finally {
        this.inFlight -= 1;
      }
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private async send(batch: RangeReport[], sleep: Sleep): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.requests += 1;
        const reply = await this.opts.send(batch, this.stop.signal);
        this.answer(batch, reply);
        return;
      } catch (err) {
        const retryable = isRetryable(err) && !this.stop.signal.aborted;
        this.opts.log.warn(
          { event: 'range_report_failed', ranges: batch.length, attempt, retryable, err: (err as Error).message },
          'event range report not acknowledged',
        );
        if (!retryable) return this.undeliverable(batch.filter(isFinal), (err as Error).message);
        await sleep(backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF, this.opts.random), this.stop.signal).catch(() => undefined);
        if (this.stop.signal.aborted) {
          return this.undeliverable(batch.filter(isFinal), String((this.stop.signal.reason as Error)?.message ?? 'stopped'));
        }
      }
    }
  }

  private answer(batch: RangeReport[], reply: RangeReportReply): void {
    batch.forEach((r, i) => {
      const taken = reply.returns[i];
      if (!isFinal(r)) return;
      if (taken === false) {
        this.opts.log.warn({ event: 'range_report_refused', eventRangeID: r.eventRangeID, status: r.eventStatus }, 'server refused a range report');
        this.undeliverable([r], 'refused by the server');
        return;
      }
      if (r.eventStatus === 'failed') this.failuresTaken += 1;
      this.opts.onFinal?.(r, true);
    });
    const command = reply.commands[String(this.opts.pandaId)];
    if (command) this.opts.onCommand?.(command);
  }

  private undeliverable(reports: RangeReport[], why: string): void {
    if (reports.length === 0) return;
    this.opts.log.error({ event: 'range_reports_undelivered', ranges: reports.map((r) => r.eventRangeID), why }, 'range reports could not be delivered');
    for (const r of reports) {
      this.undelivered.push(r);
      this.opts.onFinal?.(r, false);
    }
  }
}
