/**
 * Memory figures of one cgroup, v1 or v2: usage, peak, limit and the
 * OOM-kill counter. The two versions name the same facts differently;
 * this file is the one place that knows both layouts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CgroupVersion } from './cgroup-discovery.js';

/** Files per version. `oomFile` holds an `oom_kill N` line in both. */
export const CGROUP_FILES: Readonly<Record<CgroupVersion, { usage: string; peak: string; limit: string; swapLimit: string; oomFile: string }>> = {
  1: {
    usage: 'memory.usage_in_bytes',
    peak: 'memory.max_usage_in_bytes',
    limit: 'memory.limit_in_bytes',
    swapLimit: 'memory.memsw.limit_in_bytes',
    oomFile: 'memory.oom_control',
  },
  2: { usage: 'memory.current', peak: 'memory.peak', limit: 'memory.max', swapLimit: 'memory.swap.max', oomFile: 'memory.events' },
};

/** One reading of a cgroup's memory. kB; null where the kernel does not say. */
export interface CgroupFigures {
  usageKb: number | null;
  peakKb: number | null;
  /** Null when unlimited. */
  limitKb: number | null;
  /** OOM kills inside the cgroup since it was made (kernel ≥ 4.13 on v1). */
  oomKills: number | null;
}

/** v1 reports "no limit" as a page-rounded 2^63-1; anything this large is unlimited. */
const UNLIMITED_BYTES = 2 ** 60;

/** A byte count file (`123`, or v2's `max`) → kB, null for unlimited/absent. */
export function parseBytes(text: string | null): number | null {
  if (text === null) return null;
  const t = text.trim();
  if (t === '' || t === 'max') return null;
  const n = Number(t);
  if (!Number.isFinite(n) || n >= UNLIMITED_BYTES) return null;
  return Math.floor(n / 1024);
}

/** The `oom_kill N` counter from memory.oom_control (v1) or memory.events (v2). */
export function parseOomKills(text: string | null): number | null {
  if (text === null) return null;
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Reads every figure; a missing file gives null, never an exception. */
export function readCgroupFigures(dir: string, version: CgroupVersion): CgroupFigures {
  const f = CGROUP_FILES[version];
  return {
    usageKb: parseBytes(readOrNull(path.join(dir, f.usage))),
    peakKb: parseBytes(readOrNull(path.join(dir, f.peak))),
    limitKb: parseBytes(readOrNull(path.join(dir, f.limit))),
    oomKills: parseOomKills(readOrNull(path.join(dir, f.oomFile))),
  };
}

/** PIDs in a cgroup (cgroup.procs), empty when it is gone. */
export function cgroupPids(dir: string): number[] {
  const text = readOrNull(path.join(dir, 'cgroup.procs')) ?? '';
  return text
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}
