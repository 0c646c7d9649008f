import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  killLeftoverPayloads,
  parseBashTimes,
  PAYLOAD_RECORDS_DIR,
  PayloadProcess,
  PayloadStartError,
  pilotHomeAlive,
  signalFromStatus,
  spareReady,
} from '../../pilot/src/run/index.js';
import { startPayload } from '../support/payloads.js';
import { processAlive as alive } from '../support/processes.js';
import { sessionProcesses } from '../../pilot/src/monitor/index.js';

const start = (command: string) => startPayload(command);

describe('PayloadProcess', () => {
  it('reports the exit status, writes stdout/stderr to files and measures CPU', async () => {
    const { p, dir } = await start('echo out; echo err >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 7');
    const exit = await p.done;
    expect(exit.exitCode).toBe(7);
    expect(exit.signal).toBeNull();
    expect(readFileSync(path.join(dir, 'payload.stdout'), 'utf8')).toBe('out\n');
    expect(readFileSync(path.join(dir, 'payload.stderr'), 'utf8')).toBe('err\n');
    expect(exit.cpuUserSec).not.toBeNull();
    expect((exit.cpuUserSec ?? 0) + (exit.cpuSysSec ?? 0)).toBeGreaterThan(0);
  });

  it('sees a payload killed by a signal as that signal', async () => {
    const { p } = await start('kill -KILL $$');
    const exit = await p.done;
    expect(exit.exitCode).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
  });

  it('stops the whole process group, grandchildren included, escalating to SIGKILL', async () => {
    // Written under another name and renamed, so the test never reads a half-written pid.
    const { p, dir } = await start(`trap '' TERM; (trap '' TERM; sleep 300) & echo $! > child.tmp && mv child.tmp child.pid; sleep 300`);
    for (let i = 0; i < 500 && !existsSync(path.join(dir, 'child.pid')); i++) await new Promise((r) => setTimeout(r, 20));
    const grandchild = Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    expect(alive(grandchild)).toBe(true);
    expect(sessionProcesses(p.pid).map((s) => s.pid)).toContain(grandchild);
    const t0 = Date.now();
    await p.stop(300);
    expect(Date.now() - t0).toBeLessThan(5_000);
    for (let i = 0; i < 500 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(grandchild)).toBe(false);
  });

  it('parses bash times and shell statuses', () => {
    expect(parseBashTimes('0m0.001s 0m0.002s\n1m2.500s 0m0.250s\n')).toEqual({ user: 62.5, sys: 0.25 });
    expect(parseBashTimes('garbage')).toBeNull();
    expect(signalFromStatus(143)).toBe('SIGTERM');
    expect(signalFromStatus(1)).toBeNull();
  });
});

