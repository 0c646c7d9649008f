/**
 * Real processes for integration tests: the built stub and pilot from dist/,
 * started as a batch system would start them, always stopped afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { collectChild } from './child-run.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const PILOT_BIN = path.join(ROOT, 'dist', 'panda-pilot.mjs');
export const STUB_BIN = path.join(ROOT, 'dist', 'panda-stub.mjs');

export function scratchDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `${prefix}-`));
}

/** Management tokens of the stubs these tests started, by base URL (`panda-stub serve` writes one to its data dir). */
const stubTokens = new Map<string, string>();

/** Reads the management token a stub serving `url` wrote to `dataDir`; stubApi sends it from then on. */
export function useStubToken(url: string, dataDir: string): void {
  const file = path.join(dataDir, 'stub-token');
  if (existsSync(file)) stubTokens.set(url.replace(/\/+$/, ''), readFileSync(file, 'utf8').trim());
}

/** The management token of a stub these tests started at `url` (its base URL). */
export function stubToken(url: string): string | undefined {
  return stubTokens.get(url.replace(/\/+$/, ''));
}

/** The Authorization header for a management call to a stub these tests started. */
export function stubAuthHeaders(url: string): Record<string, string> {
  for (const [base, token] of stubTokens) if (url.startsWith(`${base}/`)) return { Authorization: `Bearer ${token}` };
  return {};
}

/** The variables a pilot takes a token from (ours, pilot3's, Harvester's). */
const TOKEN_VARS = ['PANDA_AUTH_ID_TOKEN', 'OIDC_AUTH_TOKEN_FILE', 'OIDC_AUTH_ID_TOKEN', 'OIDC_AUTH_DIR', 'PANDA_AUTH_DIR'];

/**
 * A pilot's environment against a stub these tests started: with no token of its own it
 * carries the stub's management token, which the stub's storage takes for the log
 * stage-out (as a site's pilot carries a token its storage element accepts).
 */
export function pilotEnv(url: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (TOKEN_VARS.some((v) => env[v])) return env;
  const token = stubToken(url);
  return token ? { ...env, PANDA_AUTH_ID_TOKEN: token } : env;
}

export interface StubProcess {
  url: string;
  proc: ChildProcess;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `panda-stub serve --port 0` and waits for its `listening` line. */
export async function startStubProcess(dataDir: string, extraArgs: string[] = []): Promise<StubProcess> {
  const proc = spawn(process.execPath, [STUB_BIN, 'serve', '--port', '0', '--data', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: under emulation (the cgroup v2 guest) loading the stub alone takes several seconds.
    const timer = setTimeout(() => reject(new Error(`stub did not start in 120 s:\n${err}`)), 120_000);
    createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (http:\/\/\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected first stub line: ${line}`));
    });
    proc.once('exit', (code) => reject(new Error(`stub exited with ${code}:\n${err}`)));
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  useStubToken(url, dataDir);
  return {
    url,
    proc,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** A test pilot's flags as an object, in order: `{ 'getjob-wait': 0, quiet: true }` is `--getjob-wait 0 --quiet` (true: a bare switch, false: left out). */
export type PilotFlags = Readonly<Record<string, string | number | boolean>>;

/** The loop of a short test run: ask again soon after an empty reply, heartbeat every second, log to the file only. */
export const QUICK_PILOT: PilotFlags = { 'getjob-wait': 3, 'getjob-poll': 0.3, heartbeat: 1, quiet: true };

/** A test pilot's command line: its queue, server and home, then `flags`. */
export function pilotCommandLine(queue: string, url: string, workdir: string, flags: PilotFlags = {}): string[] {
  const rest = Object.entries(flags).flatMap(([name, value]) => (value === false ? [] : value === true ? [`--${name}`] : [`--${name}`, String(value)]));
  return ['-q', queue, '--url', url, '-a', workdir, ...rest];
}

export interface PilotRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bundled pilot to completion (bounded by `timeoutMs`). With
 * `cgroupProcsFile` it starts inside that cgroup, as a batch system starts a
 * job's processes inside the job's cgroup (a shell joins it, then execs the pilot).
 */
export function runPilotProcess(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; cgroupProcsFile?: string } = {},
): Promise<PilotRun> & { proc: ChildProcess } {
  const [cmd, argv] = opts.cgroupProcsFile
    ? ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', opts.cgroupProcsFile, process.execPath, PILOT_BIN, ...args]]
    : [process.execPath, [PILOT_BIN, ...args]];
  const url = args[args.indexOf('--url') + 1];
  const proc = spawn(cmd, argv, {
    env: url && args.includes('--url') ? pilotEnv(url, opts.env) : (opts.env ?? process.env),
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = collectChild(proc, opts.timeoutMs ?? 60_000).done.then(({ code, signal, stdout, stderr }): PilotRun => ({
    code,
    signal,
    stdout,
    stderr,
  })) as Promise<PilotRun> & {
    proc: ChildProcess;
  };
  done.proc = proc;
  return done;
}

/** JSON over HTTP to the stub's management API. */
export async function stubApi<T = any>(url: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { ...stubAuthHeaders(url), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** Alive and not a zombie (an orphaned zombie waits for init, which may never reap it in a container). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
