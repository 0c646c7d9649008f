/**
 * A child cgroup for one payload, with a memory limit the kernel enforces.
 * The payload's launcher writes its own PID into `procsFile` before it runs
 * the payload (see run/payload-process.ts), so nothing the payload starts can
 * escape the limit. `remove()` kills whatever is left and removes the directory.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import { retry } from '../retry/index.js';
import type { CgroupLocation } from './cgroup-discovery.js';
import { CGROUP_FILES, cgroupPids, readCgroupFigures, type CgroupFigures } from './cgroup-memory.js';

export interface PayloadCgroupOptions {
  /** Name of the child directory (unique per payload, e.g. `panda-<PandaID>-<attempt>`). */
  name: string;
  /** Memory limit in MB (RAM + swap); null = no limit, watch only. */
  limitMB: number | null;
}

/** Polling an emptying cgroup: every 50 ms, no growth, no jitter (it is our own directory). */
const EMPTYING_POLL = { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 };

/**
 * cgroup v2 lets only leaf cgroups hold processes once a controller is
 * enabled for children. When the pilot sits in the cgroup it was given
 * (a delegated one), it first moves itself into a `pilot` leaf so the
 * memory controller can be switched on for its siblings, the payloads.
 */
function enableV2Memory(parent: string): void {
  const subtree = path.join(parent, 'cgroup.subtree_control');
  if (readFileSync(subtree, 'utf8').split(/\s+/).includes('memory')) return;
  const leaf = path.join(parent, 'pilot');
  // A process forked between the move and the write keeps the parent busy: move again, a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(subtree, '+memory');
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 5) throw err;
    }
    mkdirSync(leaf, { recursive: true });
    for (const pid of cgroupPids(parent)) {
      try {
        writeFileSync(path.join(leaf, 'cgroup.procs'), String(pid));
      } catch (err) {
        // ESRCH: it exited between the listing and the move (a batch script's short-lived helper).
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  }
}

export class PayloadCgroup {
  private constructor(
    readonly dir: string,
    /** The path the kernel names it by (oom-kill records: `task_memcg=`). */
    readonly cgroupPath: string,
    readonly version: CgroupLocation['version'],
    readonly limitMB: number | null,
  ) {}

  /** The file the launcher writes its PID into, before it starts the payload. */
  get procsFile(): string {
    return path.join(this.dir, 'cgroup.procs');
  }

  /** Makes the child cgroup under `parent` and sets its limit. Throws when the kernel refuses. */
  static create(parent: CgroupLocation, opts: PayloadCgroupOptions): PayloadCgroup {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.name)) throw new Error(`bad cgroup name ${JSON.stringify(opts.name)}`);
    if (parent.version === 2) enableV2Memory(parent.dir);
    const dir = path.join(parent.dir, opts.name);
    mkdirSync(dir);
    const cg = new PayloadCgroup(dir, path.posix.join(parent.cgroupPath, opts.name), parent.version, opts.limitMB);
    try {
      if (opts.limitMB !== null) cg.setLimit(opts.limitMB);
    } catch (err) {
      rmdirSync(dir);
      throw err;
    }
    return cg;
  }

  private setLimit(limitMB: number): void {
    const files = CGROUP_FILES[this.version];
    const bytes = String(Math.floor(limitMB * 1024 * 1024));
    writeFileSync(path.join(this.dir, files.limit), bytes);
    // No swap beyond the limit, as Slurm's ConstrainSwapSpace does: a payload
    // over its memory is killed, not slowed to a crawl. Absent without swap accounting.
    try {
      writeFileSync(path.join(this.dir, files.swapLimit), this.version === 1 ? bytes : '0');
    } catch {
      // swap accounting is off on this kernel: RAM is still limited
    }
  }

  read(): CgroupFigures {
    return readCgroupFigures(this.dir, this.version);
  }

  pids(): number[] {
    return cgroupPids(this.dir);
  }

  /**
   * Kills leftovers (a payload's daemon that left its session still sits
   * here), waits for the cgroup to empty, and removes it. Returns false when
   * it could not be removed within `waitMs`; the directory then stays for the
   * batch system's own cleanup.
   */
  async remove(waitMs = 2_000): Promise<boolean> {
    const emptyAndRemove = async (): Promise<void> => {
      for (const pid of this.pids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      try {
        // On the thread pool: a cgroup's rmdir costs the kernel a millisecond or more, which the next job's dispatch must not wait on.
        await rmdir(this.dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // EBUSY while the killed ones exit
      }
    };
    try {
      // Bounded by the deadline alone: removal must finish even while the pilot is stopping.
      await retry(emptyAndRemove, { signal: new AbortController().signal, retryable: () => true, backoff: EMPTYING_POLL, deadline: Date.now() + waitMs });
      return true;
    } catch {
      return false;
    }
  }
}
