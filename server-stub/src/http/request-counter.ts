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

export class RequestCounter {
  private total = 0;
  private readonly byMethod = new Map<string, number>();
  private readonly byAgent = new Map<string, number>();

  /** Records one request by its path (and client); paths that are not PanDA calls are ignored. */
  count(path: string, userAgent = ''): void {
    const m = /^\/server\/panda\/(\w+)$/.exec(path) ?? /^\/api\/(?:v1|latest)\/(\w+\/\w+)$/.exec(path);
    if (!m?.[1]) return;
    this.total += 1;
    this.byMethod.set(m[1], (this.byMethod.get(m[1]) ?? 0) + 1);
    // The product name only (`panda-node-pilot/0.1` and `panda-node-pilot` count together); bounded length.
    const agent = (userAgent.split(/[\s/]/)[0] || 'unknown').slice(0, 40);
    this.byAgent.set(agent, (this.byAgent.get(agent) ?? 0) + 1);
  }

  snapshot(): RequestCounts {
    const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    return { total: this.total, byMethod: sorted(this.byMethod), byAgent: sorted(this.byAgent) };
  }
}
