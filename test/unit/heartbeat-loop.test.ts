import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatSchedule, runHeartbeats } from '../../pilot/src/report/index.js';
import { Wakeup } from '../../pilot/src/retry/index.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A schedule without jitter (random 0.5 → exactly the interval) on the fake clock. */
const schedule = (intervalMs: number) => new HeartbeatSchedule({ intervalMs, random: () => 0.5 });

describe('runHeartbeats', () => {
  it('beats on the schedule and stops when the payload ends, leaving no timer', async () => {
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const beats: number[] = [];
    const loop = runHeartbeats(ended, { schedule: schedule(10_000), wakeup: new Wakeup(), beat: () => beats.push(Date.now()) });
    await vi.advanceTimersByTimeAsync(35_000);
    end();
    await loop;
    expect(beats).toEqual([10_000, 20_000, 30_000]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a debug command (shorter interval + wake) beats at the new time, not after the old wait', async () => {
    let end!: () => void;
    const ended = new Promise<void>((r) => (end = r));
    const beats: number[] = [];
    const s = schedule(30 * 60_000);
    const wakeup = new Wakeup();
    const loop = runHeartbeats(ended, { schedule: s, wakeup, beat: () => beats.push(Date.now()) });
    await vi.advanceTimersByTimeAsync(12_000);
    s.setInterval(60_000);
    wakeup.wake();
    await vi.advanceTimersByTimeAsync(130_000);
    end();
    await loop;
    expect(beats).toEqual([72_000, 132_000]);
  });

  it('ends at once when the payload failed (a rejected end), without a beat', async () => {
    const beats: number[] = [];
    await runHeartbeats(Promise.reject(new Error('launch failed')), { schedule: schedule(10_000), wakeup: new Wakeup(), beat: () => beats.push(Date.now()) });
    expect(beats).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
