/**
 * Counts the PanDA calls the stub served (legacy methods and v1 endpoints),
 * so a benchmark or a developer can see how hard pilots work the server.
 * Management calls under /stub/ are not counted: they are not pilot load.
 */

/** Per-method counts of pilot calls since the stub started. */
export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  /** By the client's User-Agent (`panda-node-pilot`, `panda-stub-harvester`, pilot3's …): who made the load. */
  byAgent: Record<string, number>;
}

const LEGACY_PREFIX = '/server/panda/';
const LEGACY_METHOD = /^\w+$/;
const V1_PATH = /^\/api\/(?:v1|latest)\/(\w+\/\w+)$/;
const MAX_AGENT_STRINGS = 1000;

/** The PanDA method a path calls (`getJob`, `pilot/update_job`), or null for any other path. */
function pandaMethod(path: string): string | null {
  if (path.startsWith(LEGACY_PREFIX)) {
    const method = path.slice(LEGACY_PREFIX.length);
    return LEGACY_METHOD.test(method) ? method : null;
  }
  if (!path.startsWith('/api/')) return null;
  return V1_PATH.exec(path)?.[1] ?? null;
}

export class RequestCounter {
  private total = 0;
  private readonly byMethod = new Map<string, number>();
  private readonly byAgent = new Map<string, number>();
  /** User-Agent strings seen → their product name (bounded: a client inventing a new one per request is not kept). */
  private readonly agentOf = new Map<string, string>();

  /** Records one request by its path (and client); paths that are not PanDA calls are ignored. */
  count(path: string, userAgent = ''): void {
    const method = pandaMethod(path);
    if (method === null) return;
    this.total += 1;
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
    // The product name only (`panda-node-pilot/0.1` and `panda-node-pilot` count together); bounded length.
    // Agents seen before are looked up as they came: splitting every request's User-Agent was 1% of the stub's CPU.
    const seen = this.agentOf.get(userAgent);
    const agent = seen ?? (userAgent.split(/[\s/]/)[0] || 'unknown').slice(0, 40);
    if (seen === undefined && userAgent.length <= 256 && this.agentOf.size < MAX_AGENT_STRINGS) this.agentOf.set(userAgent, agent);
    this.byAgent.set(agent, (this.byAgent.get(agent) ?? 0) + 1);
  }

  snapshot(): RequestCounts {
    const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    return { total: this.total, byMethod: sorted(this.byMethod), byAgent: sorted(this.byAgent) };
  }
}
