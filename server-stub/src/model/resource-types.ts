/**
 * Resource types: rows of (name, core range, memory-per-core range) where the
 * first row that fits a job names it, else "Undefined" — the server's rule
 * (reference §8). This table is the stub's default; a site configuration can
 * pass its own.
 */

/** One row of the resource-type table. Bounds are inclusive; null = unbounded. */
export interface ResourceTypeRow {
  name: string;
  minCore: number | null;
  maxCore: number | null;
  minRamPerCore: number | null;
  maxRamPerCore: number | null;
}

const row = (name: string, minRamPerCore: number, maxRamPerCore: number): ResourceTypeRow => ({
  name,
  minCore: null,
  maxCore: null,
  minRamPerCore,
  maxRamPerCore,
});

/** Memory-per-core classes in the style Rubin queues use. */
export const DEFAULT_RESOURCE_TYPES: readonly ResourceTypeRow[] = [
  row('U2G', 0, 2000),
  row('U4G', 2001, 4000),
  row('U8G', 4001, 8000),
  row('U16G', 8001, 16000),
  row('U32G', 16001, 32000),
];

const within = (value: number, min: number | null, max: number | null): boolean =>
  (min === null || value >= min) && (max === null || value <= max);

/** The resource type of a job needing `memoryMB` in total over `cores` cores. */
export function resourceTypeFor(
  memoryMB: number,
  cores: number,
  table: readonly ResourceTypeRow[] = DEFAULT_RESOURCE_TYPES,
): string {
  // Rounded up, as the integer bounds of the table expect (2000.5 MB/core is not U2G).
  const perCore = Math.ceil(memoryMB / Math.max(1, cores));
  const hit = table.find((r) => within(cores, r.minCore, r.maxCore) && within(perCore, r.minRamPerCore, r.maxRamPerCore));
  return hit?.name ?? 'Undefined';
}
