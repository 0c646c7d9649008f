/**
 * Was a failed payload killed for memory? Evidence, not exit codes: a 137
 * alone may be anyone's SIGKILL. The kernel log, the cgroup's OOM-kill
 * counter, or a SIGKILL while the cgroup sat at its limit say it was.
 */
import type { CgroupFigures } from './cgroup-memory.js';
import type { OomKillRecord } from './kernel-log.js';

export interface OomFacts {
  /** The signal that ended the payload (from the launcher's status). */
  signal: NodeJS.Signals | null;
  /** True when the figures are the payload's own cgroup, false for the enclosing (shared) one. */
  ownCgroup: boolean;
  /** Where the figures come from, for the diagnostic (the kernel's cgroup path or a directory). */
  cgroupName: string | null;
  atStart: CgroupFigures | null;
  atEnd: CgroupFigures | null;
  /** The kernel's record of a kill in the payload's tree or cgroup, when readable. */
  kernel: OomKillRecord | null;
}

export interface OomEvidence {
  diagnostic: string;
  source: 'kernel-log' | 'oom-kill-counter' | 'cgroup-at-limit';
}

const mb = (kb: number | null): string => (kb === null ? '?' : `${Math.round(kb / 1024)} MB`);

/** Within 1 % of the limit counts as at it: the peak is sampled in pages. */
function atLimit(f: CgroupFigures | null): boolean {
  return f !== null && f.limitKb !== null && f.peakKb !== null && f.peakKb >= f.limitKb * 0.99;
}

/** OOM evidence for a payload that failed, or null when there is none. */
export function detectOom(f: OomFacts): OomEvidence | null {
  // The payload's own cgroup is new: its counter starts at 0 whenever the first sample came.
  const before = f.ownCgroup ? 0 : (f.atStart?.oomKills ?? null);
  const after = f.atEnd?.oomKills ?? null;
  const moved = before !== null && after !== null && after > before;
  // An enclosing cgroup is shared with other slots: its counter only counts when our payload was the one SIGKILLed.
  const counter = moved && (f.ownCgroup || f.signal === 'SIGKILL');
  const limitHit = f.signal === 'SIGKILL' && atLimit(f.atEnd);
  if (f.kernel) return { diagnostic: f.kernel.line, source: 'kernel-log' };
  if (!counter && !limitHit) return null;
  const where = f.cgroupName ? `memory cgroup ${f.cgroupName}` : 'the memory cgroup';
  const figures = `limit ${mb(f.atEnd?.limitKb ?? null)}, peak ${mb(f.atEnd?.peakKb ?? null)}`;
  if (counter) {
    return {
      diagnostic: `Memory cgroup out of memory: the kernel OOM-killed the payload in ${where} (${figures}, oom_kill ${before}→${after}); no kernel log record readable`,
      source: 'oom-kill-counter',
    };
  }
  return {
    diagnostic: `Memory cgroup out of memory: payload SIGKILLed with ${where} at its limit (${figures}); no kernel log record readable`,
    source: 'cgroup-at-limit',
  };
}
