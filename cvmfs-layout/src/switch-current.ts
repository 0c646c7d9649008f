/**
 * Points `<panda_env>/current` at a version atomically: a new symlink made
 * beside it is renamed over the old one (rename(2) replaces a symlink in one
 * step), so a reader resolves either the old version or the new, never none.
 */
import { lstatSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

export const CURRENT = 'current';

/** Switches `current` to `target` (a directory name inside `envDir`, linked relatively so the tree can move). */
export function switchCurrent(envDir: string, target: string): void {
  const current = path.join(envDir, CURRENT);
  let existing;
  try {
    existing = lstatSync(current);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isSymbolicLink()) throw new Error(`${current} exists and is not a symlink; not replacing it`);
  const tmp = path.join(envDir, `.${CURRENT}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, current);
}
