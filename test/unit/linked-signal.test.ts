/**
 * A pilot lives for days: waits and requests tied to its lifelong stop signal
 * must leave nothing on it once they are over (AbortSignal.any kept one
 * WeakRef per call there on Node 20, one per job).
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkedSignal, pause } from '../../pilot/src/retry/index.js';

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

describe('linkedSignal', () => {
  it('aborts with the reason of the first source that aborts, and then lets go of every source', () => {
    const pilot = new AbortController();
    const job = new AbortController();
    const link = linkedSignal([pilot.signal, undefined, job.signal]);
    expect(listeners(pilot.signal)).toBe(1);
    job.abort(new Error('job over'));
    expect(link.signal.aborted).toBe(true);
    expect((link.signal.reason as Error).message).toBe('job over');
    expect(listeners(pilot.signal)).toBe(0);
  });

  it('unlink leaves a long-lived source as it was, however many times it was linked', () => {
    const pilot = new AbortController();
    for (let i = 0; i < 1000; i++) linkedSignal([pilot.signal, AbortSignal.timeout(60_000)]).unlink();
    expect(listeners(pilot.signal)).toBe(0);
    // An abort after unlink reaches none of them.
    const link = linkedSignal([pilot.signal]);
    link.unlink();
    pilot.abort();
    expect(link.signal.aborted).toBe(false);
  });

  it('is aborted at once when a source already is', () => {
    const done = new AbortController();
    done.abort('stopped');
    const other = new AbortController();
    const link = linkedSignal([other.signal, done.signal]);
    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe('stopped');
    expect(listeners(other.signal)).toBe(0);
  });
});

describe('pause over several signals', () => {
  it('resolves false when any aborts, and removes its listener from all', async () => {
    const pilot = new AbortController();
    const gate = new AbortController();
    const waiting = pause(60_000, [gate.signal, pilot.signal]);
    expect(listeners(pilot.signal)).toBe(1);
    gate.abort();
    await expect(waiting).resolves.toBe(false);
    expect(listeners(pilot.signal)).toBe(0);
  });

  it('resolves true when the time is up, with no listener left', async () => {
    const pilot = new AbortController();
    const gate = new AbortController();
    await expect(pause(1, [gate.signal, pilot.signal])).resolves.toBe(true);
    expect(listeners(pilot.signal)).toBe(0);
    expect(listeners(gate.signal)).toBe(0);
  });

  it('resolves false at once when one is already aborted', async () => {
    const done = new AbortController();
    done.abort();
    await expect(pause(60_000, [new AbortController().signal, done.signal])).resolves.toBe(false);
  });
});
