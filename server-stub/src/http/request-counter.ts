/**
 * Counts the PanDA calls the stub served (legacy methods and v1 endpoints),
 * so a benchmark or a developer can see how hard pilots work the server.
 * Management calls under /stub/ are not counted: they are not pilot load.
 */

/** Per-method counts of pilot calls since the stub started. */
export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
}

export class RequestCounter {
  private total = 0;
  private readonly byMethod = new Map<string, number>();

  /** Records one request by its path; paths that are not PanDA calls are ignored. */
  count(path: string): void {
    const m = /^\/server\/panda\/(\w+)$/.exec(path) ?? /^\/api\/(?:v1|latest)\/(\w+\/\w+)$/.exec(path);
    if (!m?.[1]) return;
    this.total += 1;
    this.byMethod.set(m[1], (this.byMethod.get(m[1]) ?? 0) + 1);
  }

  snapshot(): RequestCounts {
    return { total: this.total, byMethod: Object.fromEntries([...this.byMethod].sort(([a], [b]) => a.localeCompare(b))) };
  }
}
