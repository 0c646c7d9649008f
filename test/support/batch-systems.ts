/**
 * Real batch systems for the batch tests: a one-node Slurm (slurm-local.sh)
 * and an ARC-CE in front of it (arc-local.sh), started when a test file
 * begins and stopped by PID when it ends, unless they were already running.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './processes.js';

const run = promisify(execFile);
const SLURM_SCRIPT = path.join(ROOT, 'test', 'support', 'slurm-local.sh');
const ARC_SCRIPT = path.join(ROOT, 'test', 'support', 'arc-local.sh');

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, cmd)));
}

/** Why Slurm cannot run here, or null when it can. */
export function slurmUnavailable(): string | null {
  if (process.platform !== 'linux') return 'Slurm tests need Linux';
  if (process.getuid?.() !== 0) return 'Slurm tests need root (they start slurmctld/slurmd)';
  for (const cmd of ['sbatch', 'scancel', 'scontrol', 'munged'])
    if (!onPath(cmd) && !existsSync(`/usr/sbin/${cmd}`))
      return `${cmd} is not installed (apt-get install slurm-wlm slurmctld slurmd slurm-client munge, as .ci/run does)`;
  if (!existsSync('/usr/sbin/slurmctld') || !existsSync('/usr/sbin/slurmd')) return 'slurmctld/slurmd are not installed';
  return null;
}

/** Why ARC-CE cannot run here, or null when it can. */
export function arcUnavailable(): string | null {
  const slurm = slurmUnavailable();
  if (slurm) return slurm;
  if (!onPath('arcsub') || !existsSync('/usr/share/arc/arc-arex-start')) return 'ARC-CE is not installed (nordugrid-arc-* packages, as .ci/run installs)';
  return null;
}

/**
 * Skip reason for a batch test group, printed; in CI (CI=true) a missing
 * batch system is an error instead, because .ci/run must provide it.
 */
export function batchSkipReason(reason: string | null, what: string): boolean {
  if (reason === null) return false;
  if (process.env.CI === 'true') throw new Error(`${what} must run in CI but cannot: ${reason}`);
  console.warn(`skipping ${what}: ${reason}`);
  return true;
}

export interface Daemons {
  /** Stops the daemons if this process started them. */
  stop: () => Promise<void>;
}

async function script(file: string, args: string[], timeoutMs: number): Promise<string> {
  const { stdout } = await run('bash', [file, ...args], { timeout: timeoutMs, maxBuffer: 4 << 20 });
  return stdout;
}

async function isRunning(file: string): Promise<boolean> {
  return script(file, ['running'], 10_000).then(
    () => true,
    () => false,
  );
}

/**
 * The machine has one local Slurm (and one A-REX in front of it): two test runs side by side
 * (two clones, or `npm test` twice) would stop each other's daemons. A run holds this lock
 * from startSlurm() until its stop(); another waits for it, or takes it over when its owner died.
 */
const BATCH_LOCK = path.join(tmpdir(), 'panda-node-pilot-batch.lock');
/** How long a run waits for another run's batch tests (all of them take a few minutes). */
export const BATCH_LOCK_WAIT_MS = 20 * 60_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function lockBatchSystems(): Promise<() => void> {
  const deadline = Date.now() + BATCH_LOCK_WAIT_MS;
  const pidFile = path.join(BATCH_LOCK, 'pid');
  for (;;) {
    try {
      mkdirSync(BATCH_LOCK);
      writeFileSync(pidFile, String(process.pid));
      return () => rmSync(BATCH_LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(pidFile, 'utf8'));
    } catch {
      // just made, pid not written yet — or left empty by an owner that died at once
    }
    const young = (() => {
      try {
        return Date.now() - statSync(BATCH_LOCK).mtimeMs < 10_000;
      } catch {
        return false;
      }
    })();
    if (Number.isInteger(owner) ? !pidAlive(owner) : !young) {
      rmSync(BATCH_LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the local Slurm/ARC is still used by another test run (pid ${owner}) after ${BATCH_LOCK_WAIT_MS / 60_000} min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Starts (configuring if needed) the local Slurm; stop() stops it only if it was not running before. */
export async function startSlurm(): Promise<Daemons> {
  const release = await lockBatchSystems();
  try {
    const wasRunning = await isRunning(SLURM_SCRIPT);
    await script(SLURM_SCRIPT, ['start'], 180_000);
    return {
      stop: async () => {
        try {
          if (!wasRunning) await script(SLURM_SCRIPT, ['stop'], 60_000);
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

export interface ArcCe extends Daemons {
  endpoint: string;
  /** Environment for arc* client commands (proxy, CA dir). */
  env: NodeJS.ProcessEnv;
}

/** Starts A-REX (Slurm backend) with a user proxy in `dir`; needs startSlurm() first. */
export async function startArc(dir: string): Promise<ArcCe> {
  const wasRunning = await isRunning(ARC_SCRIPT);
  const out = await script(ARC_SCRIPT, ['start', dir], 300_000);
  const vars = Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([A-Z0-9_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  if (!vars.ARC_ENDPOINT) throw new Error(`arc-local.sh printed no endpoint:\n${out}`);
  return {
    endpoint: vars.ARC_ENDPOINT,
    env: { ...process.env, X509_USER_PROXY: vars.X509_USER_PROXY, X509_CERT_DIR: vars.X509_CERT_DIR },
    stop: async () => void (wasRunning || (await script(ARC_SCRIPT, ['stop'], 60_000))),
  };
}

/** Runs a command and returns its stdout; throws with stderr on failure. */
export async function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 4 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** `sbatch --parsable …` → the Slurm job id. */
export async function sbatch(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd: string }): Promise<string> {
  const out = await sh('sbatch', ['--parsable', ...args], opts);
  const id = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${out}`);
  return id;
}

export interface SlurmJobInfo {
  state: string;
  exitCode: string;
  fields: Record<string, string>;
}

/** `scontrol show job` (there is no slurmdbd, so no sacct). */
export async function slurmJob(id: string): Promise<SlurmJobInfo> {
  const out = await sh('scontrol', ['show', 'job', '-o', id]);
  const fields = Object.fromEntries(
    out
      .trim()
      .split(/\s+/)
      .map((kv) => kv.split('='))
      .filter((p) => p.length >= 2)
      .map(([k, ...v]) => [k!, v.join('=')]),
  );
  return { state: fields.JobState ?? 'UNKNOWN', exitCode: fields.ExitCode ?? '', fields };
}

const SLURM_DONE = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'OUT_OF_MEMORY', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']);

/** Polls until the Slurm job reached a final state; returns it and when it was seen. */
export async function waitSlurmJob(id: string, timeoutMs: number, pollMs = 200): Promise<SlurmJobInfo & { seenAt: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await slurmJob(id);
    if (SLURM_DONE.has(info.state)) return { ...info, seenAt: Date.now() };
    if (Date.now() > deadline) throw new Error(`Slurm job ${id} still ${info.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Slurm's KillWait (seconds between SIGTERM and SIGKILL on scancel). */
export async function slurmKillWaitSec(): Promise<number> {
  const out = await sh('scontrol', ['show', 'config']);
  const m = /^KillWait\s*=\s*(\d+)/m.exec(out);
  if (!m) throw new Error('KillWait not in scontrol show config');
  return Number(m[1]);
}

/** Polls `check` until it returns a value (not undefined), bounded by `timeoutMs`. */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
