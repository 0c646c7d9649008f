/**
 * Push mode as the server the pilot's logic sees (PandaServer): Harvester
 * took the job from the PanDA server already, and everything between the
 * pilot and the server goes through files in the worker's access point
 * (docs/harvester.md). The job runner, its monitoring, watchdogs and
 * error codes are the pull mode's; only this transport differs.
 *
 * - getJob: the job file Harvester left (HPCJobs.json / pandaJobData.out);
 *   for a next job, `worker_requestjob.json` and a bounded wait.
 * - updateJob: `worker_attributes.json` (and `worker_heartbeat.json`); the
 *   final one first puts the log tarball in the access point, lists it in
 *   `event_status.dump.json` and copies `jobReport.json`.
 * - event ranges: `worker_requestevents.json` → `JobsEventRanges.json`,
 *   reports appended to `worker_updateevents.json`.
 */
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { isFinalPilotState } from '../protocol/index.js';
import { jobDirPath } from '../run/index.js';
import { realPause, type Sleep } from '../retry/index.js';
import type {
  BulkUpdateItem,
  JobRequest,
  JobUpdate,
  PandaServer,
  RangeReport,
  RangeReportReply,
  RangeRequest,
  SendOptions,
  UpdateReply,
  WorkerStatusReport,
} from '../protocol/index.js';
import { ACCESS_FILES, READ_SUFFIX, touch, writeFileAtomic, writeJsonAtomic } from './access-files.js';
import type { AccessPoint } from './harvester-mode.js';
import { takeJobFile } from './job-source.js';

export interface PushServerOptions {
  accessPoint: AccessPoint;
  /** The pilot's home: job dirs (log tarball, jobReport.json) and copies of the job files. */
  pilotHome: string;
  log: Logger;
  /** After the first job: ask Harvester for more (worker_requestjob.json) and wait this long; 0 = one job per pilot. */
  nextJobWaitMs: number;
  /** How long a range request may wait for Harvester's JobsEventRanges.json. */
  eventWaitMs: number;
  /** Pause between looks at the access point while waiting. */
  pollMs: number;
  sleep?: Sleep | undefined;
}

/** Fields a server update carries that Harvester must not get in the attributes file (pilot3 drops them too). */
const NOT_ATTRIBUTES = new Set(['xml', 'outputfiles', 'inputfiles']);

/** One entry of event_status.dump.json. */
export interface StageOutEntry {
  type: 'log' | 'output';
  path: string;
  guid: string;
  fsize: number;
  chksum: string;
}

const OK: UpdateReply = { statusCode: 0, command: 'NULL', raw: {} };

export class HarvesterPushServer implements PandaServer {
  readonly dialect = 'harvester' as const;
  private readonly queue: Record<string, unknown>[] = [];
  private filesTaken = 0;
  /** Counts of what went through the access point (the pilot_end line and the tests read them). */
  readonly stats = { jobs: 0, attributeWrites: 0, rangeRequests: 0, rangeUpdates: 0 };

  constructor(private readonly opts: PushServerOptions) {}

  private file(name: string): string {
    return path.join(this.opts.accessPoint.dir, name);
  }

  async getJob(_req: JobRequest, opts: SendOptions = {}): Promise<Record<string, unknown> | null> {
    if (this.queue.length === 0) {
      const taken = this.filesTaken === 0 ? this.take() : await this.requestNext(opts.signal);
      if (!taken) return null;
    }
    const job = this.queue.shift() ?? null;
    if (job) this.stats.jobs += 1;
    return job;
  }

  /** Reads the job file Harvester left; the request file has done its work then. */
  private take(): boolean {
    const taken = takeJobFile(this.opts.accessPoint, this.opts.pilotHome, this.filesTaken + 1);
    if (!taken) {
      if (this.filesTaken === 0)
        this.opts.log.error({ event: 'push_no_job', looked: this.opts.accessPoint.dir }, 'push mode: Harvester left no job file in the access point');
      return false;
    }
    this.filesTaken += 1;
    rmSync(this.file(ACCESS_FILES.jobRequest), { force: true });
    this.opts.log.info({ event: 'push_job_file', file: taken.file, jobs: taken.jobs.length }, 'push mode: job file taken from the access point');
    this.queue.push(...taken.jobs);
    return true;
  }

  /** As pilot3: `{"nJobs": 1}` in worker_requestjob.json, then wait (bounded) for the next job file. */
  private async requestNext(signal: AbortSignal | undefined): Promise<boolean> {
    if (this.opts.nextJobWaitMs <= 0) return false;
    const request = this.file(ACCESS_FILES.jobRequest);
    if (!existsSync(request)) writeJsonAtomic(request, { nJobs: 1 });
    this.opts.log.info({ event: 'push_request_job', file: request, waitSec: this.opts.nextJobWaitMs / 1000 }, 'push mode: asked Harvester for another job');
    const found = await this.waitFor(() => this.take(), this.opts.nextJobWaitMs, signal);
    if (!found) rmSync(request, { force: true }); // no longer ready: Harvester must not feed a pilot that is leaving
    return found;
  }

  private async waitFor(check: () => boolean, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    const sleep = this.opts.sleep ?? realPause;
    const until = Date.now() + ms;
    for (;;) {
      if (check()) return true;
      if (Date.now() >= until || signal?.aborted) return false;
      await sleep(Math.min(this.opts.pollMs, Math.max(1, until - Date.now())), signal);
    }
  }

