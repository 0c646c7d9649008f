/**
 * One monitor loop per payload (a job's, or one event range's): samples
 * the process tree and the cgroup every interval, appends the time series
 * to a JSON-lines file, keeps max/avg figures for heartbeats, and raises the
 * first watchdog verdict. It never kills anything itself: the owner decides
 * how to stop (JobRun.stopJob → TERM, grace, KILL to the group).
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { PilotError } from '../errors/index.js';
import { freeSpaceMB } from '../run/index.js';
import { backoffDelay, repeat, type Sleep } from '../retry/index.js';
import { readCgroupFigures, cgroupPids, type CgroupFigures } from './cgroup-memory.js';
import type { CgroupLocation } from './cgroup-discovery.js';
import { newestMtimeMs, totalSize } from './job-dir-facts.js';
import { CounterLedger, makeSample, MetricsAccumulator, type MetricsSummary, type MonitorSample } from './metrics-summary.js';
import { pidProcesses, sessionProcesses, withDetails } from './process-tree.js';
import { checkWatchdogs, type WatchdogLimits } from './watchdog-rules.js';

/** The file name pilot3's prmon equivalent would use, as JSON lines. */
export const MONITOR_OUTPUT = 'memory_monitor_output.jsonl';

export interface PayloadMonitorOptions {
  /** Session (= process group) of the payload: its leader's PID. */
  sid: number;
  /**
   * The cgroup to read: the payload's own (`own: true`; its cgroup.procs then
   * also names the processes) or the enclosing one the pilot runs in.
   */
  cgroup: (Pick<CgroupLocation, 'dir' | 'version'> & { own: boolean }) | null;
  intervalMs: number;
  limits: WatchdogLimits;
  /** Job dir, for the looping and disk rules; null = those rules are off. */
  workDir: string | null;
  /** Files whose size the stdout rule watches. */
  outputFiles?: readonly string[];
  /** The JSON-lines time series; null = none. */
  outputFile?: string | null;
  /** Epoch ms the payload started (defaults to now). */
  startedAt?: number;
  /** Told once, with the first broken limit. */
  onVerdict?: (err: PilotError) => void;
  /** Told when the time series cannot be written (full disk): monitoring goes on. */
  onWriteError?: (err: Error) => void;
  /** Told each sample (an event-service job sums its ranges' figures for its heartbeats). */
  onSample?: (sample: MonitorSample) => void;
  sleep?: Sleep;
  procRoot?: string;
}

/** Walking the job dir costs more than a sample; a quarter of the limit (at most 15 min, as pilot3) is often enough. */
const loopingCheckEveryMs = (limitSec: number): number => Math.min(900_000, (limitSec * 1000) / 4);

// One reason for every stop: abort() without one builds a DOMException (and its stack) a job, on the slot's idle path.
const MONITOR_STOPPED = new Error('monitor stopped');

export class PayloadMonitor {
  private readonly ledger = new CounterLedger();
  private readonly metrics: MetricsAccumulator;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private readonly startedAt: number;
  private lastSample: MonitorSample | null = null;
  private firstCgroup: CgroupFigures | null = null;
  private verdictGiven: PilotError | null = null;
  private newestChange: number;
  private nextLoopingCheck = 0;
  private writeFailed = false;
  /** CPU milliseconds the samples themselves took (process.cpuUsage), for the cost figure. */
  sampleCpuMs = 0;

  private constructor(private readonly opts: PayloadMonitorOptions) {
    this.metrics = new MetricsAccumulator(opts.cgroup?.own ?? false);
    this.startedAt = opts.startedAt ?? Date.now();
    this.newestChange = this.startedAt;
    // No walk of the job dir at the first sample: nothing in it can be newer than the start yet.
    if (opts.limits.loopingLimitSec !== null) this.nextLoopingCheck = this.startedAt + loopingCheckEveryMs(opts.limits.loopingLimitSec);
    this.loop = this.run();
  }

  /** Starts sampling at once, then at doubling waits up to every `intervalMs` (jittered) until `stop()`. */
  static start(opts: PayloadMonitorOptions): PayloadMonitor {
    return new PayloadMonitor(opts);
  }

  /** The newest sample, for heartbeats. */
  get latest(): MonitorSample | null {
    return this.lastSample;
  }

  /** The cgroup's figures at the first sample (the OOM counter's baseline). */
  get cgroupAtStart(): CgroupFigures | null {
    return this.firstCgroup;
  }

  get verdict(): PilotError | null {
    return this.verdictGiven;
  }