describe('PayloadProcess start failures and leftovers', () => {
  const waitFor = async (cond: () => boolean, ms = 10_000) => {
    for (let t = 0; t < ms && !cond(); t += 20) await new Promise((r) => setTimeout(r, 20));
  };

  it('a launcher that cannot start rejects with a PayloadStartError (ENOENT, ENOTDIR), and nothing crashes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'payload-fail-'));
    const base = { command: 'true', env: { PATH: '/usr/bin:/bin' }, stdoutPath: path.join(dir, 'o'), stderrPath: path.join(dir, 'e') };
    const missing = await PayloadProcess.start({ ...base, cwd: path.join(dir, 'gone') }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PayloadStartError);
    expect((missing as PayloadStartError).errno).toBe('ENOENT');
    expect((missing as PayloadStartError).code).toBe(1346);
    expect((missing as PayloadStartError).diagnostic).toMatch(/payload could not be started: .*ENOENT/);
    writeFileSync(path.join(dir, 'file'), '');
    const notDir = await PayloadProcess.start({ ...base, cwd: path.join(dir, 'file') }).catch((e: unknown) => e);
    expect(notDir).toBeInstanceOf(PayloadStartError);
    // stdout that cannot be opened is a start failure too, not a throw from deep inside
    const noOut = await PayloadProcess.start({ ...base, cwd: dir, stdoutPath: path.join(dir, 'gone', 'o') }).catch((e: unknown) => e);
    expect(noOut).toBeInstanceOf(PayloadStartError);
    expect((noOut as PayloadStartError).errno).toBe('ENOENT');
  });

  it('kills what the payload left in its process group once the launcher exits (sleep 1000 &)', async () => {
    const { p, dir } = await start('sleep 1000 & echo $! > bg.tmp && mv bg.tmp bg.pid; exit 0');
    const exit = await p.done;
    expect(exit.exitCode).toBe(0);
    const bg = Number(readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
    expect(bg).toBeGreaterThan(0);
    await waitFor(() => !alive(bg));
    expect(alive(bg)).toBe(false);
  });

  it('records the group while it lives; a later pilot kills the leftovers of a dead one', async () => {
    const area = mkdtempSync(path.join(tmpdir(), 'payload-area-'));
    // A pilot home whose pilot is gone: the pid of a process that already exited.
    const dead = spawnSync('true').pid ?? 1;
    const home = path.join(area, `PanDA_Pilot3_${dead}_${Math.floor(Date.now() / 1000)}`);
    const jobDir = path.join(home, 'PanDA_Pilot-1');
    mkdirSync(jobDir, { recursive: true });
    const recordDir = path.join(home, PAYLOAD_RECORDS_DIR);
    const p = await PayloadProcess.start({
      command: 'sleep 1000 & echo $! > bg.tmp && mv bg.tmp bg.pid; sleep 1000',
      cwd: jobDir,
      env: { PATH: '/usr/bin:/bin', PILOT_JOB_DIR: jobDir },
      stdoutPath: path.join(jobDir, 'payload.stdout'),
      stderrPath: path.join(jobDir, 'payload.stderr'),
      recordDir,
    });
    await waitFor(() => existsSync(path.join(jobDir, 'bg.pid')));
    const bg = Number(readFileSync(path.join(jobDir, 'bg.pid'), 'utf8'));
    expect(readFileSync(path.join(recordDir, String(p.pid)), 'utf8')).toContain(`pgid=${p.pid}\n`);
    // A live pilot's records are left alone.
    expect(killLeftoverPayloads(area, () => true)).toEqual([]);
    expect(alive(bg)).toBe(true);
    expect(pilotHomeAlive(home)).toBe(false);
    const killed = killLeftoverPayloads(area);
    expect(killed).toContain(bg);
    const exit = await p.done;
    expect(exit.signal).toBe('SIGKILL');
    await waitFor(() => !alive(bg));
    expect(alive(bg)).toBe(false);
    expect(existsSync(path.join(recordDir, String(p.pid)))).toBe(false);
  });

  it('a launcher made ahead of its job runs it as a direct spawn does: dir, environment, $0, stdin, outputs, status, CPU', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'payload-spare-'));
    const recordDir = path.join(home, PAYLOAD_RECORDS_DIR);
    // What a pilot started from a shell hands on: SHLVL and `_` (which a spare launcher sets itself), a locale.
    const shellEnv = { SHLVL: '3', _: '/usr/bin/node', LC_ALL: 'C', OLDPWD: '/tmp' };
    // A start without a records dir never takes a spare: the direct way, to compare with.
    const run = async (
      n: number,
      command: string,
      whileRunning?: (p: PayloadProcess) => Promise<void>,
      extraEnv: Record<string, string> = {},
      direct = false,
    ) => {
      const jobDir = path.join(home, `PanDA_Pilot-${n}`);
      mkdirSync(jobDir, { recursive: true });
      const p = await PayloadProcess.start({
        command,
        cwd: jobDir,
        // A value a shell would mangle if it were not quoted whole.
        env: { PATH: '/usr/bin:/bin', PILOT_JOB_DIR: jobDir, ODD: `it's "$HOME" \\n $(x)\nline two`, ...shellEnv, ...extraEnv },
        stdoutPath: path.join(jobDir, 'payload.stdout'),
        stderrPath: path.join(jobDir, 'payload.stderr'),
        recordDir: direct ? undefined : recordDir,
      });
      await whileRunning?.(p);
      return { p, jobDir, exit: await p.done };
    };
    // The whole environment the payload hands on (job dir aside), and the shell level it runs at.
    const command =
      'env | sed "s|$PWD|JOBDIR|g" | sort > ../env-$$.txt; mv ../env-$$.txt env.txt; echo "$0|$PWD|$PILOT_JOB_DIR|$ODD|$HOME"; read -r x && echo "stdin: $x"; echo err >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3';
    const direct = await run(1, command, undefined, {}, true);
    // The next start's launcher is made after this one's (setImmediate), by a zygote: let it be ready.
    await new Promise((r) => setImmediate(r));
    expect(await spareReady()).toBe(true);
    let launchFile = '';
    let wiped = false;
    const ahead = await run(2, `sleep 2; ${command}`, async (p) => {
      // It went through a launch file (a direct spawn writes none), wiped once read: it holds the payload's environment.
      launchFile = path.join(recordDir, `${p.pid}.launch`);
      expect(existsSync(launchFile)).toBe(true);
      await waitFor(() => readFileSync(launchFile, 'utf8') === '');
      wiped = readFileSync(launchFile, 'utf8') === '';
    });
    expect(wiped).toBe(true);
    expect(existsSync(launchFile)).toBe(false); // removed once the payload ended
    // A name a shell cannot export (an exported function, as environment modules leave): made ahead, through env.
    const fn = { 'BASH_FUNC_module%%': '() {  echo module\n}' };
    const directFn = await run(3, command, undefined, fn, true);
    expect(await spareReady()).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(await spareReady()).toBe(true);
    let fnLaunch = '';
    const aheadFn = await run(
      4,
      command,
      async (p) => {
        fnLaunch = path.join(recordDir, `${p.pid}.launch`);
        expect(existsSync(fnLaunch)).toBe(true);
      },
      fn,
    );
    expect(fnLaunch).not.toBe('');
    const envOf = (r: { jobDir: string }) => readFileSync(path.join(r.jobDir, 'env.txt'), 'utf8');
    expect(envOf(direct)).toContain('SHLVL=5\n');
    expect(envOf(direct)).toContain('_=/usr/bin/env\n');
    expect(envOf(ahead)).toBe(envOf(direct));
    expect(envOf(directFn)).toContain('BASH_FUNC_module%%');
    expect(envOf(aheadFn)).toBe(envOf(directFn));
    for (const r of [direct, ahead, directFn, aheadFn]) {
      expect(r.exit.exitCode).toBe(3);
      expect(r.exit.launchError).toBeUndefined();
      expect(readFileSync(path.join(r.jobDir, 'payload.stdout'), 'utf8')).toBe(`/bin/bash|${r.jobDir}|${r.jobDir}|it's "$HOME" \\n $(x)\nline two|\n`);
      expect(readFileSync(path.join(r.jobDir, 'payload.stderr'), 'utf8')).toBe('err\n');
      expect(r.exit.cpuUserSec).not.toBeNull();
    }
  });

  it('a launcher made ahead leads its own session and group, holds no other fd, and a signal that kills it is reported', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'payload-spare-'));
    const recordDir = path.join(home, PAYLOAD_RECORDS_DIR);
    mkdirSync(recordDir, { recursive: true });
    const startIn = async (n: number, command: string, direct = false) => {
      const jobDir = path.join(home, `job-${n}`);
      mkdirSync(jobDir);
      // The first start of this worker may find no spare; every later one waits for the one it made.
      await new Promise((r) => setImmediate(r));
      if (n > 0 && !direct) expect(await spareReady()).toBe(true);
      const p = await PayloadProcess.start({
        command,
        cwd: jobDir,
        env: { PATH: '/usr/bin:/bin' },
        stdoutPath: path.join(jobDir, 'payload.stdout'),
        stderrPath: path.join(jobDir, 'payload.stderr'),
        recordDir: direct ? undefined : recordDir,
      });
      return { p, jobDir };
    };
    // Start one so that the next is made ahead, then look at the next from inside.
    const command = 'echo $(ps -o pgid=,sid= -p $$); exec ls /proc/self/fd';
    const fdsOf = (jobDir: string) =>
      readFileSync(path.join(jobDir, 'payload.stdout'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map(Number)
        .sort((a, b) => a - b);
    // A direct start, for the fds any child of this process has (stdin, stdout, stderr, the dir ls reads, and what the test runner leaves open).
    const direct = await startIn(0, command, true);
    await direct.p.done;
    const { p, jobDir } = await startIn(1, command);
    expect(existsSync(path.join(recordDir, `${p.pid}.launch`))).toBe(true);
    const exit = await p.done;
    expect(exit.exitCode).toBe(0);
    const ids = readFileSync(path.join(jobDir, 'payload.stdout'), 'utf8').split('\n')[0];
    expect(ids?.split(' ').map(Number)).toEqual([p.pid, p.pid]);
    // No channel of another spare, no request fd of the zygote.
    expect(fdsOf(direct.jobDir)).toContain(3);
    expect(fdsOf(jobDir)).toEqual(fdsOf(direct.jobDir));
    // The launcher itself killed: it cannot say its status; the zygote that reaped it does.
    const killed = await startIn(2, 'kill -KILL $PPID; sleep 30');
    expect(existsSync(path.join(recordDir, `${killed.p.pid}.launch`))).toBe(true);
    const end = await killed.p.done;
    expect(end.exitCode).toBeNull();
    expect(end.signal).toBe('SIGKILL');
  });

  it('a pilot home of a running pilot counts as alive', () => {
    const home = path.join(tmpdir(), `PanDA_Pilot3_${process.pid}_${Math.floor(Date.now() / 1000)}`);
    expect(pilotHomeAlive(home)).toBe(true);
  });
});
