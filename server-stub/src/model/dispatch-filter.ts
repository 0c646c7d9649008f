/**
 * Which activated jobs a getJob / acquire_jobs request may take, and in which
 * order: the selection rules of the real server (docs/panda-protocol.md §3), as pure
 * functions over plain data so each criterion has its own test.
 */

/** A pilot's request, in the stub's vocabulary (both dialects map onto it). */
export interface DispatchRequest {
  siteName: string;
  /** Memory the slot offers, MB. Absent = no memory limit. */
  mem?: number | undefined;
  /** Disk the slot offers, MB. Absent = no disk limit. */
  diskSpace?: number | undefined;
  /** Seconds the pilot has left. Absent = unlimited. */
  remainingTime?: number | undefined;
  resourceType?: string | undefined;
  prodSourceLabel?: string | undefined;
  taskId?: number | undefined;
  nJobs: number;
}

/** What the filter needs to know about a job. */
export interface DispatchCandidate {
  pandaId: number;
  taskId: number;
  state: string;
  site: string;
  minRamCount: number;
  maxDiskCount: number;
  maxWalltime: number | null;
  resourceType: string;
  label: string;
  priority: number;
  /** Cores the job needs (1 when absent); brokerage compares it with the queue's corecount. */
  cores?: number;
}

/** Whether a job's site lets the asking queue have it: a reason when not, else null. */
export type SiteCheck = (job: DispatchCandidate, siteName: string) => string | null;

/** Without site configuration a job goes only to the queue it names. */
export const exactSite: SiteCheck = (job, siteName) => (job.site === siteName ? null : `site ${job.site}`);

const USER_LABELS = ['user', 'panda', 'install'];
const PRODUCTION_LABELS = ['managed', 'test', 'prod_test', 'install'];

/**
 * Job labels a pilot asking with `requested` may get: user ↔ user/panda/install;
 * managed or none ↔ managed/test/prod_test/install; unified ↔ both; else exact.
 */
export function acceptableLabels(requested: string | undefined): readonly string[] {
  if (requested === undefined || requested === '' || requested === 'managed') return PRODUCTION_LABELS;
  if (requested === 'user') return USER_LABELS;
  if (requested === 'unified') return [...new Set([...USER_LABELS, ...PRODUCTION_LABELS])];
  return [requested];
}

/** The first criterion the job fails, or null when the request may take it. */
export function rejectionReason(job: DispatchCandidate, req: DispatchRequest, siteCheck: SiteCheck = exactSite): string | null {
  if (job.state !== 'activated') return `state ${job.state}`;
  const site = siteCheck(job, req.siteName);
  if (site !== null) return site;
  if (req.taskId !== undefined && job.taskId !== req.taskId) return `task ${job.taskId}`;
  if (req.mem !== undefined && job.minRamCount > 0 && job.minRamCount > req.mem) {
    return `minRamCount ${job.minRamCount} > mem ${req.mem}`;
  }
  if (req.diskSpace !== undefined && job.maxDiskCount > req.diskSpace) {
    return `maxDiskCount ${job.maxDiskCount} > diskSpace ${req.diskSpace}`;
  }
  if (req.remainingTime !== undefined && job.maxWalltime !== null && job.maxWalltime > req.remainingTime) {
    return `maxWalltime ${job.maxWalltime} > remaining_time ${req.remainingTime}`;
  }
  if (req.resourceType !== undefined && req.resourceType !== '' && job.resourceType !== req.resourceType) {
    return `resource_type ${job.resourceType}`;
  }
  if (!acceptableLabels(req.prodSourceLabel).includes(job.label)) return `label ${job.label}`;
  return null;
}

/** Highest currentPriority first, then the oldest (lowest) PandaID. */
export function dispatchOrder(a: DispatchCandidate, b: DispatchCandidate): number {
  return b.priority - a.priority || a.pandaId - b.pandaId;
}

/** The jobs to hand out for one request, best first, at most `nJobs`. */
export function selectJobs<J extends DispatchCandidate>(jobs: readonly J[], req: DispatchRequest, siteCheck: SiteCheck = exactSite): J[] {
  return jobs
    .filter((job) => rejectionReason(job, req, siteCheck) === null)
    .sort(dispatchOrder)
    .slice(0, Math.max(0, req.nJobs));
}
