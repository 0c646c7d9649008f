/**
 * Nothing is lost when the batch system kills: SIGTERM while the server is
 * down, SIGKILL 2 s later, server back → the next pilot in the same work
 * area delivers the final update (1201). Real stub, real pilot, real signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, STUB_BIN, useStubToken } from '../support/processes.js';
import { errorCodeOf, finalUpdate, stubJob, submitJobs, taskFile } from '../support/wrapper.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });

const started: ChildProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** The stub on a fixed port (the kept final names the server it was meant for). */
async function stubOn(port: number, dataDir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [STUB_BIN, 'serve', '--port', String(port), '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stub did not start in 15 s')), 15_000);
    createInterface({ input: proc.stdout! }).once('line', () => (clearTimeout(timer), resolve()));
    proc.once('exit', (code) => reject(new Error(`stub exited with ${code}`)));
  });
  useStubToken(`http://127.0.0.1:${port}`, dataDir);
  return proc;
}

const stopped = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

/** Final updates not yet delivered under a work area: kept for recovery, or still claimed by the pilot sending them. */
function keptFinals(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /^final-update\.json(\.recovering-\d+)?$/.test(path.basename(f)));
}

const waitFor = async (cond: () => boolean | Promise<boolean>, ms = 30_000) => {
  for (let t = 0; t < ms && !(await cond()); t += 100) await new Promise((r) => setTimeout(r, 100));
};

describe('crash-safe final update', () => {
  it('SIGTERM with the server stopped, SIGKILL 2 s later, server back: the next pilot delivers 1201', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const data = scratchDir('crash-final-stub');
    const area = scratchDir('crash-final-work');
    let stub = await stubOn(port, data);
    const queue = 'CRASH_FINAL';
    const [id] = await submitJobs(url, taskFile(queue, ['sleep 1000']));
    const pilot = runPilotProcess(['-q', queue, '--url', url, '-a', area, '--getjob-wait', '0', '--kill-grace', '20', '--quiet'], { timeoutMs: 120_000 });
    await waitFor(async () => (await stubJob(url, id!)).job.state === 'running');
    expect((await stubJob(url, id!)).job.state).toBe('running');

    stub.kill('SIGKILL');
    await stopped(stub);
    pilot.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2_000));
    // On a loaded machine the payload's stop may take longer than 2 s; the claim is about any moment after it ended.
    await waitFor(() => keptFinals(area).length > 0);
    expect(pilot.proc.exitCode, 'the pilot is still trying to deliver').toBeNull();
    pilot.proc.kill('SIGKILL');
    const first = await pilot;
    expect(first.signal).toBe('SIGKILL');
    expect(keptFinals(area)).toHaveLength(1);

    stub = await stubOn(port, data);
    const next = await runPilotProcess(['-q', queue, '--url', url, '-a', area, '--getjob-wait', '0', '--quiet'], { timeoutMs: 60_000 });
    expect(next.code, next.stderr).toBe(0);
    const details = await stubJob(url, id!);
    expect(errorCodeOf(finalUpdate(details))).toBe(1201);
    expect(keptFinals(area)).toHaveLength(0);
    expect((readdirSync(area, { recursive: true }) as string[]).some((f) => f.endsWith('final-update.json.acked'))).toBe(true);
    stub.kill('SIGTERM');
    await stopped(stub);
    expect(existsSync(area)).toBe(true);
  });

  it('after SIGTERM with the server away, the final update gives up within the signal grace and stays on disk (exit 143)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const area = scratchDir('grace-final-work');
    const stub = await stubOn(port, scratchDir('grace-final-stub'));
    const queue = 'GRACE_FINAL';
    const [id] = await submitJobs(url, taskFile(queue, ['sleep 1000']));
    const pilot = runPilotProcess(['-q', queue, '--url', url, '-a', area, '--getjob-wait', '0', '--signal-grace', '6', '--quiet'], { timeoutMs: 120_000 });
    await waitFor(async () => (await stubJob(url, id!)).job.state === 'running');
    stub.kill('SIGKILL');
    await stopped(stub);
    pilot.proc.kill('SIGTERM');
    // Without the cut-off the final would be retried for --final-deadline (1200 s) and the harness would SIGKILL it.
    const run = await pilot;
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, run.stderr).toBe(143);
    expect(keptFinals(area)).toHaveLength(1);
  });

  it('SIGHUP stops the job with 1200; a second signal kills a payload that ignores SIGTERM at once', async () => {
    const stub = await startStubProcess(scratchDir('hup-stub'));
    try {
      const queue = 'HUP_FINAL';
      const [id] = await submitJobs(stub.url, taskFile(queue, ["trap '' TERM; sleep 1000 & wait; sleep 1000"]));
      // Neither the payload's grace (600 s) nor the signal grace would end it soon: only the second signal can.
      const pilot = runPilotProcess(
        ['-q', queue, '--url', stub.url, '--getjob-wait', '0', '--kill-grace', '600', '--signal-grace', '3000', '-a', scratchDir('hup-work'), '--quiet'],
        { timeoutMs: 120_000 },
      );
      await waitFor(async () => (await stubJob(stub.url, id!)).job.state === 'running');
      pilot.proc.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(pilot.proc.exitCode).toBeNull();
      pilot.proc.kill('SIGTERM');
      const run = await pilot;
      expect(run.signal, run.stderr).toBeNull();
      expect(run.code, run.stderr).toBe(129);
      expect(errorCodeOf(finalUpdate(await stubJob(stub.url, id!)))).toBe(1200);
    } finally {
      await stub.stop();
    }
  });
});
