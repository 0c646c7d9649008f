/**
 * When the next heartbeat is due. Each job has its own schedule with ±10 %
 * jitter, so pilots started together do not beat together; with bulk
 * heartbeats the jobs of one pilot share a grid instead, so their beats fall
 * together and leave as one request. The server's `debug` command shortens
 * the interval at once, not after the current (possibly 30 min) wait.
 */
export interface HeartbeatScheduleOptions {
  intervalMs: number;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  /** Align beats to `origin + k·interval` (bulk mode) instead of jittering each job. */
  gridOriginMs?: number | undefined;
}

export class HeartbeatSchedule {
  private intervalMs: number;
  private nextAt: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: HeartbeatScheduleOptions) {
    this.intervalMs = opts.intervalMs;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.nextAt = this.after(this.now());
  }

  /** Milliseconds until the next beat (0 when due). */
  msUntilDue(): number {
    return Math.max(0, this.nextAt - this.now());
  }

  get interval(): number {
    return this.intervalMs;
  }

  /** Call when a beat was made: schedules the one after it. */
  beaten(): void {
    this.nextAt = this.after(this.now());
  }

  /** Changes the interval; when the new one makes a beat due sooner, the sooner time wins. */
  setInterval(ms: number): void {
    if (ms === this.intervalMs) return;
    this.intervalMs = ms;
    this.nextAt = Math.min(this.nextAt, this.after(this.now()));
  }

  private after(t: number): number {
    const origin = this.opts.gridOriginMs;
    if (origin !== undefined) return origin + (Math.floor((t - origin) / this.intervalMs) + 1) * this.intervalMs;
    return t + Math.round(this.intervalMs * (0.9 + this.random() * 0.2));
  }
}
