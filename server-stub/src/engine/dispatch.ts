/** Hands activated jobs to a pilot: filter, order, and mark them `sent` atomically. */
import type { SiteCatalog } from '../../../pilot/src/site-config/index.js';
import { brokerageRejection, candidateSites } from '../model/brokerage.js';
import { dispatchOrder, exactSite, rejectionReason, type DispatchRequest, type SiteCheck } from '../model/dispatch-filter.js';
import type { JobRecord, TaskRecord } from '../model/records.js';
import type { Stores } from '../store/index.js';
import { refreshTaskStatus } from './job-end.js';

/**
 * Takes up to `req.nJobs` jobs for one pilot. The select and the state change
 * run in one BEGIN IMMEDIATE transaction and each change is conditional on
 * the job still being `activated`, so two pilots (or two stub processes on
 * one database) never get the same job. Each job comes with its task, read
 * once per task in the same transaction (the reply's description needs it).
 */
export function dispatchJobs(
  stores: Stores,
  req: DispatchRequest,
  node: string | null,
  at: string,
  catalog?: SiteCatalog,
): { job: JobRecord; task: TaskRecord }[] {
  const sites = catalog ? candidateSites(req.siteName, catalog) : [req.siteName];
  const siteCheck: SiteCheck = catalog
    ? (job, siteName) => brokerageRejection(siteName, { site: job.site, minRamCount: job.minRamCount, cores: job.cores ?? 1, label: job.label }, catalog)
    : exactSite;
  return stores.atomically(() => {
    const chosen = firstFitting(stores, sites, req, siteCheck);
    const sent: { job: JobRecord; task: TaskRecord }[] = [];
    const tasks = new Map<number, TaskRecord | undefined>();
    for (const job of chosen) {
      const reason = `dispatched to ${node ?? 'a pilot'} on ${req.siteName}`;
      if (!stores.jobs.transition(job.pandaId, 'activated', 'sent', at, reason, { dispatchedAt: at, dispatchNode: node })) continue;
      // The row as the conditional UPDATE left it: nothing else writes it inside this transaction, so no second read.
      const updated: JobRecord = { ...job, state: 'sent', stateChangedAt: at, dispatchedAt: at, dispatchNode: node };
      if (!tasks.has(job.taskId)) {
        const task = stores.tasks.get(job.taskId);
        tasks.set(job.taskId, task);
        // activated → sent never changes a running task's status: skip the recount, dispatch must stay O(jobs taken).
        if (task && task.status !== 'running') refreshTaskStatus(stores, job.taskId);
      }
      const task = tasks.get(job.taskId);
      if (!task) throw new Error(`job ${job.pandaId} has no task ${job.taskId}`);
      sent.push({ job: updated, task });
    }
    return sent;
  });
}

/**
 * The best `nJobs` fitting jobs over the candidate sites: each site's
 * activated jobs come from the index already in dispatch order, so reading
 * stops after `nJobs` fitting ones per site; the union is ordered once more
 * and cut. Equivalent to `selectJobs` over every candidate, without the scan.
 */
function firstFitting(stores: Stores, sites: readonly string[], req: DispatchRequest, siteCheck: SiteCheck): JobRecord[] {
  const want = Math.max(0, req.nJobs);
  if (want === 0) return [];
  const found: JobRecord[] = [];
  for (const site of sites) {
    let taken = 0;
    for (const job of stores.jobs.activatedInOrder(site)) {
      if (rejectionReason(job, req, siteCheck) !== null) continue;
      found.push(job);
      if (++taken >= want) break;
    }
  }
  return found.sort(dispatchOrder).slice(0, want);
}
