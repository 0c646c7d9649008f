/**
 * Resource types in the stub's vocabulary. The rule itself (first matching
 * row, inclusive bounds, else "Undefined") is the pilot's config module's,
 * so the stub and site-config files classify a job the same way. This table
 * is the stub's default when it runs without a site configuration.
 */
import { resourceTypeFor as classify, type ResourceTypeRow as ConfigRow } from '../../../pilot/src/config/index.js';

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

/** Rubin's memory-per-core classes (docs/rubin-sites.md) (bounds shared: the earlier row takes the edge). */
export const DEFAULT_RESOURCE_TYPES: readonly ResourceTypeRow[] = [
  row('U2G', 0, 2000),
  row('U4G', 2000, 4000),
  row('U8G', 4000, 8000),
  row('U12G', 8000, 12000),
  row('U16G', 12000, 16000),
  row('U20G', 16000, 20000),
  row('U24G', 20000, 24000),
  row('U28G', 24000, 28000),
  row('U32G', 28000, 32000),
];

/** A site-config row in the stub's vocabulary. */
export function fromConfigRow(r: ConfigRow): ResourceTypeRow {
  return { name: r.name, minCore: r.mincore, maxCore: r.maxcore, minRamPerCore: r.minrampercore, maxRamPerCore: r.maxrampercore };
}

function toConfigRow(r: ResourceTypeRow): ConfigRow {
  return { name: r.name, mincore: r.minCore, maxcore: r.maxCore, minrampercore: r.minRamPerCore, maxrampercore: r.maxRamPerCore };
}

/** The resource type of a job needing `memoryMB` in total over `cores` cores. */
export function resourceTypeFor(memoryMB: number, cores: number, table: readonly ResourceTypeRow[] = DEFAULT_RESOURCE_TYPES): string {
  return classify(memoryMB, cores, table.map(toConfigRow));
}
