/**
 * A stopping pilot has one cut-off (`--signal-grace`) that every step after
 * the stop honours, and a final update on disk from the moment the payload's
 * outcome is known. Real stub, real pilot, real payloads, real signals:
 *  - a second signal kills event ranges that ignore SIGTERM at once;
 *  - a SIGKILL while the log is being staged out (after the outcome is
 *    known, before the final update was made) still leaves one final on
 *    disk, which `--recover` delivers — exactly once, with the job's state;
 *  - the lifetime's stop gives the payload's grace and the final update the
 *    same cut-off a signal does (not the payload's `--kill-grace`).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { errorCodeOf, finalUpdate, stubJob, submitJobs, taskFile } from '../support/wrapper.js';

/** Final updates not yet delivered under a work area: kept for recovery, or claimed by the pilot sending them. */
function keptFinals(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /^final-update\.json(\.recovering-\d+)?$/.test(path.basename(f)));
}

const waitFor = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) => {
  for (let t = 0; t < ms; t += 100) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting ${ms / 1000} s for ${what}`);
};

/** The pilot's JSON log lines with this event, from every pilot home under the work area. */
function logEvents(area: string, event: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const home of readdirSync(area).filter((n) => n.startsWith('PanDA_Pilot3_'))) {
    let text = '';
    try {
      text = readFileSync(path.join(area, home, 'pilotlog.jsonl'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.event === event) out.push(e);
      } catch {
        // a line being written
      }
    }
  }
  return out;
}

const finals = (details: any) => details.updates.filter((u: any) => ['finished', 'failed'].includes(String(u.params.state ?? u.params.job_status)));

describe('a stopping pilot: one cut-off, and a final on disk from the outcome on', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('cutoff-stub'));
  });
  afterAll(async () => stub?.stop());

  it('a second signal kills event ranges that ignore SIGTERM at once; the job reports 1201 and its ranges as stopped', async () => {
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: 'es_hard_stop',
      site: 'ES_HARD_STOP',
      cores: 2,
      maxAttempts: 1,
      eventService: true,
      rangesPerJob: 2,
      // The range and everything it starts ignore SIGTERM: only a SIGKILL ends them.
      command: "trap '' TERM; sleep 1000 & wait; sleep 1000",
      count: 2,
    });
    const [id] = submitted.tasks[0].pandaIds as number[];
    // Neither the range's grace (600 s) nor the signal grace (3000 s) would end it within the harness's time: only the second signal can.
    const area = scratchDir('es-hard-stop-work');
    const pilot = runPilotProcess(
      [
        '-q',
        'ES_HARD_STOP',
        '--url',
        stub.url,
        '-a',
        area,
        '--getjob-wait',
        '0',
        '--kill-grace',
        '600',
        '--signal-grace',
        '3000',
        '--es-report-delay',
        '0.2',
        '--quiet',
      ],
      { timeoutMs: 120_000 },
    );
    await waitFor('both ranges running', async () => {
      const d = await stubJob(stub.url, id!);
      return d.eventRanges.filter((r: any) => r.statusName === 'running').length === 2;
    });
    pilot.proc.kill('SIGTERM');
    // Two signals sent back to back may merge into one: the second goes once the pilot logged the first.
    await waitFor('the pilot to log the first signal', () => logEvents(area, 'signal').length === 1);
    expect(pilot.proc.exitCode, 'the ranges ignore SIGTERM: the first signal alone does not end the pilot').toBeNull();
    pilot.proc.kill('SIGTERM');
    const run = await pilot;
    expect(run.signal, `killed by the harness: the ranges outlived the second signal\n${run.stderr}`).toBeNull();
    expect(run.code, run.stderr).toBe(143);
    const d = await stubJob(stub.url, id!);
    expect(d.job.state).toBe('failed');
    expect(errorCodeOf(finalUpdate(d))).toBe(1201);
    expect(d.eventRanges.map((r: any) => [r.statusName, r.errorCode])).toEqual([
      ['failed', 1201],
      ['failed', 1201],
    ]);
  }, 150_000);

  it('SIGKILL during the log stage-out: the final is on disk already, and --recover delivers it once with the job state', async () => {
    // A WebDAV destination that takes the PUT and never answers: the pilot is caught after the outcome, before its final update.
    let sawPut!: () => void;
    const putSeen = new Promise<void>((r) => (sawPut = r));
    const held: IncomingMessage[] = [];
    const storage: Server = createServer((req) => {
      held.push(req);
      if (req.method === 'PUT') sawPut();
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}/logs`;
    try {
      const queue = 'KILL_IN_STAGEOUT';
      const [id] = await submitJobs(stub.url, taskFile(queue, ['echo the payload ran; exit 3']));
      const area = scratchDir('kill-stageout-work');
      const pilot = runPilotProcess(['-q', queue, '--url', stub.url, '-a', area, '--getjob-wait', '0', '--log-destination', storageUrl, '--quiet'], {
        timeoutMs: 120_000,
      });
      await Promise.race([
        putSeen,
        pilot.then((r) => {
          throw new Error(`pilot ended before its log stage-out: ${r.code} ${r.stderr}`);
        }),
      ]);
      pilot.proc.kill('SIGKILL');
      expect((await pilot).signal).toBe('SIGKILL');
      // Nothing reached the server yet: the final went to disk before the log, and only there.
      expect(finals(await stubJob(stub.url, id!))).toHaveLength(0);
      expect(keptFinals(area)).toHaveLength(1);

      const rec = await runPilotProcess(['--recover', area, '--url', stub.url, '--quiet'], { timeoutMs: 60_000 });
      expect(rec.code, rec.stderr).toBe(0);
      const d = await stubJob(stub.url, id!);
      expect(finals(d)).toHaveLength(1);
      expect(d.job.state).toBe('failed');
      expect(Number(finalUpdate(d).params.transExitCode ?? finalUpdate(d).params.trans_exit_code)).toBe(3);
      expect(keptFinals(area)).toHaveLength(0);
      // A second recovery finds nothing more to send: exactly one final.
      const again = await runPilotProcess(['--recover', area, '--url', stub.url, '--quiet'], { timeoutMs: 60_000 });
      expect(again.code, again.stderr).toBe(0);
      expect(finals(await stubJob(stub.url, id!))).toHaveLength(1);
    } finally {
      for (const req of held) req.socket.destroy();
      await new Promise((r) => storage.close(r));
    }
  }, 150_000);

  it("the lifetime's stop cuts a payload's grace (even one a watchdog is already stopping) to the signal grace, not --kill-grace", async () => {
    const queue = 'LIFETIME_CUTOFF';
    // A walltime within the lifetime (the server sends only jobs that can end in the pilot's remaining time): its
    // watchdog starts the payload's stop with the full --kill-grace, then the lifetime's stop must cut that short.
    const [id] = await submitJobs(stub.url, taskFile(queue, ["trap '' TERM; sleep 1000 & wait; sleep 1000"], { walltimeSec: 10 }));
    const area = scratchDir('lifetime-cutoff-work');
    // --kill-grace 600: without the one cut-off the payload would hold the pilot for ten minutes after its lifetime.
    const pilot = runPilotProcess(
      ['-q', queue, '--url', stub.url, '-a', area, '--getjob-wait', '0', '-l', '20', '--kill-grace', '600', '--signal-grace', '8', '--quiet'],
      { timeoutMs: 120_000 },
    );
    const run = await pilot;
    expect(run.signal, `killed by the harness: the stop outlived the signal grace\n${run.stderr}`).toBeNull();
    const d = await stubJob(stub.url, id!);
    expect(d.job.state).toBe('failed');
    expect(errorCodeOf(finalUpdate(d))).toBe(1213);
  }, 150_000);
});
