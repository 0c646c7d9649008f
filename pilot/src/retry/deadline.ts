/**
 * The one cut-off of a stopping pilot. Once the pilot stops (a batch
 * system's signal, its lifetime), everything still to do — the payloads'
 * kill grace, range reports, the log's stage-out, the final update — must
 * fit before the batch system's SIGKILL. The signal path arms this deadline
 * (`--signal-grace` less a margin; a second signal tightens it to a few
 * seconds) and every one of those steps reads the same object: what is
 * left, and a signal that aborts when nothing is.
 */

/** What a step that must end in time reads: whether the pilot is stopping, how long is left, and when it is over. */
export interface Cutoff {
  /** Aborted when the deadline is armed (the pilot is stopping): retries turn into last tries. */
  readonly armed: AbortSignal;
  /** Aborted when the deadline passes: whatever is not done goes to disk. */
  readonly signal: AbortSignal;
  /** Milliseconds left (Infinity until armed, 0 once passed). */
  leftMs(): number;
}

export class Deadline implements Cutoff {
  private readonly arming = new AbortController();
  private readonly passing = new AbortController();
  private at: number | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get armed(): AbortSignal {
    return this.arming.signal;
  }

  get signal(): AbortSignal {
    return this.passing.signal;
  }

  leftMs(): number {
    if (this.passing.signal.aborted) return 0;
    return this.at === null ? Infinity : Math.max(0, this.at - this.now());
  }

  /** Sets the deadline `ms` from now, or keeps the one already set when that is sooner (it only ever tightens). */
  arm(ms: number, reason = 'the pilot must exit before the batch system kills it'): void {
    const at = this.now() + Math.max(0, ms);
    if (this.at !== null && this.at <= at) return;
    this.at = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.passing.abort(new Error(reason)), Math.max(0, ms));
    this.timer.unref();
    if (!this.arming.signal.aborted) this.arming.abort();
  }

  /** Drops the timer (the pilot is done). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** A cut-off that never arms: for runs with no batch system around them (tests, tools). */
export const NO_CUTOFF: Cutoff = {
  armed: new AbortController().signal,
  signal: new AbortController().signal,
  leftMs: () => Infinity,
};
