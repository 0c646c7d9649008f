/**
 * Live log lines pilots push (Loki push API), kept in memory per PandaID:
 * a bounded ring per job and a bounded number of jobs, so a chatty payload
 * can never grow the stub without limit.
 */
export interface LiveLine {
  ns: string;
  stream: string;
  line: string;
}

export class LiveLogStore {
  private readonly jobs = new Map<string, { lines: LiveLine[]; received: number }>();

  constructor(
    private readonly maxLinesPerJob = 10_000,
    private readonly maxJobs = 1_000,
  ) {}

  add(pandaId: string, lines: readonly LiveLine[]): void {
    let job = this.jobs.get(pandaId);
    if (!job) {
      if (this.jobs.size >= this.maxJobs) {
        const oldest = this.jobs.keys().next().value;
        if (oldest !== undefined) this.jobs.delete(oldest);
      }
      this.jobs.set(pandaId, (job = { lines: [], received: 0 }));
    }
    job.received += lines.length;
    job.lines.push(...lines);
    if (job.lines.length > this.maxLinesPerJob) job.lines.splice(0, job.lines.length - this.maxLinesPerJob);
  }

  /** The job's lines in time order, and how many were received in all (older ones may have rolled off). */
  get(pandaId: string): { lines: LiveLine[]; received: number } {
    const job = this.jobs.get(pandaId);
    if (!job) return { lines: [], received: 0 };
    return { lines: [...job.lines].sort((a, b) => (BigInt(a.ns) < BigInt(b.ns) ? -1 : BigInt(a.ns) > BigInt(b.ns) ? 1 : 0)), received: job.received };
  }
}
