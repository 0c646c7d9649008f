/**
 * Runs one payload command in its own session (so its whole process group
 * can be signalled), with stdout/stderr to files, and reports how it ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { constants as osConstants } from 'node:os';
import { ErrorCode, type PandaErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';
import { forgetPayloadGroup, recordPayloadGroup } from './payload-records.js';
import { prepareSpare, takeSpare, type Spare } from './spare-launchers.js';

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
  /**
   * Directory where the payload's process group (and cgroup) is recorded while
   * it may have members, so a wrapper or the next pilot can kill what is left
   * after this pilot was SIGKILLed (pilot home `payloads/`).
   */
  recordDir?: string | undefined;
}

/** Why a payload could not be started: resource exhaustion is the node's fault, a missing or forbidden path the job's setup. */
export class PayloadStartError extends PilotError {
  constructor(
    readonly errno: string,
    detail: string,
  ) {
    super(startErrorCode(errno), `payload could not be started: ${detail}${START_HINT[errno] ? ` (${START_HINT[errno]})` : ''}`);
  }
}

const START_HINT: Record<string, string> = {
  EAGAIN: 'the node refused another process: process limit reached',
  EMFILE: 'the pilot has too many open files',
  ENFILE: 'the node has too many open files',
  ENOMEM: 'the node has no memory for another process',
  ENOENT: 'a path it needs does not exist',
  EACCES: 'permission denied',
  ENOTDIR: 'its working directory is not a directory',
};

function startErrorCode(errno: string): PandaErrorCode {
  switch (errno) {
    case 'ENOENT':
    case 'EACCES':
    case 'ENOTDIR':
      return ErrorCode.TRANSFORMNOTFOUND;
    default:
      // EAGAIN, EMFILE, ENFILE, ENOMEM and anything else: this node, not the job.
      return ErrorCode.INTERNALPILOTPROBLEM;
  }
}

const errnoOf = (err: unknown): string => (err as NodeJS.ErrnoException | null)?.code ?? 'UNKNOWN';

// The outer shell waits for the payload and prints its children's CPU times on fd 3:
// Node cannot get rusage for a child, and bash's `times` is exact for reaped descendants.
// With a cgroup ($2), it first moves itself in, so the payload is inside before its
// first instruction (race-free: nothing is forked until the write succeeded); when the
// kernel refuses, it says so on fd 3 and runs nothing.
const LAUNCHER = [
  // Its own status, last: a launcher made ahead is the zygote's child, not the pilot's (spare-launchers.ts).
  'trap \'echo "rc $?" >&3 2>/dev/null\' EXIT',
  // The launcher outlives a SIGTERM to the group (a handler, not SIG_IGN, so the payload still gets the
  // default): it reports the payload's own end, and the group is killed only once the payload is done.
  'trap : TERM INT QUIT HUP USR1 USR2',
  'if [ -n "$2" ]; then { echo $$ > "$2"; } 2>/dev/null || { echo "cgroup-join-failed" >&3; exit 125; }; fi',
  // fd 3 is closed for the payload: a daemon it leaves behind must not hold the pipe open.
  '/bin/bash -c "$1" 3>&-; rc=$?; times >&3 2>/dev/null; exit $rc',
].join('\n');

/**
 * A launcher started ahead of its job (by a zygote, see spare-launchers.ts): it says its pid on fd 3,
 * then waits there for the path of its job's launch file (a script setting dir,
 * out, err, cg, cmd and the env list, quoted by `launchScript`), reads and wipes it (it holds the
 * payload's environment), and becomes the LAUNCHER ($1), itself or through env ($2), in the job's dir, environment and output
 * files: exec keeps its pid, session and fd 3, so from there on it is what a direct spawn makes.
 * Its stdin is /dev/null: bash reads ~/.bashrc when stdin is a socket (its rshd rule), and node's
 * pipes are sockets. When the pilot ends, fd 3 ends without a line: it exits.
 */
const SPARE_LAUNCHER = [
  'echo "pid $$" >&3 || exit 0',
  'IFS= read -r f <&3 || exit 0',
  // Its status when it gives up before it became the launcher (which says its own).
  'trap \'echo "rc $?" >&3 2>/dev/null\' EXIT',
  '. "$f" || exit 125',
  ': > "$f"',
  'cd -- "$dir" 2>/dev/null || { echo "launch-failed: cannot enter $dir" >&3; exit 125; }',
  'exec >>"$out" 2>>"$err" || exit 125',
  // Plain names (`bare`, see `launchScript`): the shell sets the environment itself, one exec (~1 ms) less
  // than through env. Arguments first, so a job variable named like one of these cannot change them; then
  // every variable this shell exported (its own PATH, SHLVL, PWD, OLDPWD) goes and only the job's are
  // exported; a setlocale warning is the launcher's to print, once, as in a direct spawn.
  'if [ -n "$bare" ]; then',
  '  set -- "$1" "$cmd" "$cg" "${envs[@]}"',
  '  unset -v f dir out err cg cmd envs bare PATH SHLVL PWD OLDPWD',
  '  export -- "${@:4}" 2>/dev/null || exit 125',
  '  exec /bin/bash -c "$1" panda-payload "$2" "$3"',
  '  exit 125',
  'fi',
  'exec "$2" -i "${envs[@]}" /bin/bash -c "$1" panda-payload "$cmd" "$cg"',
].join('\n');

