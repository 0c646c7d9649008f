/**
 * Monitor samples → the figures an update carries (docs/panda-protocol.md §4 names):
 * max/avg RSS, PSS, VMEM, SWAP in kB, as prmon and pilot3 report them;
 * tot/rate RCHAR, WCHAR, RBYTES, WBYTES in bytes and bytes/s (prmon's
 * units; the server converts them to kB). Pure: no I/O.
 */
import type { CgroupFigures } from './cgroup-memory.js';
import type { ProcessDetail } from './process-tree.js';

/** One line of memory_monitor_output.jsonl (prmon-like keys). */
export interface MonitorSample {
  /** Epoch seconds. */
  Time: number;
  /** Seconds since the payload started. */
  wtime: number;
  nprocs: number;
  /** kB */
  rss: number;
  pss: number;
  vmem: number;
  swap: number;
  /** CPU seconds of the tree, exited processes included. */
  utime: number;
  stime: number;
  /** Bytes, exited processes included. */
  rchar: number;
  wchar: number;
  read_bytes: number;
  write_bytes: number;
  /** The cgroup's figures (kB), when one is watched. */
  cg_usage?: number | null;
  cg_peak?: number | null;
  cg_limit?: number | null;
  cg_oom_kills?: number | null;
}

type Counters = Pick<ProcessDetail, 'cpuUser' | 'cpuSys' | 'rchar' | 'wchar' | 'readBytes' | 'writeBytes'>;

/**
 * Cumulative counters per PID: a process that exited between samples keeps
 * its last reading, so totals never go backwards when children end.
 */
export class CounterLedger {
  private readonly byPid = new Map<number, Counters>();

  update(procs: readonly ProcessDetail[]): void {
    for (const p of procs) {
      this.byPid.set(p.pid, { cpuUser: p.cpuUser, cpuSys: p.cpuSys, rchar: p.rchar, wchar: p.wchar, readBytes: p.readBytes, writeBytes: p.writeBytes });
    }
  }

  pids(): ReadonlySet<number> {
    return new Set(this.byPid.keys());
  }

  totals(): Counters {
    const t: Counters = { cpuUser: 0, cpuSys: 0, rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 };
    for (const c of this.byPid.values()) {
      t.cpuUser += c.cpuUser;
      t.cpuSys += c.cpuSys;
      t.rchar += c.rchar;
      t.wchar += c.wchar;
      t.readBytes += c.readBytes;
      t.writeBytes += c.writeBytes;
    }
    return t;
  }
}

/** Builds one sample from the tree, the ledger (already updated) and the cgroup. */
export function makeSample(now: number, startedAt: number, procs: readonly ProcessDetail[], ledger: CounterLedger, cg: CgroupFigures | null): MonitorSample {
  const sum = (f: (p: ProcessDetail) => number) => procs.reduce((a, p) => a + f(p), 0);
  const t = ledger.totals();
  const s: MonitorSample = {
    Time: Math.round(now / 1000),
    wtime: Math.max(0, Math.round((now - startedAt) / 1000)),
    nprocs: procs.length,
    rss: sum((p) => p.rss),
    pss: sum((p) => p.pss),
    vmem: sum((p) => p.vmem),
    swap: sum((p) => p.swap),
    utime: Math.round(t.cpuUser * 100) / 100,
    stime: Math.round(t.cpuSys * 100) / 100,
    rchar: t.rchar,
    wchar: t.wchar,
    read_bytes: t.readBytes,
    write_bytes: t.writeBytes,
  };
  if (cg) Object.assign(s, { cg_usage: cg.usageKb, cg_peak: cg.peakKb, cg_limit: cg.limitKb, cg_oom_kills: cg.oomKills });
  return s;
}

/** What heartbeats and the final update report. */
export interface MetricsSummary {
  samples: number;
  maxRSS: number;
  maxPSS: number;
  maxVMEM: number;
  maxSWAP: number;
  avgRSS: number;
  avgPSS: number;
  avgVMEM: number;
  avgSWAP: number;
  totRCHAR: number;
  totWCHAR: number;
  totRBYTES: number;
  totWBYTES: number;
  rateRCHAR: number;
  rateWCHAR: number;
  rateRBYTES: number;
  rateWBYTES: number;
  /** CPU seconds seen by sampling. */
  cpuSec: number;
  /** Peak of the watched cgroup (kB), when one is watched. */
  cgroupPeakKb: number | null;
  cgroupLimitKb: number | null;
  /**
   * Where maxRSS/maxPSS came from: the process-tree samples, or the payload's own
   * cgroup peak when the samples could not have seen the payload (see SHORT_PAYLOAD_SEC).
   */
  memorySource: 'samples' | 'cgroup' | 'none';
}

/**
 * A payload that lived less than this long was watched only by the monitor's dense start
 * (0, 25, 75, 175 ms …), whose samples can miss its peak altogether — more so on a loaded
 * node, where they come late. Its own cgroup's peak, which the kernel keeps exactly, then
 * stands in when it is higher. Longer payloads keep prmon's sampled figures, because a
 * cgroup peak also counts page cache and would inflate maxRSS for jobs that read big files.
 * A time, not a sample count: the count depends on how busy the node is.
 */
export const SHORT_PAYLOAD_SEC = 5;

