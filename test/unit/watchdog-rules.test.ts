/** Each watchdog code from its facts: 1235, 1213, 1098, 1106, 1150 — and nothing when within limits. */
import { describe, expect, it } from 'vitest';
import { checkWatchdogs, NO_LIMITS, type WatchdogFacts } from '../../pilot/src/monitor/index.js';

const calm: WatchdogFacts = { elapsedSec: 10, rssKb: 100 * 1024, pssKb: 90 * 1024, idleSec: 5, freeDiskMB: 50_000, stdoutBytes: 1000 };
const limits = { maxRssMB: 200, loopingLimitSec: 60, maxWalltimeSec: 600, minDiskMB: 1024, maxStdoutMB: 10 };

describe('checkWatchdogs', () => {
  it('stays quiet within every limit, and with every limit off', () => {
    expect(checkWatchdogs(calm, limits)).toBeNull();
    expect(checkWatchdogs({ ...calm, rssKb: 1e9, pssKb: 1e9, elapsedSec: 1e9, idleSec: 1e9, freeDiskMB: 0, stdoutBytes: 1e12 }, NO_LIMITS)).toBeNull();
  });

  it('1235: the tree over the pilot memory limit, by PSS when readable, else RSS', () => {
    const e = checkWatchdogs({ ...calm, rssKb: 400 * 1024, pssKb: 250 * 1024 }, limits);
    expect(e?.code).toBe(1235);
    expect(e?.diagnostic).toMatch(/PSS 250 MB exceeded the pilot's memory limit of 200 MB/);
    // RSS counts shared pages once per process: a PSS below the limit is not a breach
    expect(checkWatchdogs({ ...calm, rssKb: 400 * 1024, pssKb: 150 * 1024 }, limits)).toBeNull();
    expect(checkWatchdogs({ ...calm, rssKb: 300 * 1024, pssKb: 0 }, limits)?.diagnostic).toMatch(/RSS 300 MB/);
  });

  it('1213: walltime over the job (or queue) limit', () => {
    const e = checkWatchdogs({ ...calm, elapsedSec: 601 }, limits);
    expect(e?.code).toBe(1213);
    expect(e?.diagnostic).toMatch(/walltime limit of 600 s/);
  });

  it('1098: free disk below the running minimum', () => {
    const e = checkWatchdogs({ ...calm, freeDiskMB: 500 }, limits);
    expect(e?.code).toBe(1098);
    expect(e?.diagnostic).toMatch(/only 500 MB free/);
    expect(checkWatchdogs({ ...calm, freeDiskMB: null }, limits)).toBeNull(); // unmeasured is not a breach
  });

  it('1106: payload stdout over its limit', () => {
    const e = checkWatchdogs({ ...calm, stdoutBytes: 11 * 1024 * 1024 }, limits);
    expect(e?.code).toBe(1106);
    expect(e?.diagnostic).toMatch(/11 MB, over the 10 MB limit/);
  });

  it('1150: no file modified for the looping limit', () => {
    const e = checkWatchdogs({ ...calm, idleSec: 61 }, limits);
    expect(e?.code).toBe(1150);
    expect(e?.diagnostic).toMatch(/no file in the job dir was modified for 61 s \(limit 60 s\)/);
  });

  it('reports memory first when several limits break at once', () => {
    expect(checkWatchdogs({ ...calm, pssKb: 300 * 1024, elapsedSec: 700, idleSec: 100 }, limits)?.code).toBe(1235);
    expect(checkWatchdogs({ ...calm, elapsedSec: 700, idleSec: 100 }, limits)?.code).toBe(1213);
  });
});
