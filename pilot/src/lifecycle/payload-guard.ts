/**
 * Everything that watches one payload: its own memory cgroup (when the pilot
 * may make one), the monitor loop with the watchdog limits, and, after the
 * end, the OOM evidence. The limits are plain functions of the job and the
 * settings; this class is the I/O around them. It is the one supervisor:
 * a job's payload and every event range of an event-service job run under
 * it (`forRange`), so a range gets its own cgroup (1212 with the kernel's
 * line), the same watchdogs and time series, and its leftovers killed.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { PilotError } from '../errors/index.js';
import type { JobDescription } from '../job/index.js';
import {
  detectOom,
  findOomKill,
  kernelClockSec,
  MONITOR_OUTPUT,
  PayloadCgroup,
  PayloadMonitor,
  readKernelLog,
  type CgroupLocation,
  type KernelRecord,
  type MetricsSummary,
  type MonitorSample,
  type OomEvidence,
  type WatchdogLimits,
} from '../monitor/index.js';
import type { PayloadExit } from '../run/index.js';
import type { Sleep } from '../retry/index.js';

/** How the pilot watches payloads (flags → here; see cli/options.ts). */
export interface MonitorSettings {
  intervalMs: number;
  /** The pilot's memory cgroup, found at start; null = none with memory figures. */
  cgroupParent: CgroupLocation | null;
  /** Whether payload cgroups may be made under `cgroupParent` (root or delegation, and not switched off). */
  cgroupWritable: boolean;
  /** Where a payload cgroup's limit comes from: the job's minRamCount, the slot's `--mem`, or none (watch only). */
  memoryLimit: 'job' | 'slot' | 'none';
  slotMemoryMB: number | null;
  /** Headroom over the memory figure, percent (pilot3's pilot_rss_grace). */
  memoryGracePct: number;
  /** The pilot's own watchdog (1235): MB, `job` (the job's memory, only where no cgroup enforces it), or off. */
  maxRss: number | 'job' | null;
  loopingLimitSec: number | null;
  queueMaxtimeSec: number | null;
  minDiskMB: number | null;
  maxStdoutMB: number | null;
  readKernelLog?: () => KernelRecord[];
}

export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = {
  intervalMs: 60_000,
  cgroupParent: null,
  cgroupWritable: false,
  memoryLimit: 'job',
  slotMemoryMB: null,
  memoryGracePct: 0,
  maxRss: null,
  loopingLimitSec: 7200,
  queueMaxtimeSec: null,
  minDiskMB: 1024,
  maxStdoutMB: null,
};

export interface MemoryPlan {
  /** Limit for the payload's own cgroup, MB; null = no cgroup limit. */
  cgroupLimitMB: number | null;
  /** Whether a payload cgroup is made at all. */
  useCgroup: boolean;
  /** The pilot's watchdog limit, MB; null = off. */
  watchdogMB: number | null;
}

/** The job's memory with grace, or null when the job set none. */
function jobMemoryMB(job: JobDescription, s: MonitorSettings): number | null {
  const base = s.memoryLimit === 'slot' ? s.slotMemoryMB : job.minRamCount || s.slotMemoryMB;
  return base ? Math.round(base * (1 + s.memoryGracePct / 100)) : null;
}

/** Who enforces the payload's memory: the kernel through a cgroup, the pilot's watchdog, or both. */
export function memoryPlan(job: JobDescription, s: MonitorSettings): MemoryPlan {
  const useCgroup = s.cgroupParent !== null && s.cgroupWritable;
  const cgroupLimitMB = useCgroup && s.memoryLimit !== 'none' ? jobMemoryMB(job, s) : null;
  // `job` means: enforce the job's memory, by the kernel when a cgroup can, else by the pilot.
  const watchdogMB = s.maxRss === 'job' ? (cgroupLimitMB === null ? jobMemoryMB(job, s) : null) : s.maxRss;
  return { cgroupLimitMB, useCgroup, watchdogMB };
}

/** The watchdog limits for one job. */
export function watchdogLimits(job: JobDescription, s: MonitorSettings, plan: MemoryPlan): WatchdogLimits {
  return {
    maxRssMB: plan.watchdogMB,
    loopingLimitSec: job.loopingCheck ? s.loopingLimitSec : null,
    maxWalltimeSec: job.maxWalltime > 0 ? job.maxWalltime : s.queueMaxtimeSec,
    minDiskMB: s.minDiskMB,
    maxStdoutMB: s.maxStdoutMB,
  };
}

export class PayloadGuard {
  private monitor: PayloadMonitor | null = null;
  private startClockSec = 0;

  private constructor(
    private readonly settings: MonitorSettings,
    readonly plan: MemoryPlan,
    readonly limits: WatchdogLimits,
    readonly cgroup: PayloadCgroup | null,
    private readonly log: Logger,
  ) {}

  /**
   * Makes the payload's cgroup when allowed; a refusal is logged and the payload runs watched by tree only.
   * How its memory is enforced is the caller's to log (`enforcement`): a job's goes on its `payload_start`
   * line (one line less on the slot's idle path), a range's on its own.
   */
  static prepare(
    job: JobDescription,
    settings: MonitorSettings,
    log: Logger,
    cgroupName = `panda-${job.pandaId}-${job.attemptNr}-${process.pid}`,
  ): PayloadGuard {
    let plan = memoryPlan(job, settings);
    let cgroup: PayloadCgroup | null = null;
    if (plan.useCgroup && settings.cgroupParent) {
      try {
        cgroup = PayloadCgroup.create(settings.cgroupParent, { name: cgroupName, limitMB: plan.cgroupLimitMB });
      } catch (err) {
        log.warn(
          { event: 'cgroup_refused', dir: settings.cgroupParent.dir, err: (err as Error).message },
          'cannot make the payload cgroup; watching the process tree',
        );
        plan = memoryPlan(job, { ...settings, cgroupWritable: false });
      }
    }
    const limits = watchdogLimits(job, settings, plan);
    return new PayloadGuard(settings, plan, limits, cgroup, log);
  }

