/**
 * Which pilot queue may run which job, from the site configuration: a job
 * goes only to a queue whose memory range fits and whose status allows it
 * (docs/panda-protocol.md §8). Pure functions over plain data.
 *
 * How a task's `site` is read, for a pilot of queue Q:
 * - Q is not in the configuration: only jobs whose site is exactly Q (the
 *   stub's behaviour without site configuration).
 * - the job's site is Q: Q takes it if Q's status, memory range and cores allow
 *   (brokeroff and test queues take jobs submitted to them by name).
 * - the job's site is another configured queue N on the same facility site:
 *   Q takes it only when N no longer can (its memory was raised after an OOM
 *   kill beyond N's range, or N went offline) and Q is online and fits — the
 *   way PanDA moves a boosted Medium job to Himem.
 * - the job's site is a facility site (e.g. SLAC) or "any": every online
 *   queue of that site (or any site) that fits.
 */
import type { QueueConfig } from '../../../pilot/src/config/index.js';
import type { SiteCatalog } from '../../../pilot/src/site-config/index.js';

/** The task site meaning "any queue that fits". */
export const ANY_SITE = 'any';

/** Labels a `test` queue takes without being named (PanDA's test labels). */
const TEST_LABELS = ['test', 'prod_test', 'ptest'];

/** What brokerage needs to know about a job. */
export interface BrokerJob {
  site: string;
  /** MB, the job's total memory requirement (0 = none given). */
  minRamCount: number;
  cores: number;
  label: string;
}

type QueueFacts = Pick<QueueConfig, 'name' | 'status' | 'minrss' | 'maxrss' | 'corecount'>;

/**
 * Memory fits when minrss < job memory ≤ maxrss (maxrss 0: no upper bound).
 * The edges follow the queue names: an 8000 MB job fits Medium (4000–8000),
 * a 4000 MB job fits the 0–4000 queue, not Medium. A job that states no
 * memory (0) fits only a queue without a lower bound.
 */
export function memoryFits(queue: Pick<QueueConfig, 'minrss' | 'maxrss'>, memoryMB: number): boolean {
  const aboveMin = queue.minrss === 0 || memoryMB > queue.minrss;
  const belowMax = queue.maxrss === 0 || memoryMB <= queue.maxrss;
  return aboveMin && belowMax;
}

/** Why `queue` may not run `job`, or null. `byName`: the job was submitted to this very queue. */
export function queueRejection(queue: QueueFacts, job: BrokerJob, byName: boolean = job.site === queue.name): string | null {
  if (queue.status === 'offline') return `queue ${queue.name} is offline`;
  if (queue.status === 'brokeroff' && !byName) return `queue ${queue.name} is brokeroff (takes only jobs submitted to it by name)`;
  if (queue.status === 'test' && !byName && !TEST_LABELS.includes(job.label))
    return `queue ${queue.name} is in test (takes only test jobs or jobs submitted to it by name)`;
  if (!memoryFits(queue, job.minRamCount)) {
    return `memory ${job.minRamCount} MB outside ${queue.name}'s range (${queue.minrss}, ${queue.maxrss || '∞'}] MB`;
  }
  if (queue.corecount > 0 && job.cores > queue.corecount) return `cores ${job.cores} > ${queue.name}'s corecount ${queue.corecount}`;
  return null;
}

/**
 * Whether `queue` may run `job`: status, memory range and cores. This is the
 * check a memory-boosted retry needs ("is there a queue that fits?").
 */
export function queueAccepts(queue: QueueFacts, job: BrokerJob, byName?: boolean): boolean {
  return queueRejection(queue, job, byName) === null;
}

/** Why a pilot of queue `queueName` may not take `job` under `catalog`, or null when it may. */
export function brokerageRejection(queueName: string, job: BrokerJob, catalog: SiteCatalog): string | null {
  const queue = catalog.queues.get(queueName);
  if (!queue) return job.site === queueName ? null : `site ${job.site}`;
  if (job.site === queueName) return queueRejection(queue, job, true);
  const named = catalog.queues.get(job.site);
  if (named) {
    if (named.site !== queue.site) return `site ${job.site}`;
    if (queueAccepts(named, job, true)) return `submitted to ${job.site}, which can run it`;
    return queueRejection(queue, job, false);
  }
  if (job.site === queue.site || job.site.toLowerCase() === ANY_SITE) return queueRejection(queue, job, false);
  return `site ${job.site}`;
}

/** The queues (in catalog order) that could run `job` now; empty when none fits. */
export function queuesFor(job: BrokerJob, catalog: SiteCatalog): string[] {
  return [...catalog.queues.keys()].filter((q) => brokerageRejection(q, job, catalog) === null);
}

/**
 * Task sites whose jobs a pilot of `queueName` might take: the queue itself,
 * its facility site, "any", and its sibling queues. Used to look jobs up
 * before the per-job check.
 */
export function candidateSites(queueName: string, catalog: SiteCatalog): string[] {
  const queue = catalog.queues.get(queueName);
  if (!queue) return [queueName];
  const siblings = [...catalog.queues.values()].filter((q) => q.site === queue.site && q.name !== queueName).map((q) => q.name);
  return [...new Set([queueName, queue.site, ANY_SITE, 'ANY', 'Any', ...siblings])];
}
