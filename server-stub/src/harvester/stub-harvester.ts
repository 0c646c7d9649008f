/**
 * `panda-stub harvester`: Harvester's part of push mode on one machine. It
 * takes a job from the stub (either dialect, as a Harvester would from the
 * PanDA server), feeds it to a worker through the access point, and relays
 * what the worker writes: `worker_attributes.json` → job updates,
 * `worker_updateevents.json` → range updates, `event_status.dump.json` →
 * the log's entry in the job's final update; it answers
 * `worker_requestjob.json` and `worker_requestevents.json`, and stops when
 * the worker touched `kill_worker` and its jobs are reported.
 */
import type { Logger } from 'pino';
import { HttpTransport, LegacyDialect, V1Dialect } from '../../../pilot/src/server/index.js';
import { pause } from '../../../pilot/src/retry/index.js';
import { isFinalPilotState, isPilotJobState, type PandaServer, type RangeReport } from '../../../pilot/src/protocol/index.js';
import { SharedFileMessenger, type JobSpecFormat, type StageOutFile } from './shared-file-messenger.js';

export interface StubHarvesterOptions {
  url: string;
  api: 'legacy' | 'v1';
  accessPoint: string;
  queue: string;
  prodSourceLabel: string;
  format: JobSpecFormat;
  harvesterId: string;
  workerId: string;
  /** Look at the access point this often (ms). */
  pollMs: number;
  /** Give up waiting for the first job, or for the worker to finish, after this long (ms). */
  waitMs: number;
  log: Logger;
  signal?: AbortSignal | undefined;
}

export interface StubHarvesterResult {
  jobs: number[];
  jobUpdates: number;
  rangeRequests: number;
  rangeUpdates: number;
  finals: Record<string, string>;
  stoppedBy: 'kill_worker' | 'no-job' | 'timeout' | 'signal';
}

type Current = { pandaId: number; attemptNr: number; last: string; final: boolean };

