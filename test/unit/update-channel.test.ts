import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { OrderedUpdateChannel, SEQ_HEADER, type UpdateKind } from '../../pilot/src/report/index.js';
import { backoffDelay } from '../../pilot/src/retry/index.js';
import { HttpStatusError, ProtocolError, TransportError } from '../../pilot/src/errors/index.js';
import type { JobUpdate, UpdateReply } from '../../pilot/src/protocol/index.js';

const log = pino({ level: 'silent' });
const ok = (command = 'NULL'): UpdateReply => ({ statusCode: 0, command, raw: {} });
const noSleep = async () => undefined;
const timeout = () => new TransportError('no reply within 1000 ms', 'timeout');

/** A server double that records every attempt and lets a test decide each answer. */
function recorder(answer: (u: JobUpdate, attempt: number) => Promise<UpdateReply> | UpdateReply = () => ok()) {
  const attempts: { state: string; seq: number; kind: UpdateKind; at: number; fields: JobUpdate['fields'] }[] = [];
  const answered: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (u: JobUpdate, headers: Record<string, string>, _signal: AbortSignal | undefined, kind: UpdateKind) => {
    const seq = Number(String(headers[SEQ_HEADER]).split(':')[2]);
    attempts.push({ state: u.state, seq, kind, at: Date.now(), fields: u.fields });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await Promise.resolve();
      const reply = await answer(u, attempts.length - 1);
      answered.push(seq);
      return reply;
    } finally {
      inFlight -= 1;
    }
  };
  return { send, attempts, answered, maxInFlight: () => maxInFlight };
}

const channel = (send: ReturnType<typeof recorder>['send'], extra: Partial<ConstructorParameters<typeof OrderedUpdateChannel>[0]> = {}) =>
  new OrderedUpdateChannel({ pandaId: 7, attemptNr: 2, send, log, sleep: noSleep, ...extra });

afterEach(() => {
  vi.useRealTimers();
});

describe('OrderedUpdateChannel: order', () => {
  it('a provisional final goes to disk under the next number, not to the server; nothing but the final takes that number', async () => {
    const r = recorder();
    const kept: { state: string; seq: string; fields: JobUpdate['fields'] }[] = [];
    const ch = channel(r.send, { persistFinal: (u, seq) => kept.push({ state: u.state, seq, fields: u.fields }) });
    ch.stateChange('running', {});
    await ch.flush();
    ch.persistProvisionalFinal('failed', { pilotErrorCode: 1305 });
    expect(kept).toEqual([{ state: 'failed', seq: '7:2:2', fields: { pilotErrorCode: 1305 } }]);
    expect(r.attempts.map((a) => a.state)).toEqual(['running']);
    ch.heartbeat('running', {});
    expect(ch.stateChange('running', {})).toBe(false);
    expect((await ch.final('failed', { pilotErrorCode: 1305, xml: '{}' })).acknowledged).toBe(true);
    // The final as sent replaces the provisional one under the same number.
    expect(kept.map((k) => k.seq)).toEqual(['7:2:2', '7:2:2']);
    expect(kept[1]!.fields).toMatchObject({ xml: '{}' });
    expect(r.attempts.map((a) => [a.state, a.seq])).toEqual([
      ['running', 1],
      ['failed', 2],
    ]);
  });

  it('sends in order, one at a time, stamping <PandaID>:<attemptNr>:<n>', async () => {
    const r = recorder();
    const headers: string[] = [];
    const ch = channel(async (u, h, s, k) => (headers.push(h[SEQ_HEADER] as string), r.send(u, h, s, k)));
    ch.stateChange('starting', {});
    ch.stateChange('running', {});
    await ch.flush();
    ch.heartbeat('running', { n: 1 });
    await ch.flush();
    expect((await ch.final('finished', {})).acknowledged).toBe(true);
    expect(r.maxInFlight()).toBe(1);
    expect(headers).toEqual(['7:2:1', '7:2:2', '7:2:3', '7:2:4']);
    expect(r.attempts.map((a) => a.state)).toEqual(['starting', 'running', 'running', 'finished']);
  });

  it('coalesces waiting heartbeats to the newest; a newer state change replaces a waiting heartbeat; state changes never coalesce', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const r = recorder(async (_u, n) => {
      if (n === 0) await gate;
      return ok();
    });
    const ch = channel(r.send);
    ch.stateChange('starting', {});
    ch.heartbeat('running', { beat: 1 });
    ch.heartbeat('running', { beat: 2 });
    ch.heartbeat('running', { beat: 3 });
    expect(ch.pending).toBe(2); // starting in flight, only the newest heartbeat waits
    release();
    await ch.flush();
    ch.stateChange('running', { s: 1 });
    ch.heartbeat('running', { beat: 4 });
    ch.stateChange('transferring', { s: 2 });
    ch.stateChange('transferring', { s: 3 });
    await ch.final('failed', {});
    expect(r.attempts.map((a) => `${a.state}${a.fields.beat ?? a.fields.s ?? ''}`)).toEqual([
      'starting',
      'running3',
      'running1',
      'transferring2',
      'transferring3',
      'failed',
    ]);
    expect(r.attempts.map((a) => a.seq)).toEqual([1, 4, 5, 7, 8, 9]); // gaps are the heartbeats that never left
  });

  it('refuses a state regression and sends nothing after the final update', async () => {
    const r = recorder();
    const ch = channel(r.send);
    ch.stateChange('running', {});
    expect(ch.stateChange('starting', {})).toBe(false);
    ch.heartbeat('starting', {});
    await ch.final('finished', {});
    ch.heartbeat('running', {});
    expect(ch.stateChange('running', {})).toBe(false);
    await ch.flush();
    expect(r.attempts.map((a) => a.state)).toEqual(['running', 'finished']);
  });

  it('resends an update that timed out, same sequence, before anything newer leaves', async () => {
    const r = recorder((u, n) => {
      if (u.fields.beat === 1 && n < 4) throw n % 2 ? timeout() : new HttpStatusError(503, '', '/x');
      return ok();
    });
    const ch = channel(r.send);
    ch.stateChange('starting', {});
    await ch.flush();
    ch.heartbeat('running', { beat: 1 });
    // Made while beat 1 is being retried: they wait, and the waiting heartbeat is replaced by the state change.
    await Promise.resolve();
    ch.heartbeat('running', { beat: 2 });
    ch.stateChange('transferring', {});
    await ch.final('finished', {});
    expect(r.attempts.map((a) => a.seq)).toEqual([1, 2, 2, 2, 2, 4, 5]);
    // Sequence k+1 never left before k was answered.
    for (const [i, a] of r.attempts.entries()) if (i > 0 && a.seq > r.attempts[i - 1]!.seq) expect(r.answered).toContain(r.attempts[i - 1]!.seq);
  });

  it('drops an update the server answered with a refusal (not retryable) and goes on', async () => {
    const r = recorder((u) => {
      if (u.state === 'running') throw new HttpStatusError(400, 'bad', '/x');
      if (u.state === 'failed') throw new ProtocolError('update_job refused: Invalid job status');
      return ok();
    });
    const ch = channel(r.send);
    ch.stateChange('running', {});
    const fin = await ch.final('failed', {});
    expect(r.attempts.map((a) => a.state)).toEqual(['running', 'failed']);
    expect(fin).toMatchObject({ acknowledged: false, error: expect.stringMatching(/refused/) });
  });

  it('hands each reply to onReply with the update it answered, and stops after alreadydone', async () => {
    const r = recorder((u) => ok(u.state === 'running' ? 'alreadydone' : 'NULL'));
    const seen: string[] = [];
    const ch = channel(r.send, { onReply: (reply, sent) => seen.push(`${sent.seq}:${sent.update.state}:${reply.command}`) });
    ch.stateChange('starting', {});
    ch.stateChange('running', {});
    await ch.flush();
    expect(ch.closed).toBe(true);
    ch.heartbeat('running', {});
    const fin = await ch.final('finished', {});
    expect(fin.acknowledged).toBe(true);
    expect(seen).toEqual(['1:starting:NULL', '2:running:alreadydone']);
    expect(r.attempts.map((a) => a.state)).toEqual(['starting', 'running']);
  });
});

