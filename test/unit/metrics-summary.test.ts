/** Samples → max/avg memory, cumulative I/O and rates, update fields and jobMetrics. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CounterLedger,
  jobMetrics,
  makeSample,
  MetricsAccumulator,
  parseProcIo,
  parseSmapsRollup,
  updateFields,
  pidProcesses,
  rollupReading,
  withDetails,
  type ProcessDetail,
} from '../../pilot/src/monitor/index.js';

const proc = (pid: number, over: Partial<ProcessDetail>): ProcessDetail => ({
  pid,
  ppid: 1,
  sid: 1,
  rss: 0,
  vmem: 0,
  cpuUser: 0,
  cpuSys: 0,
  comm: 'x',
  pss: 0,
  swap: 0,
  rchar: 0,
  wchar: 0,
  readBytes: 0,
  writeBytes: 0,
  ...over,
});

describe('proc parsers', () => {
  it('reads PSS and swap from smaps_rollup, I/O from /proc/PID/io', () => {
    expect(parseSmapsRollup('Rss:              5120 kB\nPss:              4096 kB\nSwap:               12 kB\nSwapPss:            10 kB\n')).toEqual({
      pss: 4096,
      swap: 12,
    });
    expect(parseProcIo('rchar: 100\nwchar: 200\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n')).toEqual({
      rchar: 100,
      wchar: 200,
      readBytes: 4096,
      writeBytes: 8192,
    });
    expect(parseSmapsRollup('')).toEqual({ pss: 0, swap: 0 });
  });
});

describe('MetricsAccumulator', () => {
  it('keeps max and average memory and never loses the I/O of exited processes', () => {
    const ledger = new CounterLedger();
    const acc = new MetricsAccumulator();
    const t0 = 1_000_000;
    const p1 = [
      proc(10, { rss: 1000, pss: 800, vmem: 5000, swap: 0, rchar: 100, wchar: 10, cpuUser: 1 }),
      proc(11, { rss: 3000, pss: 2000, vmem: 9000, rchar: 50 }),
    ];
    ledger.update(p1);
    acc.add(makeSample(t0 + 1000, t0, p1, ledger, null));
    // process 11 ended: its 50 bytes of rchar still count
    const p2 = [proc(10, { rss: 2000, pss: 1800, vmem: 6000, swap: 4, rchar: 300, wchar: 40, cpuUser: 2 })];
    ledger.update(p2);
    acc.add(makeSample(t0 + 10_000, t0, p2, ledger, { usageKb: 2000, peakKb: 5000, limitKb: 10_000, oomKills: 0 }));
    acc.add(makeSample(t0 + 11_000, t0, [], ledger, null)); // empty tree: not an average point
    const s = acc.summary();
    expect(s).toMatchObject({ samples: 2, maxRSS: 4000, maxPSS: 2800, maxVMEM: 14000, maxSWAP: 4, avgRSS: 3000, avgPSS: 2300, avgVMEM: 10000, avgSWAP: 2 });
    expect(s).toMatchObject({ totRCHAR: 350, totWCHAR: 40, rateRCHAR: 35, rateWCHAR: 4, cpuSec: 2, cgroupPeakKb: 5000, cgroupLimitKb: 10_000 });
    const fields = updateFields(s);
    expect(Object.keys(fields).sort()).toEqual(
      [
        'avgPSS',
        'avgRSS',
        'avgSWAP',
        'avgVMEM',
        'maxPSS',
        'maxRSS',
        'maxSWAP',
        'maxVMEM',
        'rateRBYTES',
        'rateRCHAR',
        'rateWBYTES',
        'rateWCHAR',
        'totRBYTES',
        'totRCHAR',
        'totWBYTES',
        'totWCHAR',
      ].sort(),
    );
    expect(jobMetrics(s, { coreCount: 1 })).toBe('coreCount=1 monitorSamples=2 maxPSSkB=2800 cgroupPeakMB=5 cgroupLimitMB=10');
  });

  it('sends no memory fields before a sample saw the payload', () => {
    expect(updateFields(new MetricsAccumulator().summary())).toEqual({});
    expect(jobMetrics(new MetricsAccumulator().summary(), { coreCount: 4 })).toBe('coreCount=4 monitorSamples=0');
  });

  const launcherOnly = (acc: MetricsAccumulator, t0: number, cg: { peakKb: number } | null) => {
    const ledger = new CounterLedger();
    const bash = [proc(10, { rss: 3000, pss: 1500, vmem: 9000 })];
    ledger.update(bash);
    acc.add(makeSample(t0, t0, bash, ledger, cg ? { usageKb: 100, peakKb: cg.peakKb, limitKb: null, oomKills: 0 } : null));
    acc.addCgroup(cg ? { usageKb: 0, peakKb: cg.peakKb, limitKb: null, oomKills: 0 } : null, 0.1);
  };

  it('a short payload sampled several times on a busy node, but not at its peak, still takes the cgroup peak', () => {
    const acc = new MetricsAccumulator(true);
    const ledger = new CounterLedger();
    for (let i = 0; i < 6; i++) {
      const p = [proc(10, { rss: 80_000, pss: 79_000 })];
      ledger.update(p);
      acc.add(makeSample(1_000_000 + i * 100, 1_000_000, p, ledger, null));
    }
    acc.addCgroup({ usageKb: 0, peakKb: 104_000, limitKb: null, oomKills: 0 }, 0.7);
    expect(acc.summary()).toMatchObject({ memorySource: 'cgroup', maxRSS: 104_000 });
  });

  it("a payload that ended before sampling caught it: its own cgroup's peak is maxRSS/maxPSS", () => {
    const acc = new MetricsAccumulator(true);
    launcherOnly(acc, 1_000_000, { peakKb: 104_000 });
    const s = acc.summary();
    expect(s).toMatchObject({ samples: 1, memorySource: 'cgroup', maxRSS: 104_000, maxPSS: 104_000 });
    expect(updateFields(s)).toMatchObject({ maxRSS: 104_000, maxPSS: 104_000 });
    expect(jobMetrics(s, {})).toContain('memorySource=cgroup');
  });

  it('even with no sample at all, the own cgroup peak gives the memory fields', () => {
    const acc = new MetricsAccumulator(true);
    acc.addCgroup({ usageKb: 0, peakKb: 104_000, limitKb: null, oomKills: 0 }, 0.05);
    expect(updateFields(acc.summary())).toMatchObject({ maxRSS: 104_000, maxPSS: 104_000 });
  });

  it("an enclosing cgroup's peak (pilot and others inside) never stands in for the payload", () => {
    const acc = new MetricsAccumulator(false);
    launcherOnly(acc, 1_000_000, { peakKb: 104_000 });
    expect(acc.summary()).toMatchObject({ memorySource: 'samples', maxRSS: 3000, maxPSS: 1500 });
  });

  it('a payload sampled through its life keeps the sampled figures (a cgroup peak also counts page cache)', () => {
    const acc = new MetricsAccumulator(true);
    const ledger = new CounterLedger();
    for (let i = 0; i < 6; i++) {
      const p = [proc(10, { rss: 50_000, pss: 40_000 })];
      ledger.update(p);
      acc.add(makeSample(1_000_000 + i * 1000, 1_000_000, p, ledger, { usageKb: 60_000, peakKb: 900_000, limitKb: null, oomKills: 0 }));
    }
    acc.addCgroup({ usageKb: 0, peakKb: 900_000, limitKb: null, oomKills: 0 }, 6);
    expect(acc.summary()).toMatchObject({ memorySource: 'samples', maxRSS: 50_000, maxPSS: 40_000, cgroupPeakKb: 900_000 });
  });
});

describe('withDetails', () => {
  // A fake /proc: a process's stat is read first, its smaps_rollup a moment later. One that ends in
  // between must not leave its RSS in the sample without its PSS (the CI failure: a 100 MB payload
  // reported maxRSS 100 MB beside maxPSS 12 MB, its launcher's).
  const roots: string[] = [];
  afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));
  function fakeProc(withRollup: boolean): string {
    const root = mkdtempSync(path.join(tmpdir(), 'fakeproc-'));
    roots.push(root);
    mkdirSync(path.join(root, 'self'));
    writeFileSync(path.join(root, 'self', 'smaps_rollup'), 'Pss: 1 kB\n');
    for (const pid of [10, 11]) {
      mkdirSync(path.join(root, String(pid)));
      writeFileSync(path.join(root, String(pid), 'io'), 'rchar: 7\nwchar: 0\nread_bytes: 0\nwrite_bytes: 0\n');
    }
    writeFileSync(path.join(root, '10', 'smaps_rollup'), 'Rss: 4000 kB\nPss: 3000 kB\nSwap: 0 kB\n');
    if (withRollup) writeFileSync(path.join(root, '11', 'smaps_rollup'), 'Rss: 100000 kB\nPss: 100000 kB\nSwap: 0 kB\n');
    return root;
  }
  const stats = [proc(10, { rss: 4000, vmem: 9000, cpuUser: 1 }), proc(11, { rss: 100_000, vmem: 110_000, cpuUser: 2 })];

  it('keeps RSS and PSS together, and drops both for a process gone before its smaps_rollup was read', () => {
    const live = withDetails(stats, fakeProc(true));
    expect(live.map((p) => [p.rss, p.pss])).toEqual([
      [4000, 3000],
      [100_000, 100_000],
    ]);
    const gone = withDetails(stats, fakeProc(false));
    expect(gone.map((p) => [p.rss, p.vmem, p.pss])).toEqual([
      [4000, 9000, 3000],
      [0, 0, 0],
    ]);
    // its CPU and I/O still count
    expect(gone[1]).toMatchObject({ cpuUser: 2, rchar: 7 });
  });

  it('a real process killed between its stat and its smaps_rollup counts no memory', async () => {
    const child = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(60e6, 1); console.log("ready"); setInterval(() => {}, 1e6)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const pid = child.pid as number;
      const stats = pidProcesses([pid]);
      expect(stats[0]?.rss).toBeGreaterThan(50_000);
      const live = withDetails(stats);
      expect(live[0]?.pss).toBeGreaterThan(50_000);
      expect(live[0]?.rss).toBe(stats[0]?.rss);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      expect(withDetails(stats)[0]).toMatchObject({ rss: 0, pss: 0, vmem: 0 });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('tells a process gone from one it may not read (a setuid helper keeps its RSS from stat)', () => {
    expect(rollupReading({ text: 'Rss: 5 kB\nPss: 4 kB\n' })).toBe('Rss: 5 kB\nPss: 4 kB\n');
    expect(rollupReading({ text: '' })).toBe('gone');
    expect(rollupReading({ code: 'ENOENT' })).toBe('gone');
    expect(rollupReading({ code: 'ESRCH' })).toBe('gone');
    expect(rollupReading({ code: 'EACCES' })).toBe('unreadable');
    expect(rollupReading({ code: 'EPERM' })).toBe('unreadable');
  });

  it('on a kernel without smaps_rollup, keeps RSS from stat', () => {
    const root = fakeProc(false);
    rmSync(path.join(root, 'self'), { recursive: true });
    rmSync(path.join(root, '10', 'smaps_rollup'));
    expect(withDetails(stats, root).map((p) => [p.rss, p.pss])).toEqual([
      [4000, 0],
      [100_000, 0],
    ]);
  });
});
