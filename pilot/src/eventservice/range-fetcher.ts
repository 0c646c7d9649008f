/**
 * Keeps ranges ready before cores need them: one getEventRanges in flight at
 * a time, started as soon as fewer ranges are buffered than cores could take,
 * asking for a batch sized to how long ranges take (pilot3 asks for enough
 * for ten minutes). An empty reply means the job's ranges are exhausted; the
 * executor may reopen the fetcher when a reported failure made a retry ready.
 */
import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_BACKOFF, isRetryable, pause, type BackoffOptions, type Sleep } from '../retry/index.js';
import { parseEventRange, type EventRange, type ParsedRange } from './event-range.js';

export interface RangeFetcherOptions {
  fetch: (nRanges: number, signal: AbortSignal) => Promise<unknown[]>;
  log: Logger;
  /** Told whenever ranges arrive, run out, or fetching fails. */
  onChange: () => void;
  signal: AbortSignal;
  sleep?: Sleep | undefined;
  backoff?: BackoffOptions | undefined;
  /** Give up after this many failed attempts in a row. */
  maxAttempts?: number | undefined;
}

/**
 * Ranges to ask for: enough for about ten minutes of work on `cores` cores,
 * at least two per core and at most 50 per core. Before any range has run,
 * ten per core.
 */
export function batchSize(cores: number, longestRangeSec: number | null): number {
  const perCore = longestRangeSec === null ? 10 : Math.min(50, Math.max(2, Math.floor(600 / Math.max(longestRangeSec, 0.001))));
  return Math.max(1, cores) * perCore;
}

export class RangeFetcher {
  private readonly buffer: EventRange[] = [];
  private busy = false;
  exhausted = false;
  /** Why fetching stopped early, when it did. */
  error: string | null = null;
  /** Ranges received (valid ones). */
  received = 0;
  /** Requests made, including retries. */
  requests = 0;
  /** Items that were not usable ranges. */
  readonly invalid: Extract<ParsedRange, { ok: false }>[] = [];
  /** The caller's marker at the time of the request that came back empty. */
  markerAtExhaustion = 0;

  constructor(private readonly opts: RangeFetcherOptions) {}

  get buffered(): number {
    return this.buffer.length;
  }

  get inFlight(): boolean {
    return this.busy;
  }

  take(): EventRange | undefined {
    return this.buffer.shift();
  }

  /** Everything buffered, taken at once (ranges that will not be run). */
  drain(): EventRange[] {
    return this.buffer.splice(0);
  }

  /** Lets the next `pump` ask again after an empty reply. */
  reopen(): void {
    if (this.error === null) this.exhausted = false;
  }

  /** Starts a request when fewer than `lowWater` ranges are buffered; `marker` is remembered if the reply is empty. */
  pump(lowWater: number, nRanges: number, marker: number): void {
    if (this.busy || this.exhausted || this.opts.signal.aborted || this.buffer.length >= lowWater) return;
    this.busy = true;
    void this.fetchOnce(nRanges, marker).finally(() => {
      this.busy = false;
      this.opts.onChange();
    });
  }

  private async fetchOnce(nRanges: number, marker: number): Promise<void> {
    const sleep = this.opts.sleep ?? pause;
    const maxAttempts = this.opts.maxAttempts ?? 10;
    for (let attempt = 1; ; attempt++) {
      try {
        this.requests += 1;
        const items = await this.opts.fetch(nRanges, this.opts.signal);
        if (items.length === 0) {
          this.exhausted = true;
          this.markerAtExhaustion = marker;
          return;
        }
        for (const item of items) {
          const parsed = parseEventRange(item);
          if (parsed.ok) {
            this.buffer.push(parsed.range);
            this.received += 1;
          } else {
            this.opts.log.error({ event: 'bad_event_range', eventRangeID: parsed.eventRangeID, error: parsed.error }, 'server sent an unusable event range');
            this.invalid.push(parsed);
          }
        }
        return;
      } catch (err) {
        if (this.opts.signal.aborted) return;
        const retryable = isRetryable(err) && attempt < maxAttempts;
        this.opts.log.warn({ event: 'get_event_ranges_failed', attempt, retryable, err: (err as Error).message }, 'getEventRanges failed');
        if (!retryable) {
          this.exhausted = true;
          this.error = `getEventRanges failed: ${(err as Error).message}`;
          return;
        }
        await sleep(backoffDelay(attempt, this.opts.backoff ?? DEFAULT_BACKOFF), this.opts.signal).catch(() => undefined);
        if (this.opts.signal.aborted) return;
      }
    }
  }
}