/** Running max/avg over samples with a live tree. */
export class MetricsAccumulator {
  private n = 0;
  /**
   * @param ownCgroup the watched cgroup holds only the payload (made for it), so its
   *   peak is the payload's; an enclosing cgroup's peak also counts the pilot and others.
   */
  constructor(private readonly ownCgroup = false) {}
  /** Seconds the payload lived, once it ended (addCgroup at stop). */
  private payloadSec: number | null = null;

  private readonly max = { rss: 0, pss: 0, vmem: 0, swap: 0 };
  private readonly sum = { rss: 0, pss: 0, vmem: 0, swap: 0 };
  private last: MonitorSample | null = null;
  private cgPeak: number | null = null;
  private cgLimit: number | null = null;

  add(s: MonitorSample): void {
    if (s.cg_peak != null || s.cg_usage != null) this.cgPeak = Math.max(this.cgPeak ?? 0, s.cg_peak ?? 0, s.cg_usage ?? 0);
    if (s.cg_limit !== undefined) this.cgLimit = s.cg_limit;
    if (s.nprocs === 0) return;
    this.n += 1;
    for (const k of ['rss', 'pss', 'vmem', 'swap'] as const) {
      this.max[k] = Math.max(this.max[k], s[k]);
      this.sum[k] += s[k];
    }
    this.last = s;
  }

  /**
   * Folds in the cgroup's final reading (the peak may have been reached between samples)
   * and, at the payload's end, how long it lived.
   */
  addCgroup(cg: CgroupFigures | null, payloadSec?: number): void {
    if (payloadSec !== undefined) this.payloadSec = payloadSec;
    if (!cg) return;
    const peak = cg.peakKb ?? cg.usageKb;
    if (peak !== null) this.cgPeak = Math.max(this.cgPeak ?? 0, peak);
    this.cgLimit = cg.limitKb;
  }

  summary(): MetricsSummary {
    const avg = (k: keyof typeof this.sum) => (this.n ? Math.round(this.sum[k] / this.n) : 0);
    const l = this.last;
    const secs = Math.max(1, l?.wtime ?? 1);
    const rate = (v: number) => Math.round(v / secs);
    const cgPeak = this.ownCgroup && this.cgPeak !== null && this.cgPeak > 0 ? this.cgPeak : null;
    const livedSec = this.payloadSec ?? this.last?.wtime ?? 0;
    const fromCgroup = cgPeak !== null && livedSec < SHORT_PAYLOAD_SEC && cgPeak > this.max.rss;
    const memorySource = fromCgroup ? 'cgroup' : this.n > 0 ? 'samples' : 'none';
    return {
      samples: this.n,
      memorySource,
      maxRSS: fromCgroup ? cgPeak : this.max.rss,
      maxPSS: fromCgroup ? cgPeak : this.max.pss,
      maxVMEM: this.max.vmem,
      maxSWAP: this.max.swap,
      avgRSS: avg('rss'),
      avgPSS: avg('pss'),
      avgVMEM: avg('vmem'),
      avgSWAP: avg('swap'),
      totRCHAR: l?.rchar ?? 0,
      totWCHAR: l?.wchar ?? 0,
      totRBYTES: l?.read_bytes ?? 0,
      totWBYTES: l?.write_bytes ?? 0,
      rateRCHAR: rate(l?.rchar ?? 0),
      rateWCHAR: rate(l?.wchar ?? 0),
      rateRBYTES: rate(l?.read_bytes ?? 0),
      rateWBYTES: rate(l?.write_bytes ?? 0),
      cpuSec: l ? l.utime + l.stime : 0,
      cgroupPeakKb: this.cgPeak,
      cgroupLimitKb: this.cgLimit,
    };
  }
}

const UPDATE_KEYS = [
  'maxRSS',
  'maxPSS',
  'maxVMEM',
  'maxSWAP',
  'avgRSS',
  'avgPSS',
  'avgVMEM',
  'avgSWAP',
  'totRCHAR',
  'totWCHAR',
  'totRBYTES',
  'totWBYTES',
  'rateRCHAR',
  'rateWCHAR',
  'rateRBYTES',
  'rateWBYTES',
] as const;

/** The update fields (docs/panda-protocol.md §4 names); empty until a sample or the payload's cgroup saw its memory. */
export function updateFields(s: MetricsSummary): Record<string, number> {
  if (s.memorySource === 'none') return {};
  return Object.fromEntries(UPDATE_KEYS.map((k) => [k, s[k]]));
}

/** `jobMetrics`: space-separated key=value, as the server stores it. */
export function jobMetrics(s: MetricsSummary, extra: Record<string, string | number | null | undefined>): string {
  const pairs: [string, string | number | null | undefined][] = [
    ...Object.entries(extra),
    ['monitorSamples', s.samples],
    ['memorySource', s.memorySource === 'cgroup' ? 'cgroup' : null],
    ['maxPSSkB', s.samples ? s.maxPSS : null],
    ['cgroupPeakMB', s.cgroupPeakKb === null ? null : Math.round(s.cgroupPeakKb / 1024)],
    ['cgroupLimitMB', s.cgroupLimitKb === null ? null : Math.round(s.cgroupLimitKb / 1024)],
  ];
  return pairs
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${String(v).replace(/\s+/g, '_')}`)
    .join(' ');
}
