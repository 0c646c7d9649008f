/**
 * Payload process groups (and cgroups) recorded in the pilot home while they
 * may have members. A pilot that is SIGKILLed cannot stop its payloads (they
 * run in their own sessions); the wrapper (runpilot.sh) or the next pilot in
 * the same work area reads these records and kills what is left.
 *
 * One file per group, `<home>/payloads/<pgid>`, as `key=value` lines so a
 * shell can read it: pgid, cgroup (the payload cgroup dir, or empty), jobdir
 * (the payload's PILOT_JOB_DIR: a process is only killed when its environment
 * names it, so a recycled group id never takes a stranger with it).
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export interface PayloadGroupRecord {
  pgid: number;
  /** cgroup.procs of the payload's cgroup, when it has one. */
  cgroupProcsFile: string | null;
  jobDir: string;
}

export const PAYLOAD_RECORDS_DIR = 'payloads';

/**
 * Record dirs made (or found) by this process: a payload's start makes its dir only the first time,
 * not once a job (a mkdir that fails with EEXIST is a syscall on the slot's idle path). A dir
 * removed since is made again when the write says ENOENT.
 */
const madeDirs = new Set<string>();

/** Writes the record (atomically: a reader never sees half of it); returns its path. Best effort: null when the home is not writable. */
export function recordPayloadGroup(dir: string, rec: PayloadGroupRecord): string | null {
  try {
    const file = path.join(dir, String(rec.pgid));
    const cgroup = rec.cgroupProcsFile ? path.dirname(rec.cgroupProcsFile) : '';
    const text = `pgid=${rec.pgid}\ncgroup=${cgroup}\njobdir=${rec.jobDir}\n`;
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      writeFileSync(`${file}.tmp`, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      madeDirs.delete(dir);
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
      writeFileSync(`${file}.tmp`, text);
    }
    // Whole or not at all under its final name: runpilot.sh and the next pilot read only `<pgid>`.
    renameSync(`${file}.tmp`, file);
    return file;
  } catch {
    return null;
  }
}

export function forgetPayloadGroup(file: string): void {
  rmSync(file, { force: true });
}

function parseRecord(text: string): { pgid: number; cgroup: string; jobDir: string } | null {
  const kv = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const pgid = Number(kv.get('pgid'));
  if (!Number.isInteger(pgid) || pgid <= 1) return null;
  return { pgid, cgroup: kv.get('cgroup') ?? '', jobDir: kv.get('jobdir') ?? '' };
}

/** Start of a process in seconds since the epoch, from /proc (null when gone). */
function processStartEpoch(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return btime + ticks / 100; // USER_HZ is 100 on every Linux the pilot runs on
  } catch {
    return null;
  }
}

/** Whether the pilot that made `PanDA_Pilot3_<pid>_<epoch>` still runs (its pid alive and started before its home). */
export function pilotHomeAlive(home: string): boolean {
  const m = /PanDA_Pilot3_(\d+)_(\d+)$/.exec(path.basename(home));
  if (!m) return false;
  const started = processStartEpoch(Number(m[1]));
  return started !== null && started <= Number(m[2]) + 5;
}

function groupMembers(pgid: number, jobDir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (env.includes(`PILOT_JOB_DIR=${jobDir}`)) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

function cgroupMembers(cgroup: string): number[] {
  try {
    return readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills what recorded payload groups left behind, under `workArea`'s pilot
 * homes whose pilot is gone. Returns the pids signalled.
 */
export function killLeftoverPayloads(workArea: string, isAlive: (home: string) => boolean = pilotHomeAlive): number[] {
  const killed: number[] = [];
  let homes: string[];
  try {
    homes = readdirSync(workArea)
      .filter((n) => n.startsWith('PanDA_Pilot3_'))
      .map((n) => path.join(workArea, n));
  } catch {
    return killed;
  }
  for (const home of homes) {
    const dir = path.join(home, PAYLOAD_RECORDS_DIR);
    if (!existsSync(dir) || isAlive(home)) continue;
    for (const name of readdirSync(dir)) {
      if (!/^\d+$/.test(name)) continue;
      const file = path.join(dir, name);
      let rec;
      try {
        rec = parseRecord(readFileSync(file, 'utf8'));
      } catch {
        continue;
      }
      if (!rec) continue;
      const pids = new Set([...groupMembers(rec.pgid, rec.jobDir), ...(rec.cgroup ? cgroupMembers(rec.cgroup) : [])]);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          killed.push(pid);
        } catch {
          // already gone
        }
      }
      forgetPayloadGroup(file);
    }
  }
  return killed;
}
