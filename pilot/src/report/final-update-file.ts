/**
 * A final update the server never acknowledged, kept on disk (invariant 2):
 * `<jobdir>/final-update.json`, written by the job runner when the deadline
 * passes, re-sent by `panda-pilot --recover DIR` or by the next pilot started
 * in the same work area. The record keeps the update exactly as it was made,
 * with its sequence header, so a re-send is the same update and a server that
 * did get the first copy sees a duplicate, not a second final.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { isFinalPilotState } from '../protocol/index.js';
import type { JobUpdate } from '../server/index.js';

export const FINAL_UPDATE_FILE = 'final-update.json';
/** Suffix of a file a recovery is working on: `final-update.json.recovering-<pid>`. */
const CLAIM_MARK = '.recovering-';

export interface FinalUpdateRecord {
  serverUrl: string;
  dialect: 'legacy' | 'v1';
  seqHeader: string;
  update: JobUpdate;
  error?: string | undefined;
  writtenAt: string;
}

/** Writes the record into `dir` (owner-only: it holds the job's report). Returns the file. */
export function writeFinalUpdate(dir: string, record: FinalUpdateRecord): string {
  const file = path.join(dir, FINAL_UPDATE_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 1)}\n`, { mode: 0o600 });
  renameSync(tmp, file); // a reader never sees half a record
  return file;
}

/** Parses a record; throws an Error saying what is wrong. */
export function parseFinalUpdate(text: string): FinalUpdateRecord {
  const v = JSON.parse(text) as Partial<FinalUpdateRecord> | null;
  if (!v || typeof v !== 'object') throw new Error('not a JSON object');
  const u = v.update as Partial<JobUpdate> | undefined;
  if (!u || typeof u !== 'object') throw new Error('no update');
  if (!Number.isInteger(u.jobId) || !Number.isInteger(u.attemptNr)) throw new Error('update lacks an integer jobId / attemptNr');
  if (typeof u.state !== 'string' || !isFinalPilotState(u.state)) throw new Error(`update state ${String(u.state)} is not final`);
  if (!u.fields || typeof u.fields !== 'object') throw new Error('update lacks fields');
  if (v.dialect !== 'legacy' && v.dialect !== 'v1') throw new Error(`unknown dialect ${String(v.dialect)}`);
  if (typeof v.serverUrl !== 'string' || typeof v.seqHeader !== 'string') throw new Error('serverUrl / seqHeader missing');
  if (!v.seqHeader.startsWith(`${u.jobId}:${u.attemptNr}:`)) throw new Error(`seqHeader ${v.seqHeader} does not belong to job ${u.jobId} attempt ${u.attemptNr}`);
  return v as FinalUpdateRecord;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A final-update file, or one a recovery that died left claimed. */
function isCandidate(name: string): boolean {
  if (name === FINAL_UPDATE_FILE) return true;
  if (!name.startsWith(FINAL_UPDATE_FILE + CLAIM_MARK)) return false;
  const pid = Number(name.slice(FINAL_UPDATE_FILE.length + CLAIM_MARK.length));
  return Number.isInteger(pid) && pid !== process.pid && !alive(pid);
}

/**
 * Final-update files under `root` (depth-limited, symlinks not followed).
 * `topLevel` filters the entries directly under root (the pilot uses it to
 * look only into pilot homes).
 */
export function findFinalUpdates(root: string, opts: { maxDepth?: number; topLevel?: (name: string) => boolean } = {}): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or vanished: nothing of ours there
    }
    for (const e of entries) {
      if (depth === 0 && opts.topLevel && !opts.topLevel(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isFile() && isCandidate(e.name)) found.push(p);
      else if (e.isDirectory() && depth < (opts.maxDepth ?? 6)) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found.sort();
}

/**
 * Takes a file for this process by renaming it, so two pilots starting in
 * one work area never send the same file at once. Null when someone else got it.
 */
export function claimFinalUpdate(file: string): string | null {
  const claimed = path.join(path.dirname(file), `${FINAL_UPDATE_FILE}${CLAIM_MARK}${process.pid}`);
  try {
    renameSync(file, claimed);
    return claimed;
  } catch {
    return null;
  }
}

/** Renames a claimed file to `final-update.json<suffix>` (`''` puts it back for a later try). */
export function releaseFinalUpdate(claimed: string, suffix: '' | '.acked' | '.refused' | '.invalid'): string {
  const target = path.join(path.dirname(claimed), FINAL_UPDATE_FILE + suffix);
  renameSync(claimed, target);
  return target;
}

/** Reads a claimed file. */
export function readFinalUpdate(file: string): FinalUpdateRecord {
  return parseFinalUpdate(readFileSync(file, 'utf8'));
}
