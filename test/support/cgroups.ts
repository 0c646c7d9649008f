/**
 * Whether this machine lets tests make real memory cgroups (root or a
 * delegated cgroup), and why not when it does not.
 */
import { canCreateChildren, discoverMemoryCgroup, type CgroupLocation } from '../../pilot/src/monitor/index.js';

export interface CgroupAvailability {
  parent: CgroupLocation | null;
  /** Null when cgroups can be written; else the reason tests skip. */
  skipReason: string | null;
}

export function cgroupAvailability(): CgroupAvailability {
  const parent = discoverMemoryCgroup();
  if (!parent) return { parent, skipReason: 'no memory cgroup (v1 memory hierarchy or v2 memory controller) is mounted for this process' };
  if (!canCreateChildren(parent))
    return { parent, skipReason: `memory cgroup ${parent.dir} (v${parent.version}) is not writable by this user (not root, not delegated)` };
  return { parent, skipReason: null };
}
