/** File-system facts the watchdogs need: the newest change in the job dir and the payload's output sizes. */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';

/**
 * mtime (ms) of the newest file under `dir`, skipping `ignore` (the monitor's
 * own output, which changes every sample). Bounded to `maxEntries` so a job
 * dir with millions of files cannot stall the monitor.
 */
export function newestMtimeMs(dir: string, ignore: ReadonlySet<string> = new Set(), maxEntries = 20_000): number | null {
  let newest: number | null = null;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < maxEntries) {
    const d = stack.pop() as string;
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++seen > maxEntries) break;
      const p = path.join(d, e.name);
      if (ignore.has(p)) continue;
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      try {
        const m = statSync(p).mtimeMs;
        if (newest === null || m > newest) newest = m;
      } catch {
        // removed meanwhile
      }
    }
  }
  return newest;
}

/** Sum of the sizes of `files` (missing ones count 0). */
export function totalSize(files: readonly string[]): number {
  let n = 0;
  for (const f of files) {
    try {
      n += statSync(f).size;
    } catch {
      // not written yet
    }
  }
  return n;
}
