/**
 * The pilot's allocation as a pool: each running job reserves its coreCount
 * and minRamCount, a free slot asks the server only for what is left, and a
 * job that was sent but does not fit yet waits for running jobs to free room.
 * A figure the pilot does not know (null) is not accounted.
 */
import { Wakeup } from '../retry/index.js';

export interface Need {
  cores: number;
  memMB: number;
}

export interface Reservation {
  readonly need: Need;
  /** True when it was let in over the allocation (it could never fit, and nothing else ran). */
  readonly over: boolean;
}

export class ResourcePool {
  private usedCores = 0;
  private usedMem = 0;
  private running = 0;
  /** What each reservation still holds (less than its need once its job gave part back). */
  private readonly held = new WeakMap<Reservation, Need>();
  private readonly changed = new Wakeup();

  constructor(readonly total: { cores: number | null; memMB: number | null }) {}

  /** What a new job may still have (Infinity for a figure not accounted). */
  free(): Need {
    return {
      cores: this.total.cores === null ? Infinity : this.total.cores - this.usedCores,
      memMB: this.total.memMB === null ? Infinity : this.total.memMB - this.usedMem,
    };
  }

  /** Whether a slot should ask at all: at least a core and some memory are free. */
  canAsk(): boolean {
    const f = this.free();
    return f.cores >= 1 && f.memMB > 0;
  }

  fits(need: Need): boolean {
    const f = this.free();
    return need.cores <= f.cores && need.memMB <= f.memMB;
  }

  /** Jobs holding a reservation. */
  get jobs(): number {
    return this.running;
  }

  /**
   * Reserves `need` once it fits. A job larger than the whole allocation is
   * let in when nothing else runs (never dropped: the server sent it to us).
   * Resolves null when `signal` aborts first.
   */
  async reserve(need: Need, signal: AbortSignal): Promise<Reservation | null> {
    while (!signal.aborted) {
      const fits = this.fits(need);
      if (fits || this.running === 0) {
        this.usedCores += need.cores;
        this.usedMem += need.memMB;
        this.running += 1;
        const r = { need, over: !fits };
        this.held.set(r, { ...need });
        return r;
      }
      await this.changedOr(signal);
    }
    return null;
  }

  release(r: Reservation): void {
    const held = this.held.get(r) ?? r.need;
    this.held.delete(r);
    this.usedCores -= held.cores;
    this.usedMem -= held.memMB;
    this.running -= 1;
    this.changed.wake();
  }

  /**
   * The job of `r` now uses only `share` (0..1) of its need (an event-service
   * job whose last ranges run): the rest is free for the next job. Only ever
   * shrinks; `release` frees what is left.
   */
  holdOnly(r: Reservation, share: number): void {
    const held = this.held.get(r);
    if (!held) return;
    const s = Math.min(1, Math.max(0, share));
    const cores = Math.min(held.cores, Math.ceil(r.need.cores * s));
    const memMB = Math.min(held.memMB, Math.ceil(r.need.memMB * s));
    if (cores === held.cores && memMB === held.memMB) return;
    this.usedCores -= held.cores - cores;
    this.usedMem -= held.memMB - memMB;
    this.held.set(r, { cores, memMB });
    this.changed.wake();
  }

  /** Resolves at the next release (or when `signal` aborts). */
  changedOr(signal: AbortSignal): Promise<void> {
    const woke = this.changed.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        woke.removeEventListener('abort', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      woke.addEventListener('abort', done, { once: true });
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
