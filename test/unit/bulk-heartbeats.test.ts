import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { BulkHeartbeatBatcher, NaiveUpdateSender, OrderedUpdateChannel, SEQ_HEADER, type SendUpdate } from '../../pilot/src/report/index.js';
import { TransportError } from '../../pilot/src/errors/index.js';
import type { BulkUpdateItem, UpdateReply } from '../../pilot/src/protocol/index.js';

const log = pino({ level: 'silent' });
const ok = (command = 'NULL'): UpdateReply => ({ statusCode: 0, command, raw: {} });
afterEach(() => vi.useRealTimers());

/** Two jobs' channels whose heartbeats go through one batcher, state changes directly. */
function setup(answer: (items: readonly BulkUpdateItem[], call: number) => (UpdateReply | Error)[]) {
  const bulkCalls: { jobs: number[]; seqs: string[] }[] = [];
  const direct: string[] = [];
  const batcher = new BulkHeartbeatBatcher({
    gatherMs: 100,
    log,
    sendBulk: async (items) => {
      bulkCalls.push({ jobs: items.map((i) => i.update.jobId), seqs: items.map((i) => i.seqHeader) });
      return answer(items, bulkCalls.length - 1);
    },
  });
  const replies: Record<number, string[]> = { 1: [], 2: [] };
  const make = (pandaId: number) => {
    const send: SendUpdate = (u, h, signal, kind) => {
      if (kind === 'heartbeat') return batcher.send(u, h, signal);
      direct.push(h[SEQ_HEADER] as string);
      return Promise.resolve(ok());
    };
    return new OrderedUpdateChannel({
      pandaId,
      attemptNr: 1,
      send,
      log,
      random: () => 0.5,
      onReply: (r, sent) => replies[pandaId]!.push(`${sent.seq}:${r.command}`),
    });
  };
  return { bulkCalls, direct, replies, a: make(1), b: make(2), batcher };
}

describe('bulk heartbeats', () => {
  it('sends the heartbeats of several jobs as one request and gives each job its own reply', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = setup((items) => items.map((i) => ok(i.update.jobId === 1 ? 'tobekilled' : 'NULL')));
    s.a.stateChange('running', {});
    s.b.stateChange('running', {});
    await vi.advanceTimersByTimeAsync(10);
    s.a.heartbeat('running', {});
    s.b.heartbeat('running', {});
    await vi.advanceTimersByTimeAsync(150);
    expect(s.bulkCalls).toEqual([{ jobs: [1, 2], seqs: ['1:1:2', '2:1:2'] }]);
    expect(s.direct).toEqual(['1:1:1', '2:1:1']);
    expect(s.replies).toEqual({ 1: ['1:NULL', '2:tobekilled'], 2: ['1:NULL', '2:NULL'] });
  });

  it('keeps one update in flight per job: a failed bulk is resent by each channel with the same sequences', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = setup((items, call) => {
      if (call === 0) throw new TransportError('no reply within 1000 ms', 'timeout');
      return items.map(() => ok());
    });
    s.a.heartbeat('running', { beat: 1 });
    s.b.heartbeat('running', { beat: 1 });
    await vi.advanceTimersByTimeAsync(50);
    s.a.heartbeat('running', { beat: 2 }); // waits behind a's beat 1, never joins the same bulk
    await vi.advanceTimersByTimeAsync(5_000);
    expect(s.bulkCalls[0]).toEqual({ jobs: [1, 2], seqs: ['1:1:1', '2:1:1'] });
    // After the failure both resend seq 1 (together, same backoff), then a's beat 2 goes alone.
    expect(s.bulkCalls[1]).toEqual({ jobs: [1, 2], seqs: ['1:1:1', '2:1:1'] });
    expect(s.bulkCalls[2]).toEqual({ jobs: [1], seqs: ['1:1:2'] });
    for (const call of s.bulkCalls) expect(new Set(call.jobs).size).toBe(call.jobs.length);
  });

  it('rejects only the job whose entry the server refused', async () => {
    vi.useFakeTimers({ now: 0 });
    const s = setup((items) => items.map((i) => (i.update.jobId === 2 ? new Error('update_job refused: Invalid job status') : ok())));
    s.a.heartbeat('running', {});
    s.b.heartbeat('running', {});
    await vi.advanceTimersByTimeAsync(200);
    expect(s.replies).toEqual({ 1: ['1:NULL'], 2: [] });
    expect(s.bulkCalls).toHaveLength(1); // a refusal is an answer: not resent
  });
});

describe('naive sender (benchmark baseline)', () => {
  it('fires updates as they are made, concurrently, and retries each a few times', async () => {
    let inFlight = 0;
    let max = 0;
    const seqs: string[] = [];
    const send: SendUpdate = async (_u, h) => {
      seqs.push(h[SEQ_HEADER] as string);
      inFlight += 1;
      max = Math.max(max, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= 1;
      if (h[SEQ_HEADER] === '3:1:2') throw new TransportError('reset', 'network');
      return ok();
    };
    const naive = new NaiveUpdateSender({ pandaId: 3, attemptNr: 1, send, log, sleep: async () => undefined });
    naive.stateChange('starting', {});
    naive.heartbeat('running', {});
    const fin = await naive.final('finished', {});
    await naive.flush();
    expect(max).toBeGreaterThan(1);
    expect(fin.acknowledged).toBe(true);
    expect(seqs.filter((s) => s === '3:1:2')).toHaveLength(3);
  });
});
