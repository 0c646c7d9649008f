/**
 * The one way these tests run a child to its end and keep what it printed.
 *
 * A child's 'exit' can come before the last of its output has been read from the pipes: under
 * load, a pilot's last stderr lines (its `job_end`) arrived after 'exit', and a test that read
 * the output at 'exit' missed them. A run settles on 'close', once both pipes are drained, and
 * at the latest AFTER_EXIT_MS after 'exit' when something the child left behind still holds a
 * pipe open (the output read so far is then what there is).
 */
import type { ChildProcess } from 'node:child_process';

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they arrived, interleaved. */
  output: string;
}

export interface CollectedChild {
  done: Promise<ChildRun>;
  stdout(): string;
  stderr(): string;
  output(): string;
}

/** How long after 'exit' a run waits for pipes a descendant may still hold. */
export const AFTER_EXIT_MS = 5_000;

/** Collects `proc`'s stdout and stderr (spawned with pipes) until it ends; SIGKILLs it after `timeoutMs`. */
export function collectChild(proc: ChildProcess, timeoutMs: number): CollectedChild {
  let stdout = '';
  let stderr = '';
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => {
    stdout += d;
    output += d;
  });
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d;
    output += d;
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const done = new Promise<ChildRun>((resolve) => {
    let lingering: NodeJS.Timeout | undefined;
    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(killer);
      clearTimeout(lingering);
      resolve({ code, signal, stdout, stderr, output });
    };
    proc.once('close', settle);
    proc.once('exit', (code, signal) => {
      lingering = setTimeout(() => {
        proc.stdout?.destroy();
        proc.stderr?.destroy();
        settle(code, signal);
      }, AFTER_EXIT_MS);
    });
  });
  return { done, stdout: () => stdout, stderr: () => stderr, output: () => output };
}