describe('OrderedUpdateChannel: timing (fake timers)', () => {
  it('backs off exponentially, capped, with jitter around each step', async () => {
    vi.useFakeTimers({ now: 0 });
    const r = recorder((_u, n) => {
      if (n < 5) throw timeout();
      return ok();
    });
    const backoff = { initialMs: 1000, maxMs: 5000, factor: 2, jitter: 0.5 };
    const ch = new OrderedUpdateChannel({ pandaId: 1, attemptNr: 1, send: r.send, log, backoff, random: () => 0.5 });
    const fin = ch.final('finished', {});
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await fin).acknowledged).toBe(true);
    const gaps = r.attempts.slice(1).map((a, i) => a.at - r.attempts[i]!.at);
    expect(gaps).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(r.attempts.every((a) => a.seq === 1)).toBe(true);
    // Jitter: ±50 % around the step, never beyond.
    expect(backoffDelay(3, backoff, () => 0)).toBe(2000);
    expect(backoffDelay(3, backoff, () => 0.999999)).toBe(6000);
    expect(backoffDelay(30, backoff, () => 0.999999)).toBeLessThanOrEqual(7500);
  });

  it('gives up on the final update at the deadline and hands it back for keeping', async () => {
    vi.useFakeTimers({ now: 0 });
    const r = recorder(() => {
      throw new TransportError('connect ECONNREFUSED', 'network');
    });
    const ch = new OrderedUpdateChannel({ pandaId: 5, attemptNr: 1, send: r.send, log, finalDeadlineMs: 30_000, random: () => 0.5 });
    const fin = ch.final('failed', { pilotErrorCode: 1305 });
    await vi.advanceTimersByTimeAsync(31_000);
    const out = await fin;
    expect(out).toMatchObject({ acknowledged: false, seq: 1, error: expect.stringMatching(/within 30 s/) });
    expect(out.update.fields.pilotErrorCode).toBe(1305);
    const attemptsAtDeadline = r.attempts.length;
    expect(attemptsAtDeadline).toBeGreaterThanOrEqual(4);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(r.attempts.length).toBe(attemptsAtDeadline); // nothing more after giving up
  });
});
