/**
 * Picks the dialect: by flag, or (auto) by asking the v1 liveness endpoint,
 * which needs no authentication and which legacy servers do not have. The
 * probe is retried with backoff (a server restarting must not decide the
 * dialect), and with `auto` a refusal that names the other dialect switches
 * to it (legacy `403 method getJob is forbidden` → v1, a v1 404 → legacy).
 */
import type { Logger } from 'pino';
import { isRetryable } from '../errors/index.js';
import { retry } from '../retry/index.js';
import { HttpTransport } from './http-transport.js';
import { LegacyDialect } from './legacy-dialect.js';
import type { BulkUpdateItem, JobRequest, JobUpdate, PandaServer, RangeReport, RangeRequest, SendOptions, WorkerStatusReport } from '../protocol/index.js';
import { classifyRefusal } from './start-up-refusals.js';
import { V1Dialect } from './v1-dialect.js';

export type ApiChoice = 'legacy' | 'v1' | 'auto';

/** True for a v1 server, false for one without the endpoint; throws when the server could not be reached. */
async function probeV1(http: HttpTransport, signal?: AbortSignal): Promise<boolean> {
  const reply = await http.send('GET', '/api/v1/system/is_alive', undefined, { Accept: 'application/json' }, signal);
  if (reply.status >= 500 || reply.status === 429) throw Object.assign(new Error(`is_alive: HTTP ${reply.status}`), { retryable: true });
  if (reply.status !== 200) return false;
  try {
    return (JSON.parse(reply.body) as { success?: unknown }).success === true;
  } catch {
    return false;
  }
}

export async function detectV1(http: HttpTransport, signal?: AbortSignal, log?: Logger, maxAttempts = 5): Promise<boolean> {
  try {
    return await retry(() => probeV1(http, signal), {
      signal: signal ?? new AbortController().signal,
      maxAttempts,
      retryable: (err) => isRetryable(err) || (err as { retryable?: boolean }).retryable === true,
      backoff: { initialMs: 1_000, maxMs: 16_000, factor: 2, jitter: 0.3 },
      onFailure: (err, attempt, willRetry) => log?.warn({ event: 'is_alive_failed', attempt, willRetry, err: (err as Error).message }, 'dialect probe failed'),
    });
  } catch {
    // Still unreachable: legacy, and the first real call says what is wrong.
    return false;
  }
}

/** A server connection that moves to the other dialect when the server says it speaks that one. */
class AutoDialect implements PandaServer {
  private current: PandaServer;
  private switched = false;
  constructor(
    private readonly http: HttpTransport,
    v1: boolean,
    private readonly log?: Logger,
  ) {
    this.current = v1 ? new V1Dialect(http) : new LegacyDialect(http);
  }

  get dialect() {
    return this.current.dialect;
  }

  async getJob(req: JobRequest, opts?: SendOptions): Promise<Record<string, unknown> | null> {
    try {
      return await this.current.getJob(req, opts);
    } catch (err) {
      const r = classifyRefusal(err, this.current.dialect);
      if (this.switched || r?.kind !== 'switch') throw err;
      // Once: a server that refuses both dialects is not one to keep guessing about.
      this.switched = true;
      this.log?.warn({ event: 'dialect_switched', from: this.current.dialect, to: r.to, why: r.why }, `switching to the ${r.to} dialect: ${r.why}`);
      this.current = r.to === 'v1' ? new V1Dialect(this.http) : new LegacyDialect(this.http);
      return this.current.getJob(req, opts);
    }
  }

  updateJob(update: JobUpdate, opts?: SendOptions) {
    return this.current.updateJob(update, opts);
  }
  updateJobsBulk(items: readonly BulkUpdateItem[], opts?: SendOptions) {
    return this.current.updateJobsBulk(items, opts);
  }
  getEventRanges(req: RangeRequest, opts?: SendOptions) {
    return this.current.getEventRanges(req, opts);
  }
  updateEventRanges(pandaId: number, reports: readonly RangeReport[], opts?: SendOptions) {
    return this.current.updateEventRanges(pandaId, reports, opts);
  }
  updateWorkerStatus(report: WorkerStatusReport, opts?: SendOptions) {
    return this.current.updateWorkerStatus(report, opts);
  }
}

export async function selectDialect(http: HttpTransport, choice: ApiChoice, log?: Logger, signal?: AbortSignal): Promise<PandaServer> {
  if (choice === 'legacy') return new LegacyDialect(http);
  if (choice === 'v1') return new V1Dialect(http);
  const v1 = await detectV1(http, signal, log);
  log?.info({ event: 'dialect_detected', dialect: v1 ? 'v1' : 'legacy' }, 'server dialect detected');
  return new AutoDialect(http, v1, log);
}
