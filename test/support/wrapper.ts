/**
 * Runs wrapper/runpilot.sh as a batch system would: a real bash process that
 * starts the bundled pilot; tests may signal it while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pilotEnv, ROOT, scratchDir, stubApi } from './processes.js';
import { collectChild } from './child-run.js';

export const WRAPPER = path.join(ROOT, 'wrapper', 'runpilot.sh');

export interface WrapperRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, as a batch log has them. */
  output: string;
}

export type RunningWrapper = Promise<WrapperRun> & { proc: ChildProcess; output: () => string };

/**
 * Starts the wrapper (in a scratch dir unless `cwd` is given, since the work
 * dir goes under the current dir when TMPDIR is unset); the promise settles
 * when it exits (SIGKILLed after `timeoutMs`). An `env` value of undefined unsets it.
 */
export function runWrapper(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): RunningWrapper {
  const env = { ...process.env, ...opts.env };
  const url = args.includes('--url') ? args[args.indexOf('--url') + 1] : undefined;
  const proc = spawn('bash', [WRAPPER, ...args], {
    // As runPilotProcess: a pilot against a stub these tests started carries its token (log uploads need it).
    env: url ? pilotEnv(url, env) : env,
    cwd: opts.cwd ?? scratchDir('wrapper-cwd'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const child = collectChild(proc, opts.timeoutMs ?? 60_000);
  const done = child.done.then(({ code, signal, output }): WrapperRun => ({ code, signal, output })) as RunningWrapper;
  done.proc = proc;
  done.output = child.output;
  return done;
}

/** Resolves once `text` appears in the wrapper's output (or rejects after `timeoutMs`). */
export async function waitForOutput(run: RunningWrapper, text: string | RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = () => (typeof text === 'string' ? run.output().includes(text) : text.test(run.output()));
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`wrapper never printed ${String(text)}:\n${run.output()}`);
    if (run.proc.exitCode !== null) throw new Error(`wrapper exited (${run.proc.exitCode}) before printing ${String(text)}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A one-task file for the stub: `commands` become one job each. */
export function taskFile(site: string, commands: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `t_${site}`,
    site,
    maxAttempts: 1,
    memoryMB: 100,
    jobs: commands.map((command, i) => ({ name: `j${i}`, command })),
    ...extra,
  };
}

/** Submits a task and returns its PandaIDs. */
export async function submitJobs(url: string, file: Record<string, unknown>): Promise<number[]> {
  const reply = await stubApi(`${url}/stub/tasks`, 'POST', file);
  return reply.tasks[0].pandaIds as number[];
}

/** A job as the stub's management API shows it (job, history, updates). */
export async function stubJob(url: string, pandaId: number): Promise<any> {
  return stubApi(`${url}/stub/jobs/${pandaId}`);
}

/** The final (finished/failed) update a job received, if any. */
export function finalUpdate(details: any): any | undefined {
  return details.updates.find((u: any) => ['finished', 'failed'].includes(String(u.params.state ?? u.params.job_status)));
}

/** pilotErrorCode of an update, whichever dialect carried it. */
export function errorCodeOf(update: any): number | undefined {
  const v = update?.params.pilotErrorCode ?? update?.params.pilot_error_code;
  return v === undefined ? undefined : Number(v);
}
