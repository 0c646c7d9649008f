import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandAction } from '../../pilot/src/lifecycle/server-command.js';
import { HeartbeatSchedule } from '../../pilot/src/report/index.js';

afterEach(() => vi.useRealTimers());

describe('server commands', () => {
  it('kills a job that is preparing or running, and only logs a kill for one that already ended', () => {
    expect(commandAction('tobekilled', 'preparing')).toEqual({ kind: 'kill' });
    expect(commandAction('tobekilled', 'running')).toEqual({ kind: 'kill' });
    expect(commandAction('tobekilled', 'reporting')).toEqual({ kind: 'stale-kill' });
  });

  it('maps debug, debugoff, softkill, alreadydone; ignores NULL and unknown words', () => {
    expect(commandAction('debug', 'running')).toEqual({ kind: 'debug', on: true });
    expect(commandAction('debugoff', 'running')).toEqual({ kind: 'debug', on: false });
    expect(commandAction('softkill', 'running')).toEqual({ kind: 'softkill' });
    expect(commandAction('alreadydone', 'reporting')).toEqual({ kind: 'alreadydone' });
    expect(commandAction('NULL', 'running')).toEqual({ kind: 'none' });
    expect(commandAction('reboot', 'running')).toEqual({ kind: 'none' });
  });
});

describe('heartbeat schedule (fake timers)', () => {
  it('beats every interval ±10 %, and debug shortens the wait at once; debugoff lengthens the next one', () => {
    vi.useFakeTimers({ now: 0 });
    const s = new HeartbeatSchedule({ intervalMs: 1_800_000, random: () => 0.5 });
    expect(s.msUntilDue()).toBe(1_800_000);
    vi.advanceTimersByTime(100_000);
    s.setInterval(60_000); // server said debug
    expect(s.msUntilDue()).toBe(60_000);
    vi.advanceTimersByTime(60_000);
    expect(s.msUntilDue()).toBe(0);
    s.beaten();
    expect(s.msUntilDue()).toBe(60_000);
    s.setInterval(1_800_000); // debugoff: the beat already scheduled stays, the next is long again
    vi.advanceTimersByTime(60_000);
    s.beaten();
    expect(s.msUntilDue()).toBe(1_800_000);
    const low = new HeartbeatSchedule({ intervalMs: 1000, random: () => 0 });
    const high = new HeartbeatSchedule({ intervalMs: 1000, random: () => 0.999 });
    expect([low.msUntilDue(), high.msUntilDue()]).toEqual([900, 1100]);
  });

  it('puts the jobs of a bulk pilot on one grid, whenever each started', () => {
    vi.useFakeTimers({ now: 10_000 });
    const origin = 10_000;
    const a = new HeartbeatSchedule({ intervalMs: 30_000, gridOriginMs: origin });
    vi.advanceTimersByTime(7_300);
    const b = new HeartbeatSchedule({ intervalMs: 30_000, gridOriginMs: origin });
    expect(Date.now() + b.msUntilDue()).toBe(Date.now() + a.msUntilDue());
    expect(Date.now() + a.msUntilDue()).toBe(origin + 30_000);
  });
});
