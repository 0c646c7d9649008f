/**
 * The access point's file names in Harvester push mode (Harvester's
 * `[payload_interaction]` defaults and pilot3's `[Harvester]` config):
 * one list for the pilot's side and the stub's Harvester side.
 */
export const HARVESTER_FILES = {
  jobs: 'HPCJobs.json',
  jobData: 'pandaJobData.out',
  poolFileCatalog: 'PoolFileCatalog_H.xml',
  jobRequest: 'worker_requestjob.json',
  pandaIds: 'worker_pandaids.json',
  workerAttributes: 'worker_attributes.json',
  jobReport: 'jobReport.json',
  eventStatus: 'event_status.dump.json',
  eventRequest: 'worker_requestevents.json',
  eventRanges: 'JobsEventRanges.json',
  eventUpdate: 'worker_updateevents.json',
  heartbeat: 'worker_heartbeat.json',
  /** pilot3 touches `kill_worker`; Harvester's default name is `kill_worker.json` (it looks for either here). */
  killWorker: 'kill_worker',
  killWorkerJson: 'kill_worker.json',
} as const;

/** Suffix Harvester gives a file it consumed (acknowledged: `.read.<timestamp>`). */
export const HARVESTER_READ_SUFFIX = '.read';
