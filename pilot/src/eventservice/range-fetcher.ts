/**
 * Keeps ranges ready before cores need them: one getEventRanges in flight at
 * a time, started as soon as fewer ranges are buffered than cores could take,
 * asking for a batch sized to how long ranges take (pilot3 asks for enough
 * for ten minutes). An empty reply means the job's ranges are exhausted: a
 * real server never offers a failed range again within the same job (its
 * retry goes to another job of the task), so nothing reopens the fetcher.
 */
import type { Logger } from 'pino';
import { retry, type BackoffOptions, type Sleep } from '../retry/index.js';
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

  /** Starts a request when fewer than `lowWater` ranges are buffered. */
  pump(lowWater: number, nRanges: number): void {
    if (this.busy || this.exhausted || this.opts.signal.aborted || this.buffer.length >= lowWater) return;
    this.busy = true;
    void this.fetchOnce(nRanges).finally(() => {
      this.busy = false;
      this.opts.onChange();
    });
  }

  private async fetchOnce(nRanges: number): Promise<void> {
    let items: unknown[];
    try {
      items = await retry(
        () => {
          this.requests += 1;
          return this.opts.fetch(nRanges, this.opts.signal);
        },
        {
          signal: this.opts.signal,
          maxAttempts: this.opts.maxAttempts ?? 10,
          backoff: this.opts.backoff,
          sleep: this.opts.sleep,
          onFailure: (err, attempt, retryable) =>
            this.opts.log.warn({ event: 'get_event_ranges_failed', attempt, retryable, err: (err as Error).message }, 'getEventRanges failed'),
        },
      );
    } catch (err) {
      if (this.opts.signal.aborted) return;
      this.exhausted = true;
      this.error = `getEventRanges failed: ${(err as Error).message}`;
      return;
    }
    if (items.length === 0) {
      this.exhausted = true;
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
  }
}