const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** The launch file a spare launcher sources: its job's dir, output files, cgroup, command and environment. */
function launchScript(opts: PayloadStart): string {
  const entries = Object.entries(opts.env).filter((e): e is [string, string] => e[1] !== undefined);
  const bare = bareEnv(entries);
  const envs = (bare ?? entries).map(([k, v]) => shellQuote(`${k}=${v}`));
  const vars = { dir: opts.cwd, out: opts.stdoutPath, err: opts.stderrPath, cg: opts.cgroupProcsFile ?? '', cmd: opts.command, bare: bare ? '1' : '' };
  return `${Object.entries(vars)
    .map(([k, v]) => `${k}=${shellQuote(v)}`)
    .join('\n')}\nenvs=(${envs.join(' ')})\n`;
}

/**
 * Bash variables that a plain `export NAME=value` would not hand on as given: read-only ones, ones whose
 * value bash computes (RANDOM, SECONDS, …), BASH_* and SHELLOPTS (options, exported functions). A job
 * environment with any of them (or a name that is no shell identifier) goes through env instead.
 */
const BASH_OWN =
  /^(BASH.*|SHELLOPTS|EUID|UID|PPID|GROUPS|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCHREALTIME|EPOCHSECONDS|FUNCNAME|DIRSTACK|COMP_WORDBREAKS|PIPESTATUS|POSIXLY_CORRECT)$/;
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The job's environment as the spare shell exports it before exec'ing the launcher, or null when only
 * env can set it exactly. `_` is left out: bash sets it for every command it runs, so the payload's `_`
 * is the launcher's command either way. SHLVL is one more, as bash's exec lowers it by one (a direct
 * spawn hands it on unchanged); outside 0-998 (bash's own resetting) env is used.
 */
function bareEnv(entries: readonly [string, string][]): [string, string][] | null {
  const out: [string, string][] = [];
  for (const [k, v] of entries) {
    if (k === '_') continue;
    if (!SHELL_NAME.test(k) || BASH_OWN.test(k)) return null;
    if (k === 'SHLVL') {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(v) || Number(v) > 998) return null;
      out.push([k, String(Number(v) + 1)]);
    } else out.push([k, v]);
  }
  return out;
}

/** How long a start waits for a spare still being made before it spawns its launcher itself (a spare is ready ~1-2 ms after it was asked for). */
const SPARE_WAIT_MS = 100;

/** The launch file, in the records dir (made here when no start made it yet). */
function writeLaunchFile(file: string, script: string): void {
  try {
    writeFileSync(file, script, { mode: 0o600 });
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, script, { mode: 0o600 });
  }
}

/** A dir the launcher can enter; anything else goes the direct way, which reports why it cannot start. */
function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

const SIGNAL_BY_NUMBER = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, num]) => [num, name as NodeJS.Signals]));

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

/** How a launcher ended: its status as the pilot could learn it, and what it wrote on fd 3. */
interface LauncherEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: string;
}

/** A directly spawned launcher ends when it exited and its fd 3 closed; node gives the status. */
function childEnd(child: ChildProcess): Promise<LauncherEnd> {
  let report = '';
  child.stdio[3]?.on('data', (chunk: Buffer) => {
    report += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, report })));
}

/**
 * A spare launcher ends when its channel closed. It says its own status last (`rc N`); without
 * that line a signal killed it, and the zygote that reaped it tells which.
 */
async function spareEnd(spare: Spare): Promise<LauncherEnd> {
  const report = await spare.ended;
  const rc = /^rc (\d+)$/m.exec(report);
  if (rc) return { code: Number(rc[1]), signal: null, report };
  const status = await spare.exitStatus();
  if (status === null) return { code: null, signal: null, report };
  const signal = signalFromStatus(status);
  return signal ? { code: null, signal, report } : { code: status, signal: null, report };
}

export class PayloadProcess {
  readonly pid: number;
  readonly done: Promise<PayloadExit>;
  private exited = false;