  /** Who enforces the payload's memory and its watchdog limits: the fields and the words (`memory …`) of a log line. */
  enforcement(): { fields: Record<string, unknown>; text: string } {
    const { cgroup, plan, limits } = this;
    return {
      fields: { cgroup: cgroup?.dir ?? null, cgroupLimitMB: cgroup ? plan.cgroupLimitMB : null, watchdogMB: plan.watchdogMB, limits },
      text:
        cgroup && plan.cgroupLimitMB
          ? `memory limited to ${plan.cgroupLimitMB} MB by cgroup`
          : plan.watchdogMB
            ? `memory watched by the pilot (${plan.watchdogMB} MB)`
            : 'memory not limited',
    };
  }

  /**
   * The supervisor of one event range of `job`: the job's rules with the
   * range's memory share (`memoryMB`) as its memory, a cgroup of its own
   * named after the range, and the event service's looping limit.
   */
  static forRange(
    job: JobDescription,
    eventRangeID: string,
    memoryMB: number,
    settings: MonitorSettings,
    loopingLimitSec: number | null,
    log: Logger,
  ): PayloadGuard {
    const rangeSettings: MonitorSettings = {
      ...settings,
      // A range's memory is its share of the job's, whatever the job's own limit comes from.
      memoryLimit: settings.memoryLimit === 'none' ? 'none' : 'job',
      slotMemoryMB: memoryMB || null,
      loopingLimitSec,
    };
    const guard = PayloadGuard.prepare(
      { ...job, minRamCount: memoryMB },
      rangeSettings,
      log,
      `panda-${job.pandaId}-${job.attemptNr}-${process.pid}-${eventRangeID}`,
    );
    const { fields, text } = guard.enforcement();
    log.info({ event: 'memory_enforcement', ...fields }, `payload ${text}`);
    return guard;
  }

  /** The file the payload's launcher writes its PID into to join its cgroup, when it has one. */
  get cgroupProcsFile(): string | undefined {
    return this.cgroup?.procsFile;
  }

  /** Starts the monitor loop on the running payload. */
  start(
    pid: number,
    jobDir: string,
    outputFiles: string[],
    onVerdict: (err: PilotError) => void,
    sleep?: Sleep,
    onSample?: (sample: MonitorSample) => void,
  ): PayloadMonitor {
    this.startClockSec = kernelClockSec();
    const enclosing = this.settings.cgroupParent;
    this.monitor = PayloadMonitor.start({
      sid: pid,
      cgroup: this.cgroup ? { dir: this.cgroup.dir, version: this.cgroup.version, own: true } : enclosing ? { ...enclosing, own: false } : null,
      intervalMs: this.settings.intervalMs,
      limits: this.limits,
      workDir: jobDir,
      outputFiles,
      outputFile: path.join(jobDir, MONITOR_OUTPUT),
      onVerdict,
      onWriteError: (err) => this.log.warn({ event: 'monitor_write_failed', err: err.message }, 'cannot write the monitor time series'),
      ...(sleep ? { sleep } : {}),
      ...(onSample ? { onSample } : {}),
    });
    return this.monitor;
  }

  summary(): MetricsSummary | null {
    return this.monitor?.summary() ?? null;
  }

  /** Stops the monitor; for a failed payload, looks for OOM evidence. */
  async finish(exit: PayloadExit, failed: boolean): Promise<{ summary: MetricsSummary | null; oom: OomEvidence | null; sampleCpuMs: number }> {
    if (!this.monitor) return { summary: null, oom: null, sampleCpuMs: 0 };
    const { summary, cgroupAtEnd } = await this.monitor.stop();
    let oom: OomEvidence | null = null;
    if (failed) {
      const kernel = findOomKill((this.settings.readKernelLog ?? readKernelLog)(), {
        pids: this.monitor.pidsSeen(),
        cgroupPath: this.cgroup?.cgroupPath,
        sinceSec: this.startClockSec,
      });
      oom = detectOom({
        signal: exit.signal,
        ownCgroup: this.cgroup !== null,
        cgroupName: this.cgroup?.cgroupPath ?? this.settings.cgroupParent?.cgroupPath ?? null,
        atStart: this.monitor.cgroupAtStart,
        atEnd: cgroupAtEnd,
        kernel,
      });
      if (oom) this.log.warn({ event: 'oom_detected', source: oom.source, diag: oom.diagnostic }, 'payload was killed for memory');
    }
    return { summary, oom, sampleCpuMs: this.monitor.sampleCpuMs };
  }

  /** Removes the payload cgroup (killing leftovers). Safe to call more than once. */
  async cleanup(): Promise<void> {
    if (!this.cgroup) return;
    const removed = await this.cgroup.remove();
    if (!removed) this.log.warn({ event: 'cgroup_not_removed', dir: this.cgroup.dir }, 'payload cgroup could not be removed');
  }
}
