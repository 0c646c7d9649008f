/**
 * Payload launchers made ahead of their jobs by a small bash, the zygote,
 * rather than by the pilot. Spawning from the pilot forks tens of MB of page
 * tables and waits for the child's exec to tear them down again: ~2.6 ms of
 * the event loop a job (bench/dispatch), plus copy-on-write faults after it.
 * A zygote's fork copies a few MB and happens in another process.
 *
 * A zygote is spawned once per CHANNELS spares with that many socket pairs
 * (its fds 4…; its requests come on fd 3). Each spare gets one as its fd 3, the channel a directly
 * spawned launcher has, and the zygote closes its own copy: the pilot sees EOF
 * exactly when the launcher (and so the spare it became) is gone. The zygote
 * is the launchers' parent and reaps them; when a launcher ended without
 * saying its status (killed by a signal), the zygote tells it (`wait`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

/** Spares a zygote can make: one fork of the pilot per CHANNELS jobs. */
const CHANNELS = 32;
/** The zygote's fd for requests, and its first channel. */
const REQUESTS = 3;
const FIRST_CHANNEL = 4;

/**
 * The zygote. $1 the spare's script, $2 and $3 its arguments, $4 setsid, $5 the last channel fd.
 * Requests come on fd 3, not stdin: bash reads ~/.bashrc when its stdin is a socket (node's pipes are).
 * `s K`: fork a spare on channel K. It closes the channels of later spares (earlier ones the zygote
 * closed already), makes K its fd 3 in place of the requests, and execs setsid → bash: its own session and group,
 * same pid (a zygote's child leads no group, so setsid(1) does not fork). The zygote closes K.
 * `w PID`: the exit status of a child that ended, as `x PID STATUS`.
 * When the pilot ends, fd 3 ends: it exits, leaving running launchers to the kernel's reaper.
 */
const ZYGOTE = [
  'while IFS= read -r req <&3; do',
  '  case $req in',
  '  "s "[0-9]*)',
  '    k=${req#s }',
  '    (',
  '      j=$((k + 1))',
  '      while [ "$j" -le "$5" ]; do exec {j}>&-; j=$((j + 1)); done',
  '      exec 3>&"$k" {k}>&-',
  '      exec "$4" /bin/bash -c "$1" panda-payload "$2" "$3" </dev/null >/dev/null 2>&1',
  '    ) &',
  '    exec {k}>&-',
  '    ;;',
  '  "w "[0-9]*)',
  '    p=${req#w }',
  '    wait "$p" 2>/dev/null',
  '    echo "x $p $?"',
  '    ;;',
  '  esac',
  'done',
].join('\n');

/** A launcher made ahead: its pid (leader of its own session and group), its channel, and how it ends. */
export interface Spare {
  readonly pid: number;
  /** fd 3 of the launcher: the launch file's path goes in, its report comes out. */
  readonly channel: Socket;
  /** Everything the launcher wrote on its channel, once the channel closed (the launcher is gone). */
  readonly ended: Promise<string>;
  /** Its exit status from the zygote that reaped it (null: the zygote is gone). Ask only once `ended`. */
  exitStatus(): Promise<number | null>;
  /** Lets it go unused: its channel ends, it exits. */
  discard(): void;
}

class Zygote {
  private nextFd = FIRST_CHANNEL;
  private live = 0;
  private dead = false;
  private readonly statusWaiters = new Map<number, ((status: number | null) => void)[]>();

  private readonly requests: Socket | null;

