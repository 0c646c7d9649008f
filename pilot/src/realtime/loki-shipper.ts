/**
 * Live logs to a Grafana Loki push endpoint (`POST /loki/api/v1/push`):
 * lines are queued, sent in batches by one loop, and never wait for the
 * network — a full queue drops the newest lines and counts them, so a slow or
 * absent log server costs the payload nothing.
 */
import type { Logger } from 'pino';
import { repeat } from '../retry/index.js';
import type { HttpTransport } from '../server/index.js';

export interface ShipperSettings {
  /** Most lines held in memory; past it lines are dropped (and counted). */
  maxQueuedLines: number;
  /** Longest line kept (bytes); longer ones are cut. */
  maxLineBytes: number;
  /** Most lines in one push. */
  batchLines: number;
  /** How often the queue is sent (ms). */
  flushMs: number;
  /** Per-push deadline (ms). */
  timeoutMs: number;
}

export const DEFAULT_SHIPPER: ShipperSettings = { maxQueuedLines: 10_000, maxLineBytes: 16 * 1024, batchLines: 1_000, flushMs: 1_000, timeoutMs: 10_000 };

export interface ShipperStats {
  sent: number;
  dropped: number;
  pushes: number;
  failedPushes: number;
}

interface Line {
  stream: string;
  ns: string;
  text: string;
}

/** Loki's JSON push body: one stream per label set, values as [ns-timestamp string, line]. */
export function lokiPushBody(labels: Readonly<Record<string, string>>, lines: readonly Line[]): string {
  const byStream = new Map<string, [string, string][]>();
  for (const l of lines) {
    let values = byStream.get(l.stream);
    if (!values) byStream.set(l.stream, (values = []));
    values.push([l.ns, l.text]);
  }
  return JSON.stringify({ streams: [...byStream].map(([stream, values]) => ({ stream: { ...labels, stream }, values })) });
}

/** Nanoseconds since the epoch as Loki wants them, increasing within this process. */
let lastNs = 0n;
function nowNs(): string {
  let ns = BigInt(Date.now()) * 1_000_000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns.toString();
}

export class LokiShipper {
  private queue: Line[] = [];
  readonly stats: ShipperStats = { sent: 0, dropped: 0, pushes: 0, failedPushes: 0 };
  private readonly stop = new AbortController();
  private readonly loop: Promise<void>;
  private readonly url: string;

  constructor(
    private readonly http: HttpTransport,
    serverUrl: string,
    private readonly labels: Readonly<Record<string, string>>,
    private readonly log: Logger,
    private readonly settings: ShipperSettings = DEFAULT_SHIPPER,
  ) {
    this.url = `${serverUrl.replace(/\/+$/, '')}/loki/api/v1/push`;
    this.loop = this.run();
  }

  /** Queues a line; never blocks. Returns false when it was dropped. */
  push(stream: string, text: string): boolean {
    if (this.stop.signal.aborted || this.queue.length >= this.settings.maxQueuedLines) {
      this.stats.dropped++;
      return false;
    }
    const cut = Buffer.byteLength(text) > this.settings.maxLineBytes ? `${Buffer.from(text).subarray(0, this.settings.maxLineBytes).toString('utf8')}…` : text;
    this.queue.push({ stream, ns: nowNs(), text: cut });
    return true;
  }

  private async sendBatch(): Promise<void> {
    const batch = this.queue.splice(0, this.settings.batchLines);
    if (batch.length === 0) return;
    this.stats.pushes++;
    try {
      const reply = await this.http.request({
        method: 'POST',
        url: this.url,
        headers: { 'Content-Type': 'application/json' },
        body: lokiPushBody(this.labels, batch),
        timeoutMs: this.settings.timeoutMs,
        withAuth: true,
      });
      if (reply.status >= 200 && reply.status < 300) {
        this.stats.sent += batch.length;
        return;
      }
      throw new Error(`HTTP ${reply.status} ${reply.body.slice(0, 120)}`);
    } catch (err) {
      // Live logs are a convenience: a failed batch is dropped (the log tarball keeps everything), never retried into a growing backlog.
      this.stats.failedPushes++;
      this.stats.dropped += batch.length;
      if (this.stats.failedPushes === 1 || this.stats.failedPushes % 100 === 0) {
        this.log.warn(
          { event: 'realtime_push_failed', url: this.url, failures: this.stats.failedPushes, err: (err as Error).message },
          'live log push failed; lines dropped',
        );
      }
    }
  }

  private async run(): Promise<void> {
    await repeat(
      async () => {
        while (this.queue.length > 0 && !this.stop.signal.aborted) await this.sendBatch();
      },
      { signal: this.stop.signal, wait: () => this.settings.flushMs },
    );
  }

  /** Sends what is queued (within `deadlineMs`), then stops; lines left over are counted as dropped. */
  async close(deadlineMs = 5_000): Promise<ShipperStats> {
    this.stop.abort();
    await this.loop;
    const until = Date.now() + deadlineMs;
    while (this.queue.length > 0 && Date.now() < until) await this.sendBatch();
    this.stats.dropped += this.queue.length;
    this.queue = [];
    return this.stats;
  }
}
