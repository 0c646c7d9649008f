/**
 * Range results reach the server in bulk (updateEventRanges version 0):
 * reports leave in the order they were made, one request in flight; a
 * range's pending `running` is replaced by its final report (coalescing);
 * a batch goes when it is full, when the oldest report has waited long
 * enough, or on flush. A batch that got no answer is retried with backoff a
 * bounded number of times (a server that answers 5xx to every report, as
 * the v1 API of PanDA 1.0.3 does, must not hold the job for the final
 * deadline; after one batch was given up, later ones get a single try until
 * one goes through), then given up: its final reports are kept for the job's
 * outcome and written to disk by the executor, never silently dropped.
 * `hurry()` (the pilot was signalled) ends every retry pause at once.
 */
import type { Logger } from 'pino';
import { isRetryable, pause, retry, Wakeup, type BackoffOptions, type Sleep } from '../retry/index.js';
import type { RangeReport, RangeReportReply } from '../protocol/index.js';

/** What became of a final report: taken, refused by the server (an answer), or never answered (kept). */
export type ReportFate = 'taken' | 'refused' | 'undelivered';

export interface RangeReporterOptions {
  pandaId: number;
  send: (reports: RangeReport[], signal: AbortSignal) => Promise<RangeReportReply>;
  log: Logger;
  /** Send when this many reports are pending. */
  maxBatch: number;
  /** …or when the oldest pending report has waited this long (ms). */
  maxDelayMs: number;
  /** Tries per batch before its reports are kept as undelivered (default 5). */
  maxAttempts?: number | undefined;
  onCommand?: ((command: string) => void) | undefined;
  /** Every final report's fate. */
  onFinal?: ((report: RangeReport, fate: ReportFate) => void) | undefined;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  random?: (() => number) | undefined;
}

const isFinal = (r: RangeReport) => r.eventStatus !== 'running';

/** Adds `next` to `pending`: a range's running report is replaced by its final one; anything after a final is ignored. */
export function coalesce(pending: RangeReport[], next: RangeReport): void {
  const i = pending.findIndex((p) => p.eventRangeID === next.eventRangeID);
  if (i < 0) pending.push(next);
  else if (!isFinal(pending[i] as RangeReport)) pending[i] = next;
}

/** Waits `ms` with the injected sleep; resolves early (never rejects) when `signal` aborts. */
function wait(sleep: Sleep, ms: number, signal: AbortSignal): Promise<unknown> {
  return sleep(ms, signal).catch(() => undefined);
}

export class RangeReporter {
  private readonly pending: RangeReport[] = [];
  private oldestAt = 0;
  private flushing = false;
  private closed = false;
  private hurried = false;
  /** When hurry() gives up on what is not answered (ms since epoch); null until hurried. */
  private hurryUntil: number | null = null;
  private hurryTimer: NodeJS.Timeout | undefined;
  /** The last batch was given up after every attempt went unanswered: the next ones get a single try. */
  private serverAway = false;
  private oddityLogged = false;
  private loopDone: Promise<void> | null = null;
  private readonly wakeup = new Wakeup();
  private readonly stop = new AbortController();
  /** Aborted by hurry(): ends a retry pause now. */
  private readonly haste = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private inFlight = 0;
  /** Bulk requests sent (including retries). */
  requests = 0;
  /** Final reports the server never answered (kept on disk by the executor). */
  readonly undelivered: RangeReport[] = [];
  /** Final reports the server answered with false. */
  readonly refused: RangeReport[] = [];

  constructor(private readonly opts: RangeReporterOptions) {}

  /** Queues a report; never blocks. */
  report(r: RangeReport): void {
    if (this.closed || this.stop.signal.aborted) {
      if (isFinal(r)) this.keep([r], 'reporter closed');
      return;
    }
    if (this.pending.length === 0) this.oldestAt = Date.now();
    coalesce(this.pending, r);
    this.loopDone ??= this.loop();
    this.wakeup.wake();
  }