  private constructor(
    launcherEnd: Promise<LauncherEnd>,
    pid: number,
    startedAt: Date,
    private readonly recordFile: string | null,
    launchFile: string | null = null,
  ) {
    this.pid = pid;
    this.done = launcherEnd.then(({ code, signal, report }) => {
      this.exited = true;
      // No orphans: whatever the payload left running in its group (`sleep 1000 &`)
      // dies with it. The group id cannot be reused while any member lives.
      this.signalGroup('SIGKILL');
      if (this.recordFile) forgetPayloadGroup(this.recordFile);
      if (launchFile) rmSync(launchFile, { force: true });
      const cpu = parseBashTimes(report);
      const joinFailed = report.includes('cgroup-join-failed');
      const launchFailed = /launch-failed: (.*)/.exec(report)?.[1];
      return {
        ...(joinFailed ? { launchError: 'the payload launcher could not join its memory cgroup' } : {}),
        ...(launchFailed ? { launchError: `the payload launcher failed: ${launchFailed}` } : {}),
        exitCode: code,
        signal: signal ?? signalFromStatus(code),
        cpuUserSec: cpu?.user ?? null,
        cpuSysSec: cpu?.sys ?? null,
        startedAt,
        endedAt: new Date(),
      };
    });
  }

  /**
   * Starts the payload. Rejects with a PayloadStartError when the launcher
   * cannot be started at all (EAGAIN, EMFILE, ENOENT, EACCES, …): that fails
   * one job, never the pilot.
   */
  static async start(opts: PayloadStart): Promise<PayloadProcess> {
    const recordDir = opts.recordDir;
    const spare = recordDir && isDirectory(opts.cwd) ? await takeSpare(SPARE_WAIT_MS) : null;
    const started = (spare && recordDir && PayloadProcess.fromSpare(spare, opts, recordDir)) || (await PayloadProcess.spawnLauncher(opts));
    // The next start's launcher, made while this payload runs (after the caller's own start-up work).
    setImmediate(prepareSpare, SPARE_LAUNCHER, LAUNCHER);
    return started;
  }

  /** The payload in a spare launcher, or null when it cannot be used (then it is spawned). */
  private static fromSpare(spare: Spare, opts: PayloadStart, recordDir: string): PayloadProcess | null {
    const pid = spare.pid;
    try {
      // The output files are made (or refused) here, as for a direct spawn.
      closeSync(openSync(opts.stdoutPath, 'a'));
      closeSync(openSync(opts.stderrPath, 'a'));
    } catch (e) {
      spare.discard();
      throw new PayloadStartError(errnoOf(e), (e as Error).message);
    }
    const launchFile = path.join(recordDir, `${pid}.launch`);
    try {
      writeLaunchFile(launchFile, launchScript(opts));
    } catch {
      spare.discard();
      return null;
    }
    // A payload keeps the pilot alive, as a spawned child does.
    spare.channel.ref();
    const recordFile = recordPayloadGroup(recordDir, {
      pgid: pid,
      cgroupProcsFile: opts.cgroupProcsFile ?? null,
      jobDir: opts.env.PILOT_JOB_DIR ?? opts.cwd,
    });
    const payload = new PayloadProcess(spareEnd(spare), pid, new Date(), recordFile, launchFile);
    spare.channel.write(`${launchFile}\n`);
    return payload;
  }

  private static async spawnLauncher(opts: PayloadStart): Promise<PayloadProcess> {
    let out: number | undefined;
    let err: number | undefined;
    let child: ChildProcess;
    try {
      out = openSync(opts.stdoutPath, 'a');
      err = openSync(opts.stderrPath, 'a');
      child = spawn('/bin/bash', ['-c', LAUNCHER, 'panda-payload', opts.command, opts.cgroupProcsFile ?? ''], {
        cwd: opts.cwd,
        env: opts.env,
        detached: true, // setsid: the payload leads its own process group
        stdio: ['ignore', out, err, 'pipe'],
      });
    } catch (e) {
      throw new PayloadStartError(errnoOf(e), (e as Error).message);
    } finally {
      if (out !== undefined) closeSync(out);
      if (err !== undefined) closeSync(err);
    }
    // spawn reports most failures asynchronously, as an 'error' event, and then the child has no pid;
    // with a pid the launcher is running (libuv returns only once it was exec'd): no tick is spent
    // waiting for the 'spawn' event, which the slot's idle time would include.
    const pid = child.pid;
    if (pid === undefined) {
      const e = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new PayloadStartError(errnoOf(e), `${e.message}${errnoOf(e) === 'ENOENT' ? ` (cwd ${opts.cwd})` : ''}`);
    }
    // Later errors (a failed kill) must not crash the pilot; the exit comes through 'close'.
    child.on('error', () => undefined);
    const recordFile = opts.recordDir
      ? recordPayloadGroup(opts.recordDir, { pgid: pid, cgroupProcsFile: opts.cgroupProcsFile ?? null, jobDir: opts.env.PILOT_JOB_DIR ?? opts.cwd })
      : null;
    return new PayloadProcess(childEnd(child), pid, new Date(), recordFile);
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
