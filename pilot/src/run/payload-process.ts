/**
 * Runs one payload command in its own session (so its whole process group
 * can be signalled), with stdout/stderr to files, and reports how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

export interface PayloadExit {
  /** Exit status as the shell saw it (128+N when the payload died by signal N); null if the launcher itself was signalled. */
  exitCode: number | null;
  /** Signal that ended the payload, from either the launcher's own death or a 128+N status. */
  signal: NodeJS.Signals | null;
  /** CPU seconds of the payload and its waited-for descendants, when the launcher could report them. */
  cpuUserSec: number | null;
  cpuSysSec: number | null;
  startedAt: Date;
  endedAt: Date;
  /** Set when the launcher could not join the payload's cgroup and ran nothing. */
  launchError?: string;
}

export interface PayloadStart {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdoutPath: string;
  stderrPath: string;
  /** cgroup.procs of the payload's own cgroup: the launcher joins it before running the payload. */
  cgroupProcsFile?: string | undefined;
}

// The outer shell waits for the payload and prints its children's CPU times on fd 3:
// Node cannot get rusage for a child, and bash's `times` is exact for reaped descendants.
// With a cgroup ($2), it first moves itself in, so the payload is inside before its
// first instruction (race-free: nothing is forked until the write succeeded); when the
// kernel refuses, it says so on fd 3 and runs nothing.
const LAUNCHER = [
  'if [ -n "$2" ]; then { echo $$ > "$2"; } 2>/dev/null || { echo "cgroup-join-failed" >&3; exit 125; }; fi',
  // fd 3 is closed for the payload: a daemon it leaves behind must not hold the pipe open.
  '/bin/bash -c "$1" 3>&-; rc=$?; times >&3 2>/dev/null; exit $rc',
].join('\n');

const SIGNAL_BY_NUMBER = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, num]) => [num, name as NodeJS.Signals]),
);

/** 137 → SIGKILL, 143 → SIGTERM; anything else is a plain exit status. */
export function signalFromStatus(status: number | null): NodeJS.Signals | null {
  if (status === null || status <= 128 || status > 128 + 64) return null;
  return SIGNAL_BY_NUMBER.get(status - 128) ?? null;
}

/** Parses bash `times` output; the second line is the children's user and system time. */
export function parseBashTimes(text: string): { user: number; sys: number } | null {
  const lines = text.trim().split('\n');
  const m = lines[1]?.match(/^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  if (!m) return null;
  return { user: Number(m[1]) * 60 + Number(m[2]), sys: Number(m[3]) * 60 + Number(m[4]) };
}

export class PayloadProcess {
  readonly pid: number;
  readonly done: Promise<PayloadExit>;
  private exited = false;

  private constructor(private readonly child: ChildProcess, startedAt: Date) {
    if (child.pid === undefined) throw new Error('payload did not start');
    this.pid = child.pid;
    let times = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      times += chunk.toString();
    });
    this.done = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exited = true;
        const cpu = parseBashTimes(times);
        const joinFailed = times.includes('cgroup-join-failed');
        resolve({
          ...(joinFailed ? { launchError: 'the payload launcher could not join its memory cgroup' } : {}),
          exitCode: code,
          signal: signal ?? signalFromStatus(code),
          cpuUserSec: cpu?.user ?? null,
          cpuSysSec: cpu?.sys ?? null,
          startedAt,
          endedAt: new Date(),
        });
      });
    });
  }

  /** Starts the payload; throws when the shell cannot be started at all. */
  static start(opts: PayloadStart): PayloadProcess {
    const out = openSync(opts.stdoutPath, 'a');
    const err = openSync(opts.stderrPath, 'a');
    try {
      const child = spawn('/bin/bash', ['-c', LAUNCHER, 'panda-payload', opts.command, opts.cgroupProcsFile ?? ''], {
        cwd: opts.cwd,
        env: opts.env,
        detached: true, // setsid: the payload leads its own process group
        stdio: ['ignore', out, err, 'pipe'],
      });
      const startedAt = new Date();
      const started = new PayloadProcess(child, startedAt);
      child.once('error', () => undefined); // reported through 'close'
      return started;
    } finally {
      closeSync(out);
      closeSync(err);
    }
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Sends a signal to the payload's whole process group; false when nothing was there to signal. */
  signalGroup(signal: NodeJS.Signals): boolean {
    try {
      process.kill(-this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the whole process group: SIGTERM, then SIGKILL after `graceMs`.
   * Idempotent; resolves when the launcher has exited.
   */
  async stop(graceMs: number): Promise<PayloadExit> {
    if (this.exited) return this.done;
    this.signalGroup('SIGCONT');
    this.signalGroup('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const escalate = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signalGroup('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.done, escalate]);
    clearTimeout(timer);
    const result = await this.done;
    // Stragglers that left the launcher behind still belong to the group.
    this.signalGroup('SIGKILL');
    return result;
  }
}