  /** PIDs seen in the tree so far (to match the kernel's OOM record). */
  pidsSeen(): ReadonlySet<number> {
    return this.ledger.pids();
  }

  summary(): MetricsSummary {
    return this.metrics.summary();
  }

  /** Ends the loop and takes a last cgroup reading; returns the final figures. */
  async stop(): Promise<{ summary: MetricsSummary; cgroupAtEnd: CgroupFigures | null }> {
    this.abort.abort(MONITOR_STOPPED);
    await this.loop;
    const cg = this.readCgroup();
    this.metrics.addCgroup(cg, (Date.now() - this.startedAt) / 1000);
    return { summary: this.metrics.summary(), cgroupAtEnd: cg };
  }

  private readCgroup(): CgroupFigures | null {
    const cg = this.opts.cgroup;
    return cg ? readCgroupFigures(cg.dir, cg.version) : null;
  }

  private async run(): Promise<void> {
    // Start dense and back off to the interval: most Rubin payloads end within a minute, and a
    // 60 s first wait would leave a short job with no figures at all. ±10 % so monitors do not fall into step.
    const backoff = { initialMs: Math.min(25, this.opts.intervalMs), maxMs: this.opts.intervalMs, factor: 2, jitter: 0.1 };
    // A sample at the payload's first instant sees its launcher only. In its own cgroup the first one can
    // wait: the kernel keeps the peak for a payload that ends before it (the final's maxRSS), and the OOM
    // counter starts at 0. In a shared cgroup or none, it is the counter's baseline and the only figures.
    const waitFirst = this.opts.cgroup?.own === true;
    await repeat(
      (n) => {
        if (n > 1 || !waitFirst) this.sampleOnce();
      },
      { signal: this.abort.signal, wait: (n) => backoffDelay(n, backoff), sleep: this.opts.sleep },
    );
  }

  /** One sample: read, record, judge. Public so tests and benchmarks can drive it without timers. */
  sampleOnce(now = Date.now()): MonitorSample {
    const cpu0 = process.cpuUsage();
    const o = this.opts;
    // With its own cgroup the payload's PIDs are listed there, even those that left the session.
    const stats = o.cgroup?.own ? pidProcesses(cgroupPids(o.cgroup.dir), o.procRoot) : sessionProcesses(o.sid, o.procRoot);
    const procs = withDetails(stats, o.procRoot);
    this.ledger.update(procs);
    const cg = this.readCgroup();
    this.firstCgroup ??= cg;
    const sample = makeSample(now, this.startedAt, procs, this.ledger, cg);
    this.metrics.add(sample);
    this.lastSample = sample;
    this.write(sample);
    this.opts.onSample?.(sample);
    this.judge(sample, now);
    const cpu = process.cpuUsage(cpu0);
    this.sampleCpuMs += (cpu.user + cpu.system) / 1000;
    return sample;
  }

  private write(sample: MonitorSample): void {
    if (!this.opts.outputFile || this.writeFailed) return;
    try {
      appendFileSync(this.opts.outputFile, `${JSON.stringify(sample)}\n`);
    } catch (err) {
      this.writeFailed = true;
      this.opts.onWriteError?.(err as Error);
    }
  }

  private judge(sample: MonitorSample, now: number): void {
    if (this.verdictGiven) return;
    const o = this.opts;
    const l = o.limits;
    let freeDiskMB: number | null = null;
    if (o.workDir && l.loopingLimitSec !== null && now >= this.nextLoopingCheck) {
      this.nextLoopingCheck = now + loopingCheckEveryMs(l.loopingLimitSec);
      const ignore = new Set(o.outputFile ? [path.resolve(o.outputFile)] : []);
      const newest = newestMtimeMs(o.workDir, ignore);
      if (newest !== null) this.newestChange = Math.max(this.newestChange, newest);
    }
    if (o.workDir && l.minDiskMB !== null) {
      try {
        freeDiskMB = freeSpaceMB(o.workDir);
      } catch {
        freeDiskMB = null;
      }
    }
    const verdict = checkWatchdogs(
      {
        elapsedSec: (now - this.startedAt) / 1000,
        rssKb: sample.rss,
        pssKb: sample.pss,
        idleSec: o.workDir ? (now - this.newestChange) / 1000 : null,
        freeDiskMB,
        stdoutBytes: o.outputFiles && l.maxStdoutMB !== null ? totalSize(o.outputFiles) : null,
      },
      l,
    );
    if (verdict) {
      this.verdictGiven = verdict;
      o.onVerdict?.(verdict);
    }
  }
}