  /** Sends everything pending; resolves when nothing is pending or in flight, or after `deadlineMs` (then the rest is kept as undelivered). */
  async flush(deadlineMs: number): Promise<void> {
    if (this.stop.signal.aborted) return this.close();
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

  /**
   * The pilot is stopping: a failed attempt is no longer retried, a retry
   * pause ends now, and whatever is not answered within `graceMs` is kept.
   * Called again with less time (a second signal), the sooner end wins.
   */
  hurry(graceMs: number): void {
    if (this.closed) return;
    const until = Date.now() + graceMs;
    if (this.hurryUntil !== null && this.hurryUntil <= until) return;
    this.hurryUntil = until;
    if (!this.hurried) {
      this.hurried = true;
      this.haste.abort();
      this.flushing = true; // what is pending goes now, not after the batching delay
      this.wakeup.wake();
    }
    clearTimeout(this.hurryTimer);
    this.hurryTimer = setTimeout(
      () => this.stop.abort(new Error('pilot stopping: range reports not answered within their share of the signal grace')),
      Math.max(0, graceMs),
    );
    this.hurryTimer.unref();
  }

  /** Stops the reporter; whatever is still pending is kept as undelivered. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.hurryTimer);
    this.stop.abort(new Error('reporter closed'));
    this.wakeup.wake();
    this.keep(this.pending.splice(0).filter(isFinal), 'not sent before the job ended');
  }

  private due(): boolean {
    return this.flushing || this.pending.length >= this.opts.maxBatch || Date.now() - this.oldestAt >= this.opts.maxDelayMs;
  }

  private async loop(): Promise<void> {
    const sleep = this.opts.sleep ?? pause;
    while (!this.stop.signal.aborted) {
      if (this.pending.length === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
        await wait(sleep, 60_000, AbortSignal.any([this.wakeup.signal, this.stop.signal]));
        continue;
      }
      if (!this.due()) {
        const delay = Math.max(1, this.oldestAt + this.opts.maxDelayMs - Date.now());
        await wait(sleep, delay, AbortSignal.any([this.wakeup.signal, this.stop.signal]));
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
    let reply: RangeReportReply;
    try {
      reply = await retry(
        () => {
          this.requests += 1;
          return this.opts.send(batch, this.stop.signal);
        },
        {
          signal: this.stop.signal,
          // Once the pilot is stopping, a failed attempt is final.
          retryable: (err) => isRetryable(err) && !this.hurried,
          // A server that answered 5xx to a whole batch's retries (v1 on 1.0.3 always does) gets one
          // try per later batch until one goes through: the job does not wait the backoff out again.
          maxAttempts: this.serverAway ? 1 : (this.opts.maxAttempts ?? 5),
          backoff: this.opts.backoff,
          random: this.opts.random,
          // hurry() ends a pause between attempts at once.
          sleep: (ms, signal) => wait(sleep, ms, signal ? AbortSignal.any([signal, this.haste.signal]) : this.haste.signal),
          onFailure: (err, attempt, retryable) =>
            this.opts.log.warn(
              { event: 'range_report_failed', ranges: batch.length, attempt, retryable, err: errorText(err) },
              'event range report not acknowledged',
            ),
        },
      );
    } catch (err) {
      if (isRetryable(err)) this.serverAway = true;
      return this.keep(batch.filter(isFinal), errorText(err));
    }
    this.serverAway = false;
    this.answer(batch, reply);
  }

  private answer(batch: RangeReport[], reply: RangeReportReply): void {
    if (reply.oddity && !this.oddityLogged) {
      // Once per job: a server with this bug answers every report the same way.
      this.oddityLogged = true;
      this.opts.log.warn(
        { event: 'range_report_reply_odd', note: reply.oddity.note, returns: reply.oddity.returns, reports: batch.length },
        'server answered a range report with an odd Returns list; read as far as it goes',
      );
    }
    batch.forEach((r, i) => {
      if (!isFinal(r)) return;
      if (reply.returns[i] === false) {
        this.opts.log.warn({ event: 'range_report_refused', eventRangeID: r.eventRangeID, status: r.eventStatus }, 'server refused a range report');
        this.refused.push(r);
        this.opts.onFinal?.(r, 'refused');
        return;
      }
      this.opts.onFinal?.(r, 'taken');
    });
    const command = reply.commands[String(this.opts.pandaId)];
    if (command) this.opts.onCommand?.(command);
  }

  private keep(reports: RangeReport[], why: string): void {
    if (reports.length === 0) return;
    this.opts.log.error({ event: 'range_reports_undelivered', ranges: reports.map((r) => r.eventRangeID), why }, 'range reports could not be delivered');
    for (const r of reports) {
      this.undelivered.push(r);
      this.opts.onFinal?.(r, 'undelivered');
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
