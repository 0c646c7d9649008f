/** Hands activated jobs to a pilot: filter, order, and mark them `sent` atomically. */
import type { SiteCatalog } from '../../../pilot/src/config/index.js';
import { brokerageRejection, candidateSites } from '../model/brokerage.js';
import { dispatchOrder, exactSite, rejectionReason, type DispatchRequest, type SiteCheck } from '../model/dispatch-filter.js';
import type { JobRecord } from '../model/records.js';
import type { Stores } from '../store/index.js';
import { refreshTaskStatus } from './job-end.js';

/**
 * Takes up to `req.nJobs` jobs for one pilot. The select and the state change
 * run in one BEGIN IMMEDIATE transaction and each change is conditional on
 * the job still being `activated`, so two pilots (or two stub processes on
 * one database) never get the same job.
 */
export function dispatchJobs(stores: Stores, req: DispatchRequest, node: string | null, at: string, catalog?: SiteCatalog): JobRecord[] {
  const sites = catalog ? candidateSites(req.siteName, catalog) : [req.siteName];
  const siteCheck: SiteCheck = catalog
    ? (job, siteName) => brokerageRejection(siteName, { site: job.site, minRamCount: job.minRamCount, cores: job.cores ?? 1, label: job.label }, catalog)
    : exactSite;
  return stores.atomically(() => {
    const chosen = firstFitting(stores, sites, req, siteCheck);
    const sent: JobRecord[] = [];
    for (const job of chosen) {
      const reason = `dispatched to ${node ?? 'a pilot'} on ${req.siteName}`;
      if (!stores.jobs.transition(job.pandaId, 'activated', 'sent', at, reason, { dispatchedAt: at, dispatchNode: node })) continue;
      const updated = stores.jobs.get(job.pandaId);
      if (updated) sent.push(updated);
    }
    for (const taskId of new Set(sent.map((j) => j.taskId))) {
      // activated → sent never changes a running task's status: skip the recount, dispatch must stay O(jobs taken).
      if (stores.tasks.get(taskId)?.status !== 'running') refreshTaskStatus(stores, taskId);
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
