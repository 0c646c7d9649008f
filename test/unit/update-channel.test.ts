import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { OrderedUpdateChannel, SEQ_HEADER } from '../../pilot/src/report/index.js';
import { HttpStatusError, TransportError, type JobUpdate, type UpdateReply } from '../../pilot/src/server/index.js';

const log = pino({ level: 'silent' });
const ok = (command = 'NULL'): UpdateReply => ({ statusCode: 0, command, raw: {} });
const noSleep = async () => undefined;

/** A server double that records what arrives and lets a test decide each answer. */
function recorder(answer: (u: JobUpdate, n: number) => Promise<UpdateReply> | UpdateReply = () => ok()) {
  const seen: { state: string; seq: string; fields: JobUpdate['fields'] }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (u: JobUpdate, headers: Record<string, string>) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await new Promise((r) => setTimeout(r, 1));
      const reply = await answer(u, seen.length);
      seen.push({ state: u.state, seq: headers[SEQ_HEADER] as string, fields: u.fields });
      return reply;
    } finally {
      inFlight -= 1;
    }
  };
  return { send, seen, maxInFlight: () => maxInFlight };
}

describe('OrderedUpdateChannel', () => {
  it('sends in order, one at a time, with increasing sequence numbers', async () => {
    const r = recorder();
    const ch = new OrderedUpdateChannel({ pandaId: 7, attemptNr: 2, send: r.send, log, sleep: noSleep });
    ch.stateChange('starting', {});
    ch.stateChange('running', {});
    ch.heartbeat('running', { n: 1 });
    const fin = await ch.final('finished', {});
    expect(fin.acknowledged).toBe(true);
    expect(r.maxInFlight()).toBe(1);
    const seqs = r.seen.map((s) => Number(s.seq.split(':')[2]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(r.seen[0]?.seq).toBe('7:2:1');
    expect(r.seen.map((s) => s.state)).toEqual(['starting', 'running', 'running', 'finished']);
  });

  it('coalesces waiting heartbeats to the newest, but never a state change', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const r = recorder(async (_u, n) => {
      if (n === 0) await gate;
      return ok();
    });
    const ch = new OrderedUpdateChannel({ pandaId: 1, attemptNr: 1, send: r.send, log, sleep: noSleep });
    ch.stateChange('starting', {});
    ch.heartbeat('running', { beat: 1 });
    ch.heartbeat('running', { beat: 2 });
    ch.heartbeat('running', { beat: 3 });
    release();
    await ch.final('failed', {});
    expect(r.seen.map((s) => `${s.state}${s.fields.beat ?? ''}`)).toEqual(['starting', 'running3', 'failed']);
  });

  it('refuses a state regression and sends nothing after the final update', async () => {
    const r = recorder();
    const ch = new OrderedUpdateChannel({ pandaId: 1, attemptNr: 1, send: r.send, log, sleep: noSleep });
    ch.stateChange('running', {});
    expect(ch.stateChange('starting', {})).toBe(false);
    await ch.final('finished', {});
    ch.heartbeat('running', {});
    await ch.flush();
    expect(r.seen.map((s) => s.state)).toEqual(['running', 'finished']);
  });

  it('resends the same sequence after a timeout and retries the final update until acknowledged', async () => {
    let failures = 0;
    const r = recorder((u) => {
      if (u.state === 'finished' && failures < 3) {
        failures += 1;
        throw failures === 1 ? new TransportError('timeout', 'timeout') : new HttpStatusError(503, '', '/x');
      }
      return ok();
    });
    const attempts: string[] = [];
    const send = async (u: JobUpdate, h: Record<string, string>) => {
      attempts.push(h[SEQ_HEADER] as string);
      return r.send(u, h);
    };
    const ch = new OrderedUpdateChannel({ pandaId: 5, attemptNr: 1, send, log, sleep: noSleep });
    const fin = await ch.final('finished', {});
    expect(fin.acknowledged).toBe(true);
    expect(attempts).toEqual(['5:1:1', '5:1:1', '5:1:1', '5:1:1']);
  });

  it('gives up on the final update at the deadline and says so', async () => {
    const send = async () => {
      throw new TransportError('refused', 'network');
    };
    const ch = new OrderedUpdateChannel({
      pandaId: 5,
      attemptNr: 1,
      send,
      log,
      finalDeadlineMs: 200,
      backoff: { initialMs: 20, maxMs: 40, factor: 2, jitter: 0 },
    });
    const fin = await ch.final('failed', { pilotErrorCode: 1305 });
    expect(fin.acknowledged).toBe(false);
    expect(fin.update.fields.pilotErrorCode).toBe(1305);
  });

  it('stops updating after alreadydone', async () => {
    const r = recorder((u) => ok(u.state === 'running' ? 'alreadydone' : 'NULL'));
    const ch = new OrderedUpdateChannel({ pandaId: 1, attemptNr: 1, send: r.send, log, sleep: noSleep });
    ch.stateChange('running', {});
    await ch.flush();
    expect(ch.closed).toBe(true);
    const fin = await ch.final('finished', {});
    expect(fin.acknowledged).toBe(true);
    expect(r.seen.map((s) => s.state)).toEqual(['running']);
  });
});
