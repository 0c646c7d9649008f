/**
 * A final update the server never acknowledged, kept on disk (invariant 2):
 * `<jobdir>/final-update.json`, written by the job runner when the deadline
 * passes, re-sent by `panda-pilot --recover DIR` or by the next pilot started
 * in the same work area. The record keeps the update exactly as it was made,
 * with its sequence header, so a re-send is the same update and a server that
 * did get the first copy sees a duplicate, not a second final.
 *
 * An event-service job's range reports the server never answered are kept
 * the same way, beside it: `<jobdir>/range-reports.json`, found, claimed and
 * renamed by the same functions, and re-sent before the job's final update
 * (a server stops taking range reports once the job is final).
 */
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { isFinalPilotState } from '../protocol/index.js';
import { isPilotRangeState, parseEventRangeId } from '../protocol/index.js';
import type { JobUpdate, RangeReport } from '../protocol/index.js';

export const FINAL_UPDATE_FILE = 'final-update.json';
export const RANGE_REPORTS_FILE = 'range-reports.json';
/** The kept files, in the order a recovery sends them within a job dir. */
const KEPT_FILES = [RANGE_REPORTS_FILE, FINAL_UPDATE_FILE] as const;
type KeptFileName = (typeof KEPT_FILES)[number];
/** Suffix of a file a recovery is working on: `final-update.json.recovering-<pid>`. */
const CLAIM_MARK = '.recovering-';

export interface FinalUpdateRecord {
  serverUrl: string;
  dialect: 'legacy' | 'v1' | 'harvester';
  seqHeader: string;
  update: JobUpdate;
  error?: string | undefined;
  writtenAt: string;
}

/** Range reports of one job attempt that the server never answered. */
export interface RangeReportsRecord {
  kind: 'range-reports';
  serverUrl: string;
  dialect: 'legacy' | 'v1' | 'harvester';
  pandaId: number;
  attemptNr: number;
  reports: RangeReport[];
  error?: string | undefined;
  writtenAt: string;
}

/** What a kept file holds: a final update (files written before range reports were kept have no `kind`) or range reports. */
export type KeptRecord = ({ kind?: 'final-update' } & FinalUpdateRecord) | RangeReportsRecord;

