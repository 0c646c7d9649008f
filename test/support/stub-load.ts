/**
 * Simulated pilots against a stub over loopback: each takes one job and
 * reports starting → running → running → final, in either dialect, the way
 * pilot3 (legacy) and the node pilot (v1) do, with the update sequence header.
 * Used by the load bench (bench/stub-load.bench.mjs) and the crash test.
 *
 * Bounded: every pilot stops at `deadlineMs`; a pilot that finds no job stops.
 * With `retry`, a refused connection or a lost reply is resent unchanged (same
 * sequence) until the deadline, as a pilot does when the server restarts.
 */
import { RawHttpClient, type RawReply } from './raw-http-client.js';

export { hammer } from './raw-http-client.js';

export type Dialect = 'legacy' | 'v1';
export type Call = 'getJob' | 'starting' | 'running' | 'final';

export interface LoadOptions {
  url: string;
  pilots: number;
  dialect: Dialect;
  /** Sockets (and so requests in flight) at most. */
  concurrency: number;
  /** Epoch ms after which pilots give up. */
  deadlineMs: number;
  site: string;
  /** Pause between starting and the first heartbeat (the payload runs), ms: uniform in [0, payloadMs]. */
  payloadMs: number;
  /** Resend on connection errors until the deadline (the stub may be restarting). */
  retry: boolean;
  /** Which jobs report `failed` (by the pilot's index); default none. */
  fails?: (index: number) => boolean;
  /** Told after every acknowledged update, with the number so far (the crash test kills the stub from here). */
  onAck?: (count: number) => void;
}

/** One acknowledged update: the stub said StatusCode 0, so it must be on disk. */
export interface Ack {
  pandaId: number;
  seq: string;
  state: string;
}

export interface LoadResult {
  startedAt: number;
  endedAt: number;
  /** Per call: latency samples in ms (socket assigned → reply read). */
  latencies: Record<Call, number[]>;
  /** New TCP connections: ms from socket creation to connected. */
  connects: number[];
  /** Epoch ms of each job's acknowledged `starting`. */
  startingAt: number[];
  /** Epoch ms of every acknowledged update, in order. */
  ackAt: number[];
  acks: Ack[];
  /** Pilots that got no job (the queue was empty). */
  noJob: number;
  /** Requests that failed for good (not retried or out of time), with the first few reasons. */
  errors: number;
  errorSamples: string[];
  /** Replies that were not an acknowledgement (a refusal, a command). */
  refusals: number;
  refusalSamples: string[];
  /** Resends after connection errors. */
  resends: number;
  /** The slowest requests per call: when they were made (s after the start), how long they queued for a socket, and their latency. */
  slowest: Record<Call, Slow[]>;
}

export interface Slow {
  ms: number;
  atS: number;
  queuedMs: number;
}

type Reply = RawReply;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pilots started per turn of the generator's event loop. */
const START_GROUP = 256;

/** A job as a pilot needs it from getJob / acquire_jobs. */
interface Got {
  pandaId: number;
  attemptNr: number;
}

function parseJob(dialect: Dialect, text: string): Got | 'none' | string {
  if (dialect === 'legacy') {
    const f = new URLSearchParams(text);
    if (f.get('StatusCode') === '20') return 'none';
    const id = Number(f.get('PandaID'));
    if (f.get('StatusCode') !== '0' || !Number.isInteger(id)) return `getJob: ${text.slice(0, 200)}`;
    return { pandaId: id, attemptNr: Number(f.get('attemptNr') ?? 1) };
  }
  const env = JSON.parse(text) as { success: boolean; message: string; data: { jobs?: { PandaID: number; attemptNr: number }[] } | null };
  if (!env.success) return /no jobs/i.test(env.message) ? 'none' : `acquire_jobs: ${text.slice(0, 200)}`;
  const job = env.data?.jobs?.[0];
  return job ? { pandaId: job.PandaID, attemptNr: Number(job.attemptNr) } : `acquire_jobs: ${text.slice(0, 200)}`;
}

function acknowledged(dialect: Dialect, text: string): boolean {
  if (dialect === 'legacy') {
    const f = new URLSearchParams(text);
    return f.get('StatusCode') === '0' && (f.get('command') ?? 'NULL') === 'NULL';
  }
  const env = JSON.parse(text) as { success: boolean; data: { StatusCode?: number; command?: string } | null };
  return env.success && env.data?.StatusCode === 0 && (env.data.command ?? 'NULL') === 'NULL';
}