  async updateJob(update: JobUpdate): Promise<UpdateReply> {
    if (isFinalPilotState(update.state)) this.publishOutputs(update);
    const attributes: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(update.fields)) if (!NOT_ATTRIBUTES.has(k)) attributes[k] = v;
    attributes.jobStatus = update.state;
    // Last, so a Harvester that sees the final state finds the files it names already in place.
    writeJsonAtomic(this.opts.accessPoint.workerAttributesFile, attributes);
    writeJsonAtomic(this.file(ACCESS_FILES.heartbeat), { PandaID: update.jobId, jobStatus: update.state, timestamp: Math.floor(Date.now() / 1000) });
    this.stats.attributeWrites += 1;
    return OK;
  }

  /** Bulk heartbeats: one job at a time here, so each is the attributes file in turn (the last wins, as in Harvester's view). */
  async updateJobsBulk(items: readonly BulkUpdateItem[]): Promise<(UpdateReply | Error)[]> {
    const out: (UpdateReply | Error)[] = [];
    for (const item of items) out.push(await this.updateJob(item.update).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
    return out;
  }

  /** Harvester knows its workers' state itself (it submitted them and reads kill_worker): nothing to send. */
  async updateWorkerStatus(_report: WorkerStatusReport): Promise<void> {}

  /** The log tarball into the access point, event_status.dump.json listing it, jobReport.json copied. */
  private publishOutputs(update: JobUpdate): void {
    const jobDir = jobDirPath(this.opts.pilotHome, update.jobId, update.attemptNr);
    const entries: StageOutEntry[] = [];
    for (const [lfn, info] of Object.entries(outputReport(update.fields.xml))) {
      const src = path.join(jobDir, lfn);
      if (!existsSync(src)) continue;
      const dst = this.file(lfn);
      copyFileSync(src, dst);
      entries.push({ type: info.type, path: dst, guid: info.guid, fsize: statSync(dst).size, chksum: info.adler32 });
    }
    if (entries.length > 0) writeJsonAtomic(this.opts.accessPoint.eventStatusFile, { [String(update.jobId)]: entries });
    const report = path.join(jobDir, ACCESS_FILES.jobReport);
    if (existsSync(report)) {
      const text = readFileSync(report, 'utf8');
      try {
        JSON.parse(text);
        writeFileAtomic(this.file(ACCESS_FILES.jobReport), text);
      } catch (err) {
        this.opts.log.warn(
          { event: 'job_report_invalid', pandaId: update.jobId, err: (err as Error).message },
          'jobReport.json is not JSON: not copied to the access point',
        );
      }
    }
    this.opts.log.info(
      { event: 'push_outputs', pandaId: update.jobId, files: entries.map((e) => path.basename(e.path)), jobReport: existsSync(report) },
      'push mode: files for Harvester to stage out listed',
    );
  }

  async getEventRanges(req: RangeRequest, opts: SendOptions = {}): Promise<unknown[]> {
    const request = this.file(ACCESS_FILES.eventRequest);
    const ranges = this.file(ACCESS_FILES.eventRanges);
    this.stats.rangeRequests += 1;
    writeJsonAtomic(request, { [String(req.pandaId)]: { nRanges: req.nRanges, pandaID: req.pandaId, taskID: req.taskId, jobsetID: req.jobsetId } });
    // Harvester writes the ranges file, then removes the request: only then is the file whole.
    const fed = await this.waitFor(() => existsSync(ranges) && !existsSync(request), this.opts.eventWaitMs, opts.signal);
    if (!fed) {
      rmSync(request, { force: true });
      throw new Error(`Harvester gave no event ranges within ${this.opts.eventWaitMs / 1000} s (${ACCESS_FILES.eventRanges})`);
    }
    const text = readFileSync(ranges, 'utf8');
    renameSync(ranges, `${ranges}${READ_SUFFIX}`); // consumed: the next request waits for a new file
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`${ACCESS_FILES.eventRanges} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const list = value && typeof value === 'object' ? (value as Record<string, unknown>)[String(req.pandaId)] : undefined;
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw new Error(`${ACCESS_FILES.eventRanges}: the entry for ${req.pandaId} is not a list`);
    return list;
  }

  async updateEventRanges(pandaId: number, reports: readonly RangeReport[]): Promise<RangeReportReply> {
    const file = this.file(ACCESS_FILES.eventUpdate);
    // Updates Harvester has not picked up yet stay: the new ones are added to them.
    let pending: Record<string, unknown[]> = {};
    if (existsSync(file)) {
      try {
        pending = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown[]>;
      } catch {
        pending = {};
      }
    }
    const key = String(pandaId);
    pending[key] = [...(Array.isArray(pending[key]) ? pending[key] : []), ...reports.map((r) => ({ ...r }))];
    writeJsonAtomic(file, pending);
    this.stats.rangeUpdates += reports.length;
    return { returns: reports.map(() => true), commands: {} };
  }

  /** At the pilot's end: tell Harvester the worker is done (pilot3 touches `kill_worker`). */
  finish(): void {
    rmSync(this.file(ACCESS_FILES.jobRequest), { force: true });
    touch(this.file(ACCESS_FILES.killWorker));
  }
}

/** The final update's `xml` (the job runner's `{lfn: {guid, fsize, adler32}}`) as stage-out entries. */
function outputReport(xml: string | number | undefined): Record<string, { type: 'log' | 'output'; guid: string; adler32: string }> {
  if (typeof xml !== 'string' || xml === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(xml);
  } catch {
    return {};
  }
  const out: Record<string, { type: 'log' | 'output'; guid: string; adler32: string }> = {};
  for (const [lfn, info] of Object.entries(value as Record<string, Record<string, unknown>>)) {
    if (!info || typeof info !== 'object' || lfn.includes('/')) continue;
    const type = info.type === 'output' ? 'output' : 'log';
    out[lfn] = { type, guid: String(info.guid ?? ''), adler32: String(info.adler32 ?? '') };
  }
  return out;
}