  constructor(private readonly child: ChildProcess) {
    this.requests = (child.stdio[REQUESTS] as Socket | null | undefined) ?? null;
    child.on('error', () => undefined);
    this.requests?.on('error', () => undefined);
    // Replies to `w`: one line each.
    if (child.stdout) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^x (\d+) (\d+)$/.exec(line);
        if (m) this.answer(Number(m[1]), Number(m[2]));
      });
    }
    child.once('exit', () => {
      this.dead = true;
      for (const pid of [...this.statusWaiters.keys()]) this.answer(pid, null);
    });
    child.unref();
    for (const s of child.stdio) (s as Socket | null)?.unref?.();
  }

  get usable(): boolean {
    return !this.dead && this.nextFd < FIRST_CHANNEL + CHANNELS && this.requests?.writable === true;
  }

  /** Asks for a spare on the next channel; resolves with it once it said its pid, or null when it could not start. */
  make(): Promise<Spare | null> {
    const fd = this.nextFd++;
    const channel = this.child.stdio[fd] as Socket | null | undefined;
    if (!channel) return Promise.resolve(null);
    this.live += 1;
    channel.on('error', () => undefined);
    let text = '';
    let pid = 0;
    let announced!: (spare: Spare | null) => void;
    const ready = new Promise<Spare | null>((r) => (announced = r));
    const ended = new Promise<string>((resolve) => {
      channel.once('close', () => {
        this.live -= 1;
        this.endIfDone();
        announced(null); // no-op once announced
        resolve(text);
      });
    });
    channel.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pid) return;
      // Its first line is its pid (`$$` after setsid and exec: the pid its group is known by).
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      const m = /^pid (\d+)$/.exec(text.slice(0, nl));
      text = text.slice(nl + 1);
      if (!m) {
        channel.destroy();
        return;
      }
      pid = Number(m[1]);
      announced({
        pid,
        channel,
        ended,
        exitStatus: () => this.statusOf(pid),
        discard: () => channel.destroy(),
      });
    });
    this.requests?.write(`s ${fd}\n`);
    if (!this.usable) this.endIfDone();
    return ready;
  }

  private statusOf(pid: number): Promise<number | null> {
    if (this.dead || !this.requests?.writable) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiting = this.statusWaiters.get(pid) ?? [];
      waiting.push(resolve);
      this.statusWaiters.set(pid, waiting);
      this.live += 1;
      this.requests?.write(`w ${pid}\n`);
    });
  }

  private answer(pid: number, status: number | null): void {
    const waiting = this.statusWaiters.get(pid);
    if (!waiting) return;
    this.statusWaiters.delete(pid);
    this.live -= waiting.length;
    for (const r of waiting) r(status);
    this.endIfDone();
  }

  /** A used-up zygote whose launchers all ended has nothing left to reap or tell: its stdin ends, it exits. */
  private endIfDone(): void {
    if (this.nextFd >= FIRST_CHANNEL + CHANNELS && this.live === 0) this.requests?.end();
  }
}

/** Absolute paths of what a zygote runs; null when this node lacks one (then launchers are spawned directly). */
let tools: { env: string; setsid: string } | null | undefined;
let zygote: Zygote | null = null;
/** The spare being made or made, not yet taken. */
let next: Promise<Spare | null> | null = null;

function newZygote(spareScript: string, launcher: string): Zygote | null {
  tools ??= (() => {
    const env = ['/usr/bin/env', '/bin/env'].find((f) => existsSync(f));
    const setsid = ['/usr/bin/setsid', '/bin/setsid'].find((f) => existsSync(f));
    return env && setsid ? { env, setsid } : null;
  })();
  if (!tools) return null;
  try {
    const child = spawn('/bin/bash', ['-c', ZYGOTE, 'panda-zygote', spareScript, launcher, tools.env, tools.setsid, String(FIRST_CHANNEL + CHANNELS - 1)], {
      cwd: '/',
      // Nothing of the pilot's environment: a launch file brings its job's.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore', 'pipe', ...Array.from({ length: CHANNELS }, () => 'pipe' as const)],
    });
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      return null;
    }
    return new Zygote(child);
  } catch {
    return null; // EMFILE, EAGAIN…: launchers are spawned directly until a later try works
  }
}

/** Has the next spare made, unless one is being made or waits already. */
export function prepareSpare(spareScript: string, launcher: string): void {
  if (next) return;
  if (!zygote?.usable) zygote = newZygote(spareScript, launcher);
  if (!zygote) return;
  const made = zygote.make();
  next = made;
  // One that died unused is replaced at the next prepare.
  void made.then((spare) => {
    if (!spare) {
      if (next === made) next = null;
      return;
    }
    void spare.ended.then(() => {
      if (next === made) next = null;
    });
  });
}

/** The spare, when one is ready or becomes ready within `waitMs`; null otherwise (then spawn directly). */
export async function takeSpare(waitMs: number): Promise<Spare | null> {
  const made = next;
  if (!made) return null;
  let timer: NodeJS.Timeout | undefined;
  const spare = await Promise.race([made, new Promise<null>((r) => (timer = setTimeout(r, waitMs, null)))]);
  clearTimeout(timer);
  if (!spare || next !== made) return null;
  next = null;
  return spare;
}

/** Resolves once the spare being made is ready (true) or could not be made (false); for tests, which must know which way a start goes. */
export async function spareReady(): Promise<boolean> {
  return (await next) !== null;
}