function writeKept(file: string, record: unknown): string {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 1)}\n`, { mode: 0o600 });
  renameSync(tmp, file); // a reader never sees half a record
  return file;
}

/** Writes the record into `dir` (owner-only: it holds the job's report). Returns the file. */
export function writeFinalUpdate(dir: string, record: FinalUpdateRecord): string {
  return writeKept(path.join(dir, FINAL_UPDATE_FILE), record);
}

/** The name of a final update this pilot wrote before its first send and is still sending itself. */
function inFlightName(dir: string): string {
  return path.join(dir, `${FINAL_UPDATE_FILE}${CLAIM_MARK}${process.pid}`);
}

/**
 * Writes the final update before its first send, claimed by this process (as a recovery claims
 * a file): while the pilot lives and sends it itself, no recovery takes it — a recovery sending it
 * could overtake the job's earlier updates still in flight. If the pilot dies (SIGKILL), the claim
 * of a dead process lapses and the next pilot or `--recover` delivers it.
 */
export function writeFinalUpdateInFlight(dir: string, record: FinalUpdateRecord): string {
  return writeKept(inFlightName(dir), record);
}

/** Removes this process's in-flight copy (once the update was acknowledged or kept for recovery). */
export function dropFinalUpdateInFlight(dir: string): void {
  try {
    unlinkSync(inFlightName(dir));
  } catch {
    // never written (full disk), or already gone
  }
}

/**
 * Writes range reports into `dir`, merged with any kept there before for
 * the same job attempt (a range's newest report wins). Returns the file.
 */
export function writeRangeReports(dir: string, record: Omit<RangeReportsRecord, 'kind'>): string {
  const file = path.join(dir, RANGE_REPORTS_FILE);
  const byId = new Map<string, RangeReport>();
  try {
    const old = parseRangeReports(readFileSync(file, 'utf8'));
    if (old.pandaId === record.pandaId && old.attemptNr === record.attemptNr) for (const r of old.reports) byId.set(r.eventRangeID, r);
  } catch {
    // none kept yet (or unreadable: this write replaces it)
  }
  for (const r of record.reports) byId.set(r.eventRangeID, r);
  return writeKept(file, { ...record, kind: 'range-reports', reports: [...byId.values()] });
}

/** Parses a range-reports record; throws an Error saying what is wrong. */
export function parseRangeReports(text: string): RangeReportsRecord {
  const v = JSON.parse(text) as Partial<RangeReportsRecord> | null;
  if (!v || typeof v !== 'object' || v.kind !== 'range-reports') throw new Error('not a range-reports record');
  if (!Number.isInteger(v.pandaId) || !Number.isInteger(v.attemptNr)) throw new Error('lacks an integer pandaId / attemptNr');
  if (v.dialect !== 'legacy' && v.dialect !== 'v1' && v.dialect !== 'harvester') throw new Error(`unknown dialect ${String(v.dialect)}`);
  if (typeof v.serverUrl !== 'string') throw new Error('serverUrl missing');
  if (!Array.isArray(v.reports) || v.reports.length === 0) throw new Error('no reports');
  for (const r of v.reports as unknown[]) {
    const e = r as Partial<RangeReport> | null;
    if (!e || typeof e !== 'object' || !parseEventRangeId(e.eventRangeID) || !isPilotRangeState(e.eventStatus)) {
      throw new Error(`not a range report: ${JSON.stringify(r)?.slice(0, 80)}`);
    }
    if (parseEventRangeId(e.eventRangeID)?.pandaId !== v.pandaId) throw new Error(`report ${String(e.eventRangeID)} is not of job ${v.pandaId}`);
  }
  return v as RangeReportsRecord;
}

/**
 * Marks the final update in `dir` as acknowledged (`final-update.json.acked`),
 * so no later pilot re-sends it. A missing file is fine (nothing was kept).
 */
export function markFinalUpdateAcked(dir: string): void {
  for (const from of [inFlightName(dir), path.join(dir, FINAL_UPDATE_FILE)]) {
    try {
      renameSync(from, path.join(dir, `${FINAL_UPDATE_FILE}.acked`));
      return;
    } catch {
      // not there: never written, or already recovered
    }
  }
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
  if (v.dialect !== 'legacy' && v.dialect !== 'v1' && v.dialect !== 'harvester') throw new Error(`unknown dialect ${String(v.dialect)}`);
  if (typeof v.serverUrl !== 'string' || typeof v.seqHeader !== 'string') throw new Error('serverUrl / seqHeader missing');
  if (!v.seqHeader.startsWith(`${u.jobId}:${u.attemptNr}:`))
    throw new Error(`seqHeader ${v.seqHeader} does not belong to job ${u.jobId} attempt ${u.attemptNr}`);
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

/** Which kept file a name is: the file itself, or one a recovery that died left claimed. */
function keptKind(name: string): KeptFileName | null {
  for (const base of KEPT_FILES) {
    if (name === base) return base;
    if (!name.startsWith(base + CLAIM_MARK)) continue;
    const pid = Number(name.slice(base.length + CLAIM_MARK.length));
    return Number.isInteger(pid) && pid !== process.pid && !alive(pid) ? base : null;
  }
  return null;
}

/** Order of recovery: by directory, and within one, range reports before the final update. */
function recoveryOrder(a: string, b: string): number {
  const da = path.dirname(a);
  const db = path.dirname(b);
  if (da !== db) return da < db ? -1 : 1;
  const rank = (f: string) => KEPT_FILES.indexOf(keptKind(path.basename(f)) ?? FINAL_UPDATE_FILE);
  return rank(a) - rank(b);
}

/**
 * Kept files (final updates and range reports) under `root` (depth-limited,
 * symlinks not followed), range reports before the final update of their job.
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
      if (e.isFile() && keptKind(e.name) !== null) found.push(p);
      else if (e.isDirectory() && depth < (opts.maxDepth ?? 6)) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found.sort(recoveryOrder);
}

/**
 * Takes a file for this process by renaming it, so two pilots starting in
 * one work area never send the same file at once. Null when someone else got it.
 */
export function claimFinalUpdate(file: string): string | null {
  const base = keptKind(path.basename(file)) ?? FINAL_UPDATE_FILE;
  const claimed = path.join(path.dirname(file), `${base}${CLAIM_MARK}${process.pid}`);
  try {
    renameSync(file, claimed);
    return claimed;
  } catch {
    return null;
  }
}

/** Renames a claimed file to `<its kept name><suffix>` (`''` puts it back for a later try). */
export function releaseFinalUpdate(claimed: string, suffix: '' | '.acked' | '.refused' | '.invalid'): string {
  const name = path.basename(claimed);
  const base = KEPT_FILES.find((b) => name.startsWith(b)) ?? FINAL_UPDATE_FILE;
  const target = path.join(path.dirname(claimed), base + suffix);
  renameSync(claimed, target);
  return target;
}

/** Reads a claimed file. */
export function readFinalUpdate(file: string): FinalUpdateRecord {
  return parseFinalUpdate(readFileSync(file, 'utf8'));
}

/** Reads a claimed kept file of either kind. */
export function readKept(file: string): KeptRecord {
  const text = readFileSync(file, 'utf8');
  return path.basename(file).startsWith(RANGE_REPORTS_FILE) ? parseRangeReports(text) : parseFinalUpdate(text);
}
