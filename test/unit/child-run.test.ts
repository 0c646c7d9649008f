/** The tests' way of running a child to its end: every byte it printed, and no hang on a pipe a descendant holds. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { collectChild } from '../support/child-run.js';

describe('collectChild', () => {
  it('keeps every byte a child wrote before it exited, on both pipes', async () => {
    // 4 MB each way: far more than a pipe holds, so the last of it is still unread when the child exits.
    const script = `const b = 'x'.repeat(1 << 20); for (let i = 0; i < 4; i++) { process.stdout.write(b); process.stderr.write(b); } process.stderr.write('END');`;
    for (let i = 0; i < 2; i++) {
      const run = await collectChild(spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }), 60_000).done;
      expect(run.code).toBe(0);
      expect(run.stdout.length).toBe(4 << 20);
      expect(run.stderr.length).toBe((4 << 20) + 3);
      expect(run.stderr.endsWith('END')).toBe(true);
      expect(run.output.length).toBe((8 << 20) + 3);
    }
  });

  it('keeps what is written to its pipes after the child exited, until they close', async () => {
    // The shell exits at once; what it left behind writes half a second later, then closes the pipe.
    // Settling at 'exit' (as these tests once did) misses "late" every time.
    const run = await collectChild(
      spawn('/bin/sh', ['-c', '(sleep 0.5; echo late; echo late-err >&2) & echo early'], { stdio: ['ignore', 'pipe', 'pipe'] }),
      60_000,
    ).done;
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('early\nlate\n');
    expect(run.stderr).toBe('late-err\n');
  });

  it('settles after the child exits even while a process it left behind holds its pipe', async () => {
    const proc = spawn('/bin/sh', ['-c', 'sleep 60 & echo "left $!"'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run = await collectChild(proc, 60_000).done;
    const left = Number(/left (\d+)/.exec(run.stdout)?.[1]);
    try {
      expect(run.code).toBe(0);
      expect(left).toBeGreaterThan(0);
      // It settled while the sleep still runs (AFTER_EXIT_MS after the exit), not when the sleep ended.
      expect(() => process.kill(left, 0)).not.toThrow();
    } finally {
      if (left > 0) process.kill(left, 'SIGKILL');
    }
  });
});
