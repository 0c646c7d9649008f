/** Hands activated jobs to a pilot: filter, order, and mark them `sent` atomically. */
import { selectJobs, type DispatchRequest } from '../model/dispatch-filter.js';
import type { JobRecord } from '../model/records.js';
import type { Stores } from '../store/index.js';
import { refreshTaskStatus } from './job-end.js';

/**
 * Takes up to `req.nJobs` jobs for one pilot. The select and the state change
 * run in one BEGIN IMMEDIATE transaction and each change is conditional on
 * the job still being `activated`, so two pilots (or two stub processes on
 * one database) never get the same job.
 */
export function dispatchJobs(stores: Stores, req: DispatchRequest, node: string | null, at: string): JobRecord[] {
  return stores.atomically(() => {
    const chosen = selectJobs(stores.jobs.activatedOn(req.siteName), req);
    const sent: JobRecord[] = [];
    for (const job of chosen) {
      const reason = `dispatched to ${node ?? 'a pilot'} on ${req.siteName}`;
      if (!stores.jobs.transition(job.pandaId, 'activated', 'sent', at, reason, { dispatchedAt: at, dispatchNode: node })) continue;
      const updated = stores.jobs.get(job.pandaId);
      if (updated) sent.push(updated);
    }
    for (const taskId of new Set(sent.map((j) => j.taskId))) refreshTaskStatus(stores, taskId);
    return sent;
  });
}
