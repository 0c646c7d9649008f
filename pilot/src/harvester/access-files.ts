/**
 * The access point's file names and the atomic writer: Harvester reads these files on its own
 * schedule, so each is written under a temporary name in the same directory
 * and renamed, and a reader never sees half a file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, utimesSync, writeSync } from 'node:fs';
import path from 'node:path';
import { HARVESTER_FILES, HARVESTER_READ_SUFFIX } from '../protocol/index.js';

/** The access point's file names (protocol/), under the name this folder uses. */
export const ACCESS_FILES = HARVESTER_FILES;

/** Suffix Harvester gives a file it consumed. */
export const READ_SUFFIX = HARVESTER_READ_SUFFIX;

let counter = 0;

/** Writes `text` to `file` atomically: temporary file in the same dir, fsync, rename. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++counter}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** JSON, atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value)}\n`);
}

/** Creates `file` empty, or refreshes its mtime. */
export function touch(file: string): void {
  closeSync(openSync(file, 'a'));
  const now = new Date();
  utimesSync(file, now, now);
}