export async function runStubHarvester(o: StubHarvesterOptions): Promise<StubHarvesterResult> {
  const http = new HttpTransport({ baseUrl: o.url, timeoutMs: 30_000, userAgent: 'panda-stub-harvester' });
  const server: PandaServer = o.api === 'v1' ? new V1Dialect(http) : new LegacyDialect(http);
  const messenger = new SharedFileMessenger(o.accessPoint);
  const result: StubHarvesterResult = { jobs: [], jobUpdates: 0, rangeRequests: 0, rangeUpdates: 0, finals: {}, stoppedBy: 'timeout' };
  const jobs = new Map<number, Current>();
  // A holder, not a `let`: the closures below change it.
  const worker: { current: Current | null } = { current: null };
  const stopped = () => o.signal?.aborted === true;

  const fetchJob = async (): Promise<Record<string, unknown> | null> =>
    server.getJob({
      siteName: o.queue,
      computingElement: o.queue,
      prodSourceLabel: o.prodSourceLabel,
      node: `harvester-${o.harvesterId}`,
      harvesterId: o.harvesterId,
      workerId: o.workerId,
    });

  const feed = (job: Record<string, unknown>): void => {
    const pandaId = Number(job.PandaID);
    const attemptNr = Number(job.attemptNr ?? 1) || 1;
    messenger.feedJobs([job], o.format);
    // What the worker wrote for its previous job is not this job's: only a change counts.
    const fed: Current = { pandaId, attemptNr, last: JSON.stringify(messenger.workAttributes()?.attributes ?? null), final: false };
    worker.current = fed;
    jobs.set(pandaId, fed);
    result.jobs.push(pandaId);
    o.log.info({ event: 'harvester_feed', pandaId, format: o.format }, 'job fed to the worker');
  };

  // The first job, as Harvester has it before it submits the worker.
  const firstUntil = Date.now() + o.waitMs;
  for (;;) {
    const job = await fetchJob();
    if (job) {
      feed(job);
      break;
    }
    if (Date.now() >= firstUntil || stopped()) {
      result.stoppedBy = stopped() ? 'signal' : 'no-job';
      await http.close().catch(() => undefined);
      return result;
    }
    await pause(o.pollMs, o.signal);
  }

  /** worker_attributes.json → an update of the job the worker has now; the final one carries the stage-out list. */
  const relayAttributes = async (): Promise<void> => {
    const job = worker.current;
    if (!job || job.final) return;
    const read = messenger.workAttributes();
    // By content: two rewrites within one mtime tick must not hide a new state.
    const key = JSON.stringify(read?.attributes ?? null);
    if (!read || key === job.last) return;
    job.last = key;
    const { jobStatus, metaData, ...rest } = read.attributes;
    const state = String(jobStatus ?? '');
    if (!isPilotJobState(state)) {
      o.log.warn({ event: 'harvester_bad_status', pandaId: job.pandaId, jobStatus }, 'worker_attributes.json has no usable jobStatus');
      return;
    }
    const fields: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(rest)) fields[k] = typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v);
    if (metaData !== undefined) fields.metaData = JSON.stringify(metaData);
    if (isFinalPilotState(state)) {
      const files = messenger.filesToStageOut()[String(job.pandaId)] ?? [];
      // What Harvester's stager reports after staging out: each file with its size and checksum.
      const xml = outputXml(files);
      if (xml) fields.xml = xml;
      job.final = true;
      result.finals[String(job.pandaId)] = state;
    }
    await server.updateJob({ jobId: job.pandaId, attemptNr: job.attemptNr, state, fields });
    if (job.final) messenger.acknowledgeEventsFiles();
    result.jobUpdates += 1;
    o.log.info({ event: 'harvester_update', pandaId: job.pandaId, state }, 'worker attributes relayed to the server');
  };

  const answerEventRequest = async (): Promise<void> => {
    const requested = messenger.eventsRequested();
    const ids = Object.keys(requested);
    if (ids.length === 0) return;
    const events: Record<string, unknown[]> = {};
    for (const id of ids) {
      const r = requested[id] ?? {};
      result.rangeRequests += 1;
      events[id] = await server.getEventRanges!({
        pandaId: Number(id),
        jobsetId: Number(r.jobsetID ?? 0),
        taskId: r.taskID === undefined ? undefined : Number(r.taskID),
        nRanges: Number(r.nRanges ?? 1) || 1,
      });
    }
    messenger.feedEvents(events);
  };

  const relayRangeUpdates = async (): Promise<void> => {
    const updates = messenger.eventsToUpdate();
    const ids = Object.keys(updates);
    if (ids.length === 0) return;
    for (const id of ids) {
      const reports = (updates[id] ?? []) as unknown as RangeReport[];
      if (reports.length === 0) continue;
      await server.updateEventRanges!(Number(id), reports);
      result.rangeUpdates += reports.length;
    }
    messenger.acknowledgeEventsFiles();
  };

  const until = Date.now() + o.waitMs;
  // After the server had nothing, ask again only after a while (Harvester's cycles are minutes; ours a second).
  let nextAskAt = 0;
  for (;;) {
    // Range updates before the job's final state, as the worker wrote them.
    await relayRangeUpdates();
    await answerEventRequest();
    await relayAttributes();
    const cur = worker.current;
    if (messenger.jobRequested() > 0 && (!cur || cur.final) && Date.now() >= nextAskAt) {
      const job = await fetchJob();
      if (job) feed(job);
      else nextAskAt = Date.now() + Math.max(1000, o.pollMs);
    }
    if (messenger.killRequested()) {
      // The worker is done: whatever it left is read one last time.
      await relayRangeUpdates();
      await relayAttributes();
      result.stoppedBy = 'kill_worker';
      break;
    }
    if (Date.now() >= until || stopped()) {
      result.stoppedBy = stopped() ? 'signal' : 'timeout';
      break;
    }
    await pause(o.pollMs, o.signal);
  }
  await http.close().catch(() => undefined);
  return result;
}

/** The stage-out list as the final update's `xml` ({lfn: {guid, fsize, adler32}}, as the pilot sends it in pull mode). */
function outputXml(files: readonly StageOutFile[]): string | null {
  if (files.length === 0) return null;
  const out: Record<string, { guid: string; fsize: number; adler32: string; type: string }> = {};
  for (const f of files) {
    const lfn = f.path.split('/').pop() ?? f.path;
    out[lfn] = { guid: f.guid, fsize: f.fsize, adler32: f.chksum, type: f.type };
  }
  return JSON.stringify(out);
}
