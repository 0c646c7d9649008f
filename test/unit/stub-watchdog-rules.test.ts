import { describe, expect, it } from 'vitest';
import { watchdogVerdict, type WatchedJob } from '../../server-stub/src/model/watchdog-rules.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (sec: number) => new Date(T0 + sec * 1000);
const iso = (sec: number) => at(sec).toISOString();
const limits = { sentSec: 1800, heartbeatSec: 7200 };
const job = (over: Partial<WatchedJob>): WatchedJob => ({ state: 'sent', dispatchedAt: iso(0), heartbeatAt: null, stateChangedAt: iso(0), ...over });

describe('watchdog rules', () => {
  it('fails a sent job without reply after the limit, with dispatcher code 102', () => {
    expect(watchdogVerdict(job({}), at(1799), limits)).toBeNull();
    expect(watchdogVerdict(job({}), at(1800), limits)).toMatchObject({ code: 102 });
  });

  it('fails starting/running without heartbeat with 100 "lost heartbeat", clocked from the last update', () => {
    const running = job({ state: 'running', heartbeatAt: iso(3600) });
    expect(watchdogVerdict(running, at(3600 + 7199), limits)).toBeNull();
    expect(watchdogVerdict(running, at(3600 + 7200), limits)).toMatchObject({ code: 100, diag: expect.stringMatching(/^lost heartbeat/) });
    expect(watchdogVerdict(job({ state: 'starting', heartbeatAt: null, stateChangedAt: iso(10) }), at(7209), limits)).toBeNull();
    expect(watchdogVerdict(job({ state: 'starting', heartbeatAt: null, stateChangedAt: iso(10) }), at(7210), limits)).toMatchObject({ code: 100 });
  });

  it('leaves other states alone', () => {
    for (const state of ['activated', 'holding', 'finished', 'failed'] as const) expect(watchdogVerdict(job({ state }), at(10 ** 6), limits)).toBeNull();
  });
});
