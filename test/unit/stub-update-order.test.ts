import { describe, expect, it } from 'vitest';
import { checkUpdateOrder, orderStateOf, paramsKey, parseBulkSeqHeader, type PastUpdate } from '../../server-stub/src/model/update-seq.js';

const ID = 1000001;
const past = (n: number | null, state: string, extra: Partial<PastUpdate> = {}): PastUpdate => ({
  seqHeader: n === null ? null : `${ID}:1:${n}`,
  state,
  accepted: true,
  paramsKey: paramsKey({ state, n }),
  command: 'NULL',
  ...extra,
});
const incoming = (n: number | null, state: string, params: Record<string, unknown> = { state, n }) => ({
  pandaId: ID,
  attemptNr: 1,
  seqHeader: n === null ? null : `${ID}:1:${n}`,
  state,
  paramsKey: paramsKey(params),
});
const verdict = (history: PastUpdate[], n: number | null, state: string, params?: Record<string, unknown>) =>
  checkUpdateOrder(orderStateOf(history), incoming(n, state, params));

describe('update order rules', () => {
  it('accepts newer sequences and equal-rank heartbeats', () => {
    expect(verdict([], 1, 'starting').kind).toBe('accept');
    expect(verdict([past(1, 'starting'), past(2, 'running')], 3, 'running').kind).toBe('accept');
    expect(verdict([past(1, 'starting'), past(2, 'running')], 7, 'finished').kind).toBe('accept'); // gaps are fine (coalesced heartbeats)
  });

  it('refuses a sequence that is not newer than the last accepted one', () => {
    const v = verdict([past(1, 'starting'), past(3, 'running')], 2, 'running');
    expect(v).toMatchObject({ kind: 'violation', reason: 'sequence 2 is not newer than 3' });
  });

  it('answers an exact resend of an accepted sequence as a duplicate with the first reply', () => {
    const history = [past(1, 'starting'), past(2, 'running', { command: 'debug' }), past(3, 'finished')];
    expect(verdict(history, 2, 'running')).toMatchObject({ kind: 'duplicate', command: 'debug' });
    expect(verdict(history, 3, 'finished')).toMatchObject({ kind: 'duplicate', command: 'NULL' });
  });

  it('refuses a reused sequence with different content', () => {
    const v = verdict([past(1, 'starting'), past(2, 'running')], 2, 'running', { state: 'running', n: 2, other: 1 });
    expect(v).toMatchObject({ kind: 'violation', reason: expect.stringMatching(/reused/) });
  });

  it('ignores refused and duplicate updates when it remembers order', () => {
    const refused = past(5, 'running', { accepted: false });
    expect(verdict([past(1, 'starting'), refused], 3, 'running').kind).toBe('accept');
    expect(verdict([past(1, 'starting'), refused], 5, 'running').kind).toBe('accept');
  });

  it('refuses heartbeats and second finals after the final update, with or without a sequence', () => {
    const history = [past(1, 'starting'), past(2, 'finished')];
    expect(verdict(history, 3, 'running')).toMatchObject({ kind: 'violation', reason: 'running after the final update (finished)' });
    expect(verdict(history, 3, 'failed')).toMatchObject({ kind: 'violation', reason: expect.stringMatching(/second final/) });
    expect(verdict([past(null, 'running'), past(null, 'failed')], null, 'running').kind).toBe('violation');
  });

  it('refuses a state regression even without a sequence (pilot3)', () => {
    expect(verdict([past(null, 'running')], null, 'starting')).toMatchObject({ kind: 'violation', reason: 'state regression: starting after running' });
    expect(verdict([past(null, 'transferring')], null, 'running').kind).toBe('violation');
    expect(verdict([past(null, 'starting')], null, 'running').kind).toBe('accept');
  });

  it('refuses a header that names another job or attempt, or cannot be read', () => {
    const state = orderStateOf([]);
    expect(checkUpdateOrder(state, { ...incoming(1, 'running'), seqHeader: `42:1:1` }).kind).toBe('violation');
    expect(checkUpdateOrder(state, { ...incoming(1, 'running'), attemptNr: 2 }).kind).toBe('violation');
    expect(checkUpdateOrder(state, { ...incoming(1, 'running'), seqHeader: 'garbage' }).kind).toBe('violation');
  });

  it('leaves a state a pilot may not send to the state machine', () => {
    expect(verdict([past(1, 'finished')], 2, 'bogus').kind).toBe('accept');
  });

  it('looks a sequence up among the accepted ones only when it is not newer than the last (a resend or a stale one)', () => {
    const state = orderStateOf([past(1, 'starting'), past(2, 'running'), past(4, 'running')]);
    const looked: string[] = [];
    const counting = { ...state, acceptedBySeq: { get: (raw: string) => (looked.push(raw), state.acceptedBySeq.get(raw)) } };
    expect(checkUpdateOrder(counting, incoming(5, 'running')).kind).toBe('accept');
    expect(checkUpdateOrder(counting, incoming(9, 'finished')).kind).toBe('accept');
    expect(looked).toEqual([]);
    expect(checkUpdateOrder(counting, incoming(2, 'running')).kind).toBe('duplicate');
    expect(checkUpdateOrder(counting, incoming(3, 'running'))).toMatchObject({ kind: 'violation', reason: 'sequence 3 is not newer than 4' });
    expect(looked).toEqual([`${ID}:1:2`, `${ID}:1:3`]);
  });

  it('reads the bulk header map and tolerates junk', () => {
    expect(parseBulkSeqHeader(JSON.stringify({ 7: '7:1:3', 8: '8:2:9' })).get('8')).toBe('8:2:9');
    expect(parseBulkSeqHeader('not json').size).toBe(0);
    expect(parseBulkSeqHeader(undefined).size).toBe(0);
  });
});
