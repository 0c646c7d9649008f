import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpStatusError, TransportError } from '../../pilot/src/errors/index.js';
import { backoffDelay, Deadline, pause, repeat, retry, Wakeup, withJitter } from '../../pilot/src/retry/index.js';

const flaky = () => new TransportError('no reply', 'timeout');
const backoff = { initialMs: 1_000, maxMs: 8_000, factor: 2, jitter: 0 };

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('pause', () => {
  it('resolves true after the time, not before', async () => {
    let result: boolean | undefined;
    void pause(5_000).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result).toBe(true);
  });

  it('resolves false (never rejects) as soon as the signal aborts, and leaves no timer behind', async () => {
    const stop = new AbortController();
    const p = pause(60_000, stop.signal);
    await vi.advanceTimersByTimeAsync(10);
    stop.abort(new Error('SIGTERM'));
    await expect(p).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves false at once for a signal already aborted', async () => {
    await expect(pause(60_000, AbortSignal.abort())).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('retry', () => {
  it('retries retryable failures with exponential backoff until one succeeds', async () => {
    const calls: number[] = [];
    const attempt = async (n: number) => {
      calls.push(Date.now());
      if (n < 4) throw flaky();
      return 'ok';
    };
    const p = retry(attempt, { signal: new AbortController().signal, backoff });
    await vi.advanceTimersByTimeAsync(7_000);
    await expect(p).resolves.toBe('ok');
    expect(calls).toEqual([0, 1_000, 3_000, 7_000]);
  });

  it('rejects at once with an answer that resending will not change (4xx, anything not a transport failure)', async () => {
    const refused = new HttpStatusError(400, 'bad', '/x');
    const attempt = vi.fn(async () => {
      throw refused;
    });
    await expect(retry(attempt, { signal: new AbortController().signal, backoff })).rejects.toBe(refused);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('retries 5xx and 429 but takes a custom classifier when given', async () => {
    let n = 0;
    const attempt = async () => {
      n += 1;
      if (n === 1) throw new HttpStatusError(503, '', '/x');
      if (n === 2) throw new HttpStatusError(429, '', '/x');
      if (n === 3) throw new Error('odd but retryable here');
      return n;
    };
    const p = retry(attempt, { signal: new AbortController().signal, backoff, retryable: (e) => e instanceof Error });
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(p).resolves.toBe(4);
  });

  it('gives up after maxAttempts with the last error, telling onFailure each time', async () => {
    const seen: [number, boolean][] = [];
    const p = retry(
      async () => {
        throw flaky();
      },
      { signal: new AbortController().signal, backoff, maxAttempts: 3, onFailure: (_e, n, will) => seen.push([n, will]) },
    );
    const settled = expect(p).rejects.toBeInstanceOf(TransportError);
    await vi.advanceTimersByTimeAsync(10_000);
    await settled;
    expect(seen).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
  });

  it('stops at the deadline: the last wait is cut to end there and one last attempt is made', async () => {
    const calls: number[] = [];
    const p = retry(
      async () => {
        calls.push(Date.now());
        throw flaky();
      },
      { signal: new AbortController().signal, backoff: { ...backoff, initialMs: 4_000 }, deadline: 6_000 },
    );
    const settled = expect(p).rejects.toBeInstanceOf(TransportError);
    await vi.advanceTimersByTimeAsync(20_000);
    await settled;
    expect(calls).toEqual([0, 4_000, 6_000]);
  });

  it('acts on an abort during a long backoff at once: rejects with the reason, no attempt after it, no timer left', async () => {
    const stop = new AbortController();
    const attempt = vi.fn(async () => {
      throw flaky();
    });
    const p = retry(attempt, { signal: stop.signal, backoff: { ...backoff, initialMs: 60_000, maxMs: 60_000 } });
    const settled = expect(p).rejects.toThrow('SIGTERM');
    await vi.advanceTimersByTimeAsync(100);
    stop.abort(new Error('SIGTERM'));
    await settled;
    expect(attempt).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('does not call at all when already stopped', async () => {
    const attempt = vi.fn(async () => 1);
    await expect(retry(attempt, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(attempt).not.toHaveBeenCalled();
  });

  it('works with an injected sleep that rejects on abort (older style), still rejecting with the reason', async () => {
    const stop = new AbortController();
    const sleep = (_ms: number, signal?: AbortSignal) =>
      new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('sleep aborted')), { once: true }));
    const p = retry(
      async () => {
        throw flaky();
      },
      { signal: stop.signal, sleep },
    );
    const settled = expect(p).rejects.toThrow('stopped');
    await vi.advanceTimersByTimeAsync(1);
    stop.abort(new Error('stopped'));
    await settled;
  });
});

describe('repeat', () => {
  it('runs the step at once, then after each wait, and stops within a wait without another step', async () => {
    const stop = new AbortController();
    const at: number[] = [];
    const done = repeat(() => void at.push(Date.now()), { signal: stop.signal, wait: (n) => n * 1_000 });
    await vi.advanceTimersByTimeAsync(6_500);
    expect(at).toEqual([0, 1_000, 3_000, 6_000]);
    stop.abort();
    await done;
    expect(at).toHaveLength(4);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never overlaps a slow step with the next one', async () => {
    const stop = new AbortController();
    let running = 0;
    let most = 0;
    const done = repeat(
      async () => {
        running += 1;
        most = Math.max(most, running);
        await pause(5_000);
        running -= 1;
      },
      { signal: stop.signal, wait: () => 100 },
    );
    await vi.advanceTimersByTimeAsync(30_000);
    stop.abort();
    await vi.advanceTimersByTimeAsync(5_000);
    await done;
    expect(most).toBe(1);
  });
});

describe('Wakeup', () => {
  it('wake() ends the current pause and arms a fresh signal for the next one', async () => {
    const w = new Wakeup();
    const first = w.signal;
    const p = pause(60_000, first);
    w.wake();
    await expect(p).resolves.toBe(false);
    expect(first.aborted).toBe(true);
    expect(w.signal.aborted).toBe(false);
    expect(w.signal).not.toBe(first);
  });
});

describe('backoff', () => {
  it('grows by the factor, caps at maxMs, and keeps jitter within its fraction', () => {
    const b = { initialMs: 1_000, maxMs: 5_000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(1, b, () => 0.5)).toBe(1_000);
    expect(backoffDelay(3, b, () => 0)).toBe(2_000);
    expect(backoffDelay(3, b, () => 0.999999)).toBe(6_000);
    expect(backoffDelay(40, b, () => 0.999999)).toBeLessThanOrEqual(7_500);
    expect(withJitter(1_000, 0.1, () => 0)).toBe(900);
    expect(withJitter(1_000, 0.1, () => 0.999999)).toBe(1_100);
  });
});

describe('Deadline: the one cut-off of a stopping pilot', () => {
  it('is not armed until the pilot stops; arming only ever tightens it; it passes once', () => {
    let now = 1_000;
    const d = new Deadline(() => now);
    expect(d.leftMs()).toBe(Infinity);
    expect(d.armed.aborted).toBe(false);
    d.arm(27_000);
    expect(d.armed.aborted).toBe(true);
    expect(d.leftMs()).toBe(27_000);
    d.arm(60_000); // a later stop never extends it
    expect(d.leftMs()).toBe(27_000);
    now += 2_000;
    d.arm(5_000); // a second signal: 5 s from now
    expect(d.leftMs()).toBe(5_000);
    expect(d.signal.aborted).toBe(false);
    d.arm(0);
    vi.advanceTimersByTime(0); // this file's clock is fake
    expect(d.signal.aborted).toBe(true);
    expect(d.leftMs()).toBe(0);
    d.dispose();
  });
});
