/**
 * Reads the payload's processes from /proc: every process in the payload's
 * session (the payload leads its own session, so grandchildren are included
 * even after their parents exit).
 */
import { readdirSync, readFileSync } from 'node:fs';

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
