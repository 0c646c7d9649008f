/**
 * Helpers both HTTP dialects share. The interfaces they implement (JobsApi,
 * BulkUpdatesApi, EventRangesApi, WorkerStatusApi) live in protocol/.
 */
import type { JobRequest } from '../protocol/index.js';

/** The getJob parameters by their legacy names; undefined values are left off the wire. */
export function legacyGetJobParams(req: JobRequest): Record<string, string | number | undefined> {
  return {
    siteName: req.siteName,
    prodSourceLabel: req.prodSourceLabel,
    mem: req.mem,
    diskSpace: req.diskSpace,
    node: req.node,
    computingElement: req.computingElement,
    resourceType: req.resourceType,
    jobType: req.jobType,
    remaining_time: req.remainingTime,
    harvester_id: req.harvesterId,
    worker_id: req.workerId,
    schedulerID: req.schedulerID,
  };
}

/** Splits "debug,some text" into the command and its text, the way servers join them. */
export function parseCommand(value: unknown): { command: string; commandText?: string } {
  const text = value === undefined || value === null || value === '' ? 'NULL' : String(value);
  const comma = text.indexOf(',');
  if (comma < 0) return { command: text };
  return { command: text.slice(0, comma), commandText: text.slice(comma + 1) };
}
