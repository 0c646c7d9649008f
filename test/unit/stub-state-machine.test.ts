import { describe, expect, it } from 'vitest';
import { decideUpdate, finalStateAfterHolding, type GuardedJob } from '../../server-stub/src/model/job-state-machine.js';
import type { ServerJobState } from '../../pilot/src/protocol/index.js';

const job = (state: ServerJobState, extra: Partial<GuardedJob> = {}): GuardedJob => ({
  state,
  attemptNr: 1,
  commandToPilot: null,
  finalReported: false,
  ...extra,
});

describe('decideUpdate: the normal path', () => {
  it('sent → starting → running → holding (final) applies each step', () => {
    expect(decideUpdate(job('sent'), { state: 'starting', attemptNr: 1 })).toMatchObject({ kind: 'apply', state: 'starting', final: null, command: 'NULL' });
    expect(decideUpdate(job('starting'), { state: 'running' })).toMatchObject({ kind: 'apply', state: 'running' });
    expect(decideUpdate(job('running'), { state: 'running' })).toMatchObject({ kind: 'apply', state: 'running' });
  });

  it('stores a final finished/failed as holding and says which final it was', () => {
    expect(decideUpdate(job('running'), { state: 'finished' })).toMatchObject({ kind: 'apply', state: 'holding', final: 'finished' });
    expect(decideUpdate(job('sent'), { state: 'failed' })).toMatchObject({ kind: 'apply', state: 'holding', final: 'failed' });
  });

  it('lets a pilot-set holding or transferring through', () => {
    expect(decideUpdate(job('running'), { state: 'holding' })).toMatchObject({ kind: 'apply', state: 'holding', final: null });
    expect(decideUpdate(job('running'), { state: 'transferring' })).toMatchObject({ kind: 'apply', state: 'transferring' });
    expect(decideUpdate(job('holding'), { state: 'finished' })).toMatchObject({ kind: 'apply', final: 'finished' });
  });
});

describe('decideUpdate: the server guards', () => {
  it('refuses a mismatched attemptNr with tobekilled', () => {
    expect(decideUpdate(job('running', { attemptNr: 2 }), { state: 'running', attemptNr: 1 })).toMatchObject({
      kind: 'reject',
      command: 'tobekilled',
    });
  });

  it('does not check attemptNr when the pilot did not send one', () => {
    expect(decideUpdate(job('running', { attemptNr: 3 }), { state: 'running' }).kind).toBe('apply');
  });

  it('answers tobekilled for an unknown job and for jobs never dispatched', () => {
    expect(decideUpdate(undefined, { state: 'running' })).toMatchObject({ kind: 'reject', command: 'tobekilled' });
    for (const s of ['defined', 'activated', 'cancelled'] as const) {
      expect(decideUpdate(job(s), { state: 'running' })).toMatchObject({ kind: 'reject', command: 'tobekilled' });
    }
  });

  it('answers alreadydone to anything sent to a failed job', () => {
    for (const s of ['starting', 'running', 'holding', 'transferring', 'finished', 'failed']) {
      expect(decideUpdate(job('failed', { finalReported: true }), { state: s })).toMatchObject({ kind: 'reject', command: 'alreadydone' });
    }
  });

  it('answers alreadydone to a second final report, holding or finished', () => {
    expect(decideUpdate(job('holding', { finalReported: true }), { state: 'finished' })).toMatchObject({ command: 'alreadydone' });
    expect(decideUpdate(job('finished', { finalReported: true }), { state: 'failed' })).toMatchObject({ command: 'alreadydone' });
  });

  it('coerces starting after running to running', () => {
    expect(decideUpdate(job('running'), { state: 'starting' })).toMatchObject({ kind: 'apply', state: 'running' });
  });

  it('silently skips running/starting after holding or transferring (no heartbeat refresh)', () => {
    for (const from of ['holding', 'transferring'] as const) {
      for (const to of ['running', 'starting']) {
        expect(decideUpdate(job(from), { state: to })).toMatchObject({ kind: 'skip', command: 'NULL' });
      }
    }
  });

  it('skips a late heartbeat after the job finished', () => {
    expect(decideUpdate(job('finished', { finalReported: true }), { state: 'running' }).kind).toBe('skip');
  });

  it('refuses a state a pilot may not send', () => {
    expect(decideUpdate(job('running'), { state: 'activated' }).kind).toBe('invalid');
    expect(decideUpdate(job('running'), { state: 'bogus' }).kind).toBe('invalid');
  });
});

describe('decideUpdate: an operator kill', () => {
  it('rides on every accepted or skipped reply', () => {
    const killed = { commandToPilot: 'tobekilled' };
    expect(decideUpdate(job('running', killed), { state: 'running' })).toMatchObject({ kind: 'apply', command: 'tobekilled' });
    expect(decideUpdate(job('holding', killed), { state: 'running' })).toMatchObject({ kind: 'skip', command: 'tobekilled' });
    expect(decideUpdate(job('running', killed), { state: 'failed' })).toMatchObject({ kind: 'apply', final: 'failed', command: 'tobekilled' });
  });

  it('makes the job end failed whatever the pilot reported', () => {
    expect(finalStateAfterHolding('finished', true)).toBe('failed');
    expect(finalStateAfterHolding('finished', false)).toBe('finished');
    expect(finalStateAfterHolding('failed', false)).toBe('failed');
  });
});