/** Runs the pilots; resolves when every pilot has stopped. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = {
    startedAt: Date.now(),
    endedAt: 0,
    latencies: { getJob: [], starting: [], running: [], final: [] },
    connects: [],
    startingAt: [],
    ackAt: [],
    acks: [],
    noJob: 0,
    errors: 0,
    errorSamples: [],
    refusals: 0,
    refusalSamples: [],
    resends: 0,
    slowest: { getJob: [], starting: [], running: [], final: [] },
  };
  const t0 = performance.now();
  // Keep-alive connections, at most `concurrency`, one FIFO of requests waiting for them (as a keep-alive Agent with maxSockets).
  const client = new RawHttpClient(o.url, o.concurrency, (ms) => result.connects.push(ms));
  const noteSlow = (call: Call, reply: Reply): void => {
    const list = result.slowest[call];
    if (list.length >= 3 && (list[list.length - 1] as Slow).ms >= reply.ms) return;
    list.push({ ms: reply.ms, atS: (reply.made - t0) / 1000, queuedMs: reply.queuedMs });
    list.sort((a, b) => b.ms - a.ms);
    list.length = Math.min(list.length, 3);
  };
  const fail = (why: string) => {
    result.errors += 1;
    if (result.errorSamples.length < 5) result.errorSamples.push(why);
  };
  /** Sends until a reply arrives (resending on connection errors when retrying), or undefined past the deadline. */
  const send = async (call: Call, path: string, body: string, headers: Record<string, string>): Promise<Reply | undefined> => {
    for (;;) {
      if (Date.now() > o.deadlineMs) return (fail(`${call}: deadline`), undefined);
      try {
        const reply = await client.post(path, body, headers);
        // 503: over the stub's request cap; a pilot backs off and retries.
        if (reply.status === 503) {
          result.resends += 1;
          await sleep(50 + Math.random() * 200);
          continue;
        }
        result.latencies[call].push(reply.ms);
        noteSlow(call, reply);
        return reply;
      } catch (err) {
        if (!o.retry) return (fail(`${call}: ${(err as Error).message}`), undefined);
        result.resends += 1;
        await sleep(100 + Math.random() * 200);
      }
    }
  };
  const legacyHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
  const v1Headers = { 'content-type': 'application/json' };

  const getJob = async (index: number): Promise<Got | undefined> => {
    const reply =
      o.dialect === 'legacy'
        ? await send('getJob', '/server/panda/getJob', new URLSearchParams({ siteName: o.site, node: `wn${index}`, mem: '4000' }).toString(), legacyHeaders)
        : await send('getJob', '/api/v1/pilot/acquire_jobs', JSON.stringify({ site_name: o.site, node: `wn${index}`, memory: 4000 }), v1Headers);
    if (!reply) return undefined;
    const got = reply.status === 200 ? parseJob(o.dialect, reply.text) : `getJob HTTP ${reply.status}: ${reply.text.slice(0, 200)}`;
    if (got === 'none') return ((result.noJob += 1), undefined);
    if (typeof got === 'string') return (fail(got), undefined);
    return got;
  };

  const update = async (job: Got, n: number, call: Call, state: string, extra: Record<string, string | number>): Promise<boolean> => {
    const seq = `${job.pandaId}:${job.attemptNr}:${n}`;
    const headers = { ...(o.dialect === 'legacy' ? legacyHeaders : v1Headers), 'x-panda-update-seq': seq };
    const reply =
      o.dialect === 'legacy'
        ? await send(
            call,
            '/server/panda/updateJob',
            new URLSearchParams({
              jobId: String(job.pandaId),
              state,
              attemptNr: String(job.attemptNr),
              ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])),
            }).toString(),
            headers,
          )
        : await send(
            call,
            '/api/v1/pilot/update_job',
            JSON.stringify({ job_id: job.pandaId, job_status: state, attempt_nr: job.attemptNr, ...v1Names(extra) }),
            headers,
          );
    if (!reply) return false;
    if (reply.status !== 200 || !acknowledged(o.dialect, reply.text)) {
      result.refusals += 1;
      if (result.refusalSamples.length < 5) result.refusalSamples.push(`${call} ${seq}: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
      return false;
    }
    result.acks.push({ pandaId: job.pandaId, seq, state });
    result.ackAt.push(Date.now());
    o.onAck?.(result.acks.length);
    if (call === 'starting') result.startingAt.push(Date.now());
    return true;
  };

  const pilot = async (index: number): Promise<void> => {
    const job = await getJob(index);
    if (!job) return;
    if (!(await update(job, 1, 'starting', 'starting', { node: `wn${index}` }))) return;
    await sleep(Math.random() * o.payloadMs);
    if (!(await update(job, 2, 'running', 'running', { maxRSS: 100_000 + index }))) return;
    if (!(await update(job, 3, 'running', 'running', { maxRSS: 200_000 + index }))) return;
    const failed = o.fails?.(index) ?? false;
    await update(
      job,
      4,
      'final',
      failed ? 'failed' : 'finished',
      failed ? { pilotErrorCode: 1212, pilotErrorDiag: 'simulated failure' } : { transExitCode: 0 },
    );
  };

  // Pilots start in groups of 256 with a turn of the event loop between: made in one synchronous burst,
  // 11,461 pilots (a request string and promises each) held the first requests and the sockets' connects
  // back ~60-160 ms, the stub idle meanwhile. Same order of requests (one FIFO), the first on the wire at once.
  const pilots: Promise<void>[] = [];
  for (let i = 0; i < o.pilots; i++) {
    pilots.push(pilot(i));
    if (i % START_GROUP === START_GROUP - 1) await new Promise<void>((r) => setImmediate(r));
  }
  await Promise.all(pilots);
  client.destroy();
  result.endedAt = Date.now();
  return result;
}

const V1_NAMES: Record<string, string> = {
  node: 'node',
  maxRSS: 'max_rss',
  transExitCode: 'trans_exit_code',
  pilotErrorCode: 'pilot_error_code',
  pilotErrorDiag: 'pilot_error_diag',
};
function v1Names(extra: Record<string, string | number>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(extra).map(([k, v]) => [V1_NAMES[k] ?? k, v]));
}

/** p-th percentile (0..100) of samples, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** The bench's table: one row per call, then the totals that the issue's targets are about. */
/** The most acknowledgements in any one-second window. */
export function peakPerSecond(times: readonly number[]): number {
  let best = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while ((times[hi] as number) - (times[lo] as number) >= 1000) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

export function formatLoad(dialect: Dialect, r: LoadResult): string {
  const secs = (r.endedAt - r.startedAt) / 1000;
  const rows = (Object.keys(r.latencies) as Call[]).map((call) => {
    const l = r.latencies[call];
    return `${dialect.padEnd(7)} ${call.padEnd(9)} ${String(l.length).padStart(7)} ${(l.length / secs).toFixed(0).padStart(7)} ${percentile(l, 50).toFixed(1).padStart(8)} ${percentile(l, 99).toFixed(1).padStart(8)} ${Math.max(
      0,
      ...l,
    )
      .toFixed(1)
      .padStart(8)}`;
  });
  const updates = r.acks.length;
  const allStarting = r.startingAt.length ? (Math.max(...r.startingAt) - r.startedAt) / 1000 : NaN;
  const requests = Object.values(r.latencies).reduce((a, l) => a + l.length, 0);
  return [
    `dialect call         count   req/s   p50 ms   p99 ms   max ms`,
    ...rows,
    `${dialect.padEnd(7)} ${'connect'.padEnd(9)} ${String(r.connects.length).padStart(7)} ${''.padStart(7)} ${percentile(r.connects, 50).toFixed(1).padStart(8)} ${percentile(r.connects, 99).toFixed(1).padStart(8)} ${Math.max(
      0,
      ...r.connects,
    )
      .toFixed(1)
      .padStart(8)}`,
    `${dialect}: ${requests} requests in ${secs.toFixed(1)} s = ${(requests / secs).toFixed(0)} req/s; ${updates} durable updates acknowledged = ${(updates / secs).toFixed(0)} updates/s over the run, ${peakPerSecond(r.ackAt)} in the busiest second`,
    `${dialect}: ${r.startingAt.length} jobs sent → starting, the last after ${allStarting.toFixed(2)} s; no job: ${r.noJob}; errors: ${r.errors}; refusals: ${r.refusals}; resends: ${r.resends}`,
    ...(Object.keys(r.slowest) as Call[]).map(
      (call) =>
        `${dialect}: slowest ${call}: ${r.slowest[call].map((s) => `${s.ms.toFixed(0)} ms (made at ${s.atS.toFixed(2)} s, ${s.queuedMs.toFixed(0)} ms waiting for a socket)`).join(', ')}`,
    ),
    ...r.errorSamples.map((e) => `  error: ${e}`),
    ...r.refusalSamples.map((e) => `  refusal: ${e}`),
  ].join('\n');
}
