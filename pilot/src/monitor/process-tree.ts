/**
 * Reads the payload's processes from /proc: every process in the payload's
 * session (the payload leads its own session, so grandchildren are included
 * even after their parents exit).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
  pid: number;
  ppid: number;
  sid: number;
  /** kB */
  rss: number;
  /** kB */
  vmem: number;
  /** seconds */
  cpuUser: number;
  cpuSys: number;
  comm: string;
}

const CLOCK_TICKS = 100; // USER_HZ is 100 on every Linux ABI Node runs on

/** Parses /proc/<pid>/stat; the comm field may hold spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text: string, pageSizeKb = 4): ProcessSample | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return null;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3]
  const num = (n: number) => Number(f[n - 3] ?? 0);
  return {
    pid,
    ppid: num(4),
    sid: num(6),
    cpuUser: num(14) / CLOCK_TICKS,
    cpuSys: num(15) / CLOCK_TICKS,
    vmem: Math.round(num(23) / 1024),
    rss: num(24) * pageSizeKb,
    comm,
  };
}

/** All live processes in session `sid`. */
export function sessionProcesses(sid: number, procRoot = '/proc'): ProcessSample[] {
  const out: ProcessSample[] = [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const sample = parseProcStat(readFileSync(`${procRoot}/${name}/stat`, 'utf8'));
      if (sample && sample.sid === sid) out.push(sample);
    } catch {
      // the process ended between readdir and read
    }
  }
  return out;
}

export interface TreeTotals {
  nprocs: number;
  rssKb: number;
  vmemKb: number;
  cpuSec: number;
}

export function totals(samples: ProcessSample[]): TreeTotals {
  return samples.reduce(
    (acc, s) => ({ nprocs: acc.nprocs + 1, rssKb: acc.rssKb + s.rss, vmemKb: acc.vmemKb + s.vmem, cpuSec: acc.cpuSec + s.cpuUser + s.cpuSys }),
    { nprocs: 0, rssKb: 0, vmemKb: 0, cpuSec: 0 },
  );
}

/** Memory and I/O counters beyond /proc/<pid>/stat. kB for memory, bytes for I/O. */
export interface ProcessDetail extends ProcessSample {
  pss: number;
  swap: number;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

/** `Pss:` and `Swap:` (kB) from /proc/<pid>/smaps_rollup. */
export function parseSmapsRollup(text: string): { pss: number; swap: number } {
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { pss: kb('Pss'), swap: kb('Swap') };
}

/** rchar/wchar/read_bytes/write_bytes (bytes) from /proc/<pid>/io. */
export function parseProcIo(text: string): { rchar: number; wchar: number; readBytes: number; writeBytes: number } {
  const n = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rchar: n('rchar'), wchar: n('wchar'), readBytes: n('read_bytes'), writeBytes: n('write_bytes') };
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

const rollupKnown = new Map<string, boolean>();

/** Kernels before 4.14 have no smaps_rollup: there a process's RSS stands alone and PSS reads 0. */
function kernelHasRollup(procRoot: string): boolean {
  let known = rollupKnown.get(procRoot);
  if (known === undefined) {
    known = existsSync(`${procRoot}/self/smaps_rollup`);
    rollupKnown.set(procRoot, known);
  }
  return known;
}

/**
 * What a read of a process's smaps_rollup says: its text; `gone` when the process exited or its
 * memory was torn down (ENOENT, ESRCH, or no `Pss:` line); `unreadable` when it lives but may not
 * be read (EACCES: a setuid helper such as a container runtime's starter, whose stat stays
 * world-readable). `read` is the file's text or the read's error code.
 */
export function rollupReading(read: { text: string } | { code: string | undefined }): string | 'gone' | 'unreadable' {
  if ('text' in read) return /^Pss:/m.test(read.text) ? read.text : 'gone';
  return read.code === 'EACCES' || read.code === 'EPERM' ? 'unreadable' : 'gone';
}

function readRollup(file: string): string | 'gone' | 'unreadable' {
  try {
    return rollupReading({ text: readFileSync(file, 'utf8') });
  } catch (err) {
    return rollupReading({ code: (err as NodeJS.ErrnoException).code });
  }
}

/**
 * Adds PSS, swap and I/O to stat samples. A process gone by the time its smaps_rollup is read
 * (it exited after its stat was read) counts no memory at all in this sample, RSS and VMEM
 * included: a sample must not hold a process's RSS without its PSS. A payload that ends at once
 * otherwise showed its whole RSS beside a PSS of its launcher only, and the final's maxPSS came
 * out a tenth of its maxRSS. Its CPU and I/O still count, as their totals only grow. A process
 * that lives but whose smaps_rollup may not be read keeps its RSS from stat, with PSS 0, as on
 * a kernel without smaps_rollup.
 */
export function withDetails(samples: ProcessSample[], procRoot = '/proc'): ProcessDetail[] {
  const rollups = kernelHasRollup(procRoot);
  return samples.map((s) => {
    const rollup = rollups ? readRollup(`${procRoot}/${s.pid}/smaps_rollup`) : 'unreadable';
    const io = parseProcIo(readOr(`${procRoot}/${s.pid}/io`, ''));
    if (rollup === 'gone') return { ...s, rss: 0, vmem: 0, pss: 0, swap: 0, ...io };
    if (rollup === 'unreadable') return { ...s, pss: 0, swap: 0, ...io };
    return { ...s, ...parseSmapsRollup(rollup), ...io };
  });
}

/** Stat samples of the given PIDs (e.g. a cgroup's cgroup.procs): no scan of all of /proc. */
export function pidProcesses(pids: readonly number[], procRoot = '/proc'): ProcessSample[] {
  const out: ProcessSample[] = [];
  for (const pid of pids) {
    const sample = parseProcStat(readOr(`${procRoot}/${pid}/stat`, ''));
    if (sample) out.push(sample);
  }
  return out;
}
