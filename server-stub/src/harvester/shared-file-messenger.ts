/**
 * Harvester's side of the access point, behaving as its
 * shared_file_messenger does (HSF/harvester): what it reads from a worker,
 * what it writes for it, and the `.read` renames that mark a file consumed
 * (a `.read` not yet acknowledged is read again before any newer file, and
 * acknowledging renames it to `.read.<timestamp>`).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { HARVESTER_FILES, HARVESTER_READ_SUFFIX } from '../../../pilot/src/protocol/index.js';

const FILES = { ...HARVESTER_FILES, jobSpec: HARVESTER_FILES.jobs, jobSpecCgi: HARVESTER_FILES.jobData } as const;
const READ = HARVESTER_READ_SUFFIX;

export type JobSpecFormat = 'json' | 'cgi';

/** One file Harvester must stage out (an event_status.dump.json entry). */
export interface StageOutFile {
  type: string;
  path: string;
  guid: string;
  fsize: number;
  chksum: string;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').replace('Z', '');

export class SharedFileMessenger {
  constructor(readonly accessPoint: string) {}

  private file(name: string): string {
    return path.join(this.accessPoint, name);
  }

  /** feed_jobs: the job spec file (JSON `{PandaID: params}` or the urlencoded params), an empty PFC, the PandaIDs; the request file goes. */
  feedJobs(jobs: readonly Record<string, unknown>[], format: JobSpecFormat): void {
    if (format === 'cgi') {
      const [job] = jobs;
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(job ?? {}))
        params.append(k, v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
      writeFileSync(this.file(FILES.jobSpecCgi), params.toString());
    } else {
      writeFileSync(this.file(FILES.jobSpec), JSON.stringify(Object.fromEntries(jobs.map((j) => [String(j.PandaID), j]))));
    }
    writeFileSync(this.file(FILES.poolFileCatalog), '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n<POOLFILECATALOG>\n</POOLFILECATALOG>\n');
    writeFileSync(this.file(FILES.pandaIds), JSON.stringify(jobs.map((j) => Number(j.PandaID))));
    rmSync(this.file(FILES.jobRequest), { force: true });
  }

  /** job_requested: nJobs from worker_requestjob.json (1 when unreadable), or 0 when there is none. */
  jobRequested(): number {
    const f = this.file(FILES.jobRequest);
    if (!existsSync(f)) return 0;
    try {
      const n = Number((readJson(f) as { nJobs?: unknown }).nJobs);
      return Number.isInteger(n) && n > 0 ? n : 1;
    } catch {
      return 1;
    }
  }

  /** get_work_attributes: worker_attributes.json (+ jobReport.json as metaData); the file stays, it is read again later. */
  workAttributes(): { attributes: Record<string, unknown> } | null {
    const f = this.file(FILES.workerAttributes);
    if (!existsSync(f)) return null;
    let attributes: Record<string, unknown>;
    try {
      attributes = readJson(f) as Record<string, unknown>;
    } catch {
      return null; // Harvester logs and retries on its next cycle
    }
    const report = this.file(FILES.jobReport);
    if (existsSync(report)) {
      try {
        attributes = { ...attributes, metaData: readJson(report) };
      } catch {
        // an unreadable report is left out, as Harvester does
      }
    }
    return { attributes };
  }

  /** Renames `name` to `name.read` unless a `.read` is still pending; returns the `.read` path, or null. */
  private claim(name: string): string | null {
    const f = this.file(name);
    const read = f + READ;
    if (existsSync(read)) return read;
    if (!existsSync(f)) return null;
    renameSync(f, read);
    return read;
  }

  /** get_files_to_stage_out: event_status.dump.json → {PandaID: files}. */
  filesToStageOut(): Record<string, StageOutFile[]> {
    const read = this.claim(FILES.eventStatus);
    if (!read) return {};
    try {
      const value = readJson(read);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a dictionary');
      return value as Record<string, StageOutFile[]>;
    } catch {
      rmSync(read, { force: true });
      return {};
    }
  }

  /** events_requested: worker_requestevents.json as it is ({PandaID: {nRanges, taskID, jobsetID}}). */
  eventsRequested(): Record<string, { nRanges?: number; taskID?: number; jobsetID?: number }> {
    const f = this.file(FILES.eventRequest);
    if (!existsSync(f)) return {};
    try {
      return readJson(f) as Record<string, { nRanges?: number; taskID?: number; jobsetID?: number }>;
    } catch {
      return {};
    }
  }

  /** feed_events: JobsEventRanges.json, then the request file goes (the worker waits for that). */
  feedEvents(events: Record<string, unknown[]>): void {
    writeFileSync(this.file(FILES.eventRanges), JSON.stringify(events));
    rmSync(this.file(FILES.eventRequest), { force: true });
  }

  /** events_to_update: worker_updateevents.json → {PandaID: range updates}. */
  eventsToUpdate(): Record<string, Record<string, unknown>[]> {
    const read = this.claim(FILES.eventUpdate);
    if (!read) return {};
    try {
      return readJson(read) as Record<string, Record<string, unknown>[]>;
    } catch {
      rmSync(read, { force: true });
      return {};
    }
  }

  /** acknowledge_events_files: the consumed `.read` files become `.read.<timestamp>`. */
  acknowledgeEventsFiles(): void {
    for (const name of [FILES.eventUpdate, FILES.eventStatus]) {
      const read = this.file(name) + READ;
      if (existsSync(read)) renameSync(read, `${read}.${stamp()}`);
    }
  }

  /** kill_requested: the worker touched kill_worker (pilot3's name) or kill_worker.json (Harvester's default). */
  killRequested(): boolean {
    return existsSync(this.file(FILES.killWorker)) || existsSync(this.file(FILES.killWorkerJson));
  }
}
