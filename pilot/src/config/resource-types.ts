/**
 * Resource types: the first row of the table whose core and memory-per-core
 * ranges hold a job names it, else "Undefined" — panda-server's rule, with
 * its inclusive bounds (so 2000 MB/core is U2G when U2G is listed first).
 */
import type { QueueConfig, ResourceTypeRow } from './queue-types.js';

/** The name when no row matches. */
export const UNDEFINED_RESOURCE_TYPE = 'Undefined';

const within = (value: number, min: number | null, max: number | null): boolean => (min === null || value >= min) && (max === null || value <= max);

/** The resource type of a job needing `memoryMB` in total over `cores` cores (0 or less counts as 1). */
export function resourceTypeFor(memoryMB: number, cores: number, table: readonly ResourceTypeRow[]): string {
  const n = cores > 0 ? cores : 1;
  const perCore = memoryMB / n;
  const hit = table.find((r) => within(n, r.mincore, r.maxcore) && within(perCore, r.minrampercore, r.maxrampercore));
  return hit?.name ?? UNDEFINED_RESOURCE_TYPE;
}

/**
 * The one resource type every job brokered to `queue` has, or undefined when
 * its memory range spans several (then a pilot must not narrow its request:
 * SLAC_Rubin, 0–4000 MB, takes both U2G and U4G jobs). Jobs that fit need
 * more than minrss and at most maxrss, so the smallest is minrss + 1 MB.
 */
export function queueResourceType(
  queue: Pick<QueueConfig, 'minrss' | 'maxrss' | 'corecount' | 'resource_type'>,
  table: readonly ResourceTypeRow[],
): string | undefined {
  if (queue.resource_type) return queue.resource_type;
  if (queue.maxrss <= 0 || table.length === 0) return undefined;
  const low = resourceTypeFor(queue.minrss + 1, queue.corecount, table);
  const high = resourceTypeFor(queue.maxrss, queue.corecount, table);
  return low === high ? low : undefined;
}
