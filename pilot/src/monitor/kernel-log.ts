/**
 * The kernel's own words about an OOM kill, for the 1212 diagnostic:
 * "Memory cgroup out of memory: Killed process 3719039 (python) total-vm:…".
 * Read from /dev/kmsg (no external tool needed), else `dmesg`; parsing and
 * matching are pure so fixtures can drive them.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync, readSync } from 'node:fs';

/** One kernel log record: seconds since boot (when known) and its text. */
export interface KernelRecord {
  timeSec: number | null;
  text: string;
}

/** A kill the OOM killer logged. */
export interface OomKillRecord {
  pid: number;
  name: string;
  totalVmKb: number;
  anonRssKb: number;
  /** The record from "Memory cgroup out of memory: …" (or "Out of memory: …") on. */
  line: string;
  timeSec: number | null;
}

/** `pri,seq,usec,flags;text` from /dev/kmsg. */
export function parseKmsgRecord(raw: string): KernelRecord {
  const semi = raw.indexOf(';');
  if (semi < 0) return { timeSec: null, text: raw.trim() };
  const usec = Number(raw.slice(0, semi).split(',')[2]);
  // Continuation lines (" KEY=value") follow the first line; only the first is the message.
  const text = (raw.slice(semi + 1).split('\n')[0] ?? '').trim();
  return { timeSec: Number.isFinite(usec) ? usec / 1e6 : null, text };
}

/** `[ 1172.938775] text` from dmesg. */
export function parseDmesgLine(line: string): KernelRecord {
  const m = /^\[\s*(\d+\.\d+)\]\s?(.*)$/.exec(line);
  return m ? { timeSec: Number(m[1]), text: (m[2] ?? '').trim() } : { timeSec: null, text: line.trim() };
}

const KILLED = /((?:Memory cgroup out of memory|Out of memory): Killed process (\d+) \((.*?)\) total-vm:(\d+)kB, anon-rss:(\d+)kB.*)$/;
const MEMCG = /^oom-kill:.*\btask_memcg=([^,]*),.*\bpid=(\d+)/;

export interface OomMatch {
  /** PIDs seen in the payload's tree. */
  pids: ReadonlySet<number>;
  /** The payload's own cgroup path (as the kernel names it), when it has one. */
  cgroupPath?: string | undefined;
  /** Ignore records from before the payload started (seconds since boot). */
  sinceSec?: number | undefined;
}

/**
 * The latest OOM kill of a process that belonged to the payload: its PID was
 * seen in the tree, or the kernel's `oom-kill:` line puts it in the payload's cgroup.
 */
export function findOomKill(records: readonly KernelRecord[], match: OomMatch): OomKillRecord | null {
  const inCgroup = new Set<number>();
  let found: OomKillRecord | null = null;
  for (const r of records) {
    if (match.sinceSec !== undefined && r.timeSec !== null && r.timeSec < match.sinceSec) continue;
    const memcg = MEMCG.exec(r.text);
    if (memcg && match.cgroupPath && memcg[1] === match.cgroupPath) inCgroup.add(Number(memcg[2]));
    const k = KILLED.exec(r.text);
    if (!k) continue;
    const pid = Number(k[2]);
    if (!match.pids.has(pid) && !inCgroup.has(pid)) continue;
    found = { pid, name: k[3] ?? '', totalVmKb: Number(k[4]), anonRssKb: Number(k[5]), line: k[1] ?? r.text, timeSec: r.timeSec };
  }
  return found;
}

/** Reads the whole kernel ring buffer from /dev/kmsg without blocking. */
function readKmsg(maxRecords = 200_000): KernelRecord[] | null {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch {
    return null;
  }
  const out: KernelRecord[] = [];
  const buf = Buffer.alloc(16_384);
  try {
    for (let i = 0; i < maxRecords; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // a record was overwritten while we read: skip it
        break; // EAGAIN: the end of the buffer
      }
      if (n <= 0) break;
      out.push(parseKmsgRecord(buf.toString('utf8', 0, n)));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function readDmesg(): KernelRecord[] | null {
  try {
    const text = execFileSync('dmesg', [], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 32 * 1024 * 1024 });
    return text.split('\n').filter(Boolean).map(parseDmesgLine);
  } catch {
    return null;
  }
}

/** The kernel log, or an empty list when this process may not read it (dmesg_restrict, containers). */
export function readKernelLog(): KernelRecord[] {
  return readKmsg() ?? readDmesg() ?? [];
}

/**
 * Seconds since boot on (nearly) the clock kernel records carry: Linux's
 * CLOCK_MONOTONIC, which Node's hrtime reads, starts at boot and, like the
 * printk clock, stops during suspend. One second of slack covers the gap.
 */
export function kernelClockSec(): number {
  return Number(process.hrtime.bigint() / 1_000_000n) / 1000 - 1;
}
