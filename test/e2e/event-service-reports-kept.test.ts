/**
 * Range reports that never reached the server: kept on disk beside the final
 * update and recovered in order (range reports first, then the final), and a
 * SIGTERM while they are being retried is acted on before the batch system's
 * SIGKILL, with the reports on disk. Real stub process, real pilot bundle, a fault
 * proxy on loopback for the outage, `--quirk es-v1-500` for the server bug.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, stubApi, type PilotRun, type StubProcess } from '../support/processes.js';

/**
 * The batch system's KillWait (Slurm's, HTCondor's kill delay): seconds from its SIGTERM to its SIGKILL.
 * Longer than the pilot's signal grace (stoppedOnlyBySignal) by a margin for a loaded machine; a pilot
 * that ignored its cut-off retries for the 600 s of --final-deadline and is killed here.
 */
const KILL_WAIT_SEC = 30;

/**
 * Waits (bounded) until `ready()` holds, then does what a batch system does at a job's end: SIGTERM,
 * and SIGKILL when KillWait is over. How the pilot ended says whether it stopped in time: on its own
 * (an exit code) or killed (signal SIGKILL), so no elapsed time is compared.
 */
async function endLikeABatchSystem(run: ReturnType<typeof runPilotProcess>, ready: () => boolean, never: string): Promise<PilotRun> {
  const deadline = Date.now() + 60_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(never);
    await new Promise((r) => setTimeout(r, 100));
  }
  run.proc.kill('SIGTERM');
  const killer = setTimeout(() => run.proc.kill('SIGKILL'), KILL_WAIT_SEC * 1000);
  try {
    return await run;
  } finally {
    clearTimeout(killer);
  }
}

/**
 * Updates retried without end and with long pauses (as before the fix, until --final-deadline), so only
 * the signal ends them: its one cut-off is what is left of the signal grace less 3 s to write to disk, i.e. graceSec.
 */
const stoppedOnlyBySignal = (graceSec: number) => ({
  'getjob-wait': 0,
  heartbeat: 1,
  'retry-max-delay': 30,
  'final-deadline': 600,
  'kill-grace': graceSec,
  'signal-grace': graceSec + 3,
  quiet: true,
});

const task = (site: string, count: number) => ({
  name: 'kept',
  site,
  cores: 2,
  eventService: true,
  rangesPerJob: count,
  command: 'echo quantum {index}',
  count,
});

/** The job dirs under a pilot work area, with what each holds. */
function jobDirs(work: string): string[] {
  const out: string[] = [];
  for (const home of readdirSync(work).filter((n) => n.startsWith('PanDA_Pilot3_'))) {
    for (const d of readdirSync(path.join(work, home)).filter((n) => n.startsWith('PanDA_Pilot-'))) out.push(path.join(work, home, d));
  }
  return out;
}

function logEvents(work: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const home of readdirSync(work).filter((n) => n.startsWith('PanDA_Pilot3_'))) {
    const file = path.join(work, home, 'pilotlog.jsonl');
    if (existsSync(file)) for (const line of readFileSync(file, 'utf8').split('\n')) if (line) out.push(JSON.parse(line));
  }
  return out;
}

describe.each(['legacy', 'v1'] as const)('range reports kept on disk, %s dialect', (api) => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir(`es-kept-${api}`));
  });
  afterAll(async () => stub?.stop());

  it('server away for every update: reports and final kept, then --recover sends the reports first and the job finishes', async () => {
    const site = `ES_KEPT_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task(site, 3));
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    // Every job update and range report answered 503: the server is away for them (getJob and ranges still work).
    let proxy: FaultProxy | null = null;
    try {
      proxy = await startFaultProxy({
        target: stub.url,
        seed: 17,
        rate: 1,
        activeMs: 600_000,
        maxFaults: 1_000_000,
        delayMs: 0,
        faultPath: /(updateJob|update_job|updateEventRanges|update_event_ranges)$/,
        safeFaultPath: /^$/,
        weights: { drop: 0, reset: 0, http500: 0, http429: 0, 'lost-reply': 0, delay: 0, http503: 1 },
      });
      const work = scratchDir('es-kept-pilot');
      const flags = {
        api,
        'getjob-wait': 0,
        heartbeat: 1,
        'es-report-delay': 0.2,
        'es-report-attempts': 2,
        'retry-max-delay': 0.2,
        'final-deadline': 3,
        quiet: true,
      };
      const run = await runPilotProcess(pilotCommandLine(site, proxy.url, work, flags), { timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(0);
      const [dir] = jobDirs(work);
      const kept = JSON.parse(readFileSync(path.join(dir!, 'range-reports.json'), 'utf8'));
      expect(kept).toMatchObject({ kind: 'range-reports', dialect: api, pandaId, attemptNr: 1 });
      expect(kept.reports.map((r: any) => r.eventStatus)).toEqual(['finished', 'finished', 'finished']); // order: as they ended
      const final = JSON.parse(readFileSync(path.join(dir!, 'final-update.json'), 'utf8'));
      expect(final.update).toMatchObject({ jobId: pandaId, state: 'finished' });
      expect(final.update.fields.pilotErrorDiag).toMatch(/3 of 3 ranges done.*3 range report\(s\) not delivered, kept on disk/);
      const before = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
      expect(before.eventRanges.map((r: any) => r.statusName)).toEqual(['sent', 'sent', 'sent']);

      // The server is back: recovery, straight to it.
      const rec = await runPilotProcess(['--recover', work, '--url', stub.url, '--quiet'], { timeoutMs: 60_000 });
      expect(rec.code, rec.stdout + rec.stderr).toBe(0);
      const lines = rec.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^delivered\t\d+\t.*range-reports\.json\t3 range report\(s\) taken/);
      expect(lines[1]).toMatch(/^delivered\t\d+\t.*final-update\.json/);
      expect(lines.at(-1)).toMatch(/2 kept final update\(s\): 2 delivered/);
      expect(existsSync(path.join(dir!, 'range-reports.json.acked'))).toBe(true);
      const after = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
      expect(after.eventRanges.map((r: any) => r.statusName)).toEqual(['finished', 'finished', 'finished']);
      expect(after.job.state).toBe('finished');
    } finally {
      await proxy?.stop();
    }
  });
});

describe('SIGTERM while range reports are retried (v1 on 1.0.3: every report answered 500)', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('es-sigterm'), ['--quirk', 'es-v1-500']);
  });
  afterAll(async () => stub?.stop());

  it('the pilot exits on its own before the batch system SIGKILLs it, with the reports on disk and the job reported', async () => {
    const site = 'ES_SIGTERM';
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task(site, 3));
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    const work = scratchDir('es-sigterm-pilot');
    const graceSec = 2;
    // Reports are retried without end and with long pauses (as before the fix, until --final-deadline).
    const flags = { api: 'v1', ...stoppedOnlyBySignal(graceSec), 'es-report-delay': 0.2, 'es-report-attempts': 1000 };
    const run = runPilotProcess(pilotCommandLine(site, stub.url, work, flags), { timeoutMs: 120_000 });
    const retrying = () => logEvents(work).some((e) => e.event === 'range_report_failed' && e.attempt >= 2);
    const result = await endLikeABatchSystem(run, retrying, 'range reports were never retried');
    // Range reports get the grace, then the final update: before the fix they were retried for minutes, into the SIGKILL.
    expect(result.signal, `the pilot was still retrying when KillWait (${KILL_WAIT_SEC} s) ended`).toBeNull();
    expect(result.code, result.stderr).toBe(143);

    const [dir] = jobDirs(work);
    const kept = JSON.parse(readFileSync(path.join(dir!, 'range-reports.json'), 'utf8'));
    expect(kept.reports.map((r: any) => `${r.eventRangeID}:${r.eventStatus}`).sort()).toEqual(
      [1, 2, 3].map((p) => `${submitted.tasks[0].taskId}-${pandaId}-1-${p}-1:finished`),
    );
    const events = logEvents(work);
    expect(events.some((e) => e.event === 'range_reports_kept')).toBe(true);
    const d = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
    expect(d.job.state).toBe('failed');
    expect(Number(d.job.report.pilotErrorCode)).toBe(1201);
    expect(d.job.report.pilotErrorDiag).toMatch(/SIGTERM.*3 of 3 ranges done/);
  }, 120_000);
});

describe('SIGTERM while the final update is retried (server away for updates)', () => {
  let stub: StubProcess;
  let proxy: FaultProxy;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('final-sigterm'));
    proxy = await startFaultProxy({
      target: stub.url,
      seed: 5,
      rate: 1,
      activeMs: 600_000,
      maxFaults: 1_000_000,
      delayMs: 0,
      weights: { drop: 0, reset: 0, http500: 0, http429: 0, 'lost-reply': 0, delay: 0, http503: 1 },
      safeFaultPath: /^$/,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await stub?.stop();
  });

  it('the pilot exits on its own before the batch system SIGKILLs it, with the final update on disk', async () => {
    const site = 'FINAL_SIGTERM';
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { name: 'plain', site, command: 'echo done', count: 1 });
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    const work = scratchDir('final-sigterm-pilot');
    const graceSec = 2;
    const run = runPilotProcess(pilotCommandLine(site, proxy.url, work, { api: 'legacy', ...stoppedOnlyBySignal(graceSec) }), { timeoutMs: 120_000 });
    // The payload ended and updates are still being retried after it: the job is in its final report.
    const reporting = () => {
      const events = logEvents(work);
      const ended = events.findIndex((e) => e.event === 'payload_exit');
      return ended >= 0 && events.slice(ended).filter((e) => e.event === 'update_failed').length >= 2;
    };
    const result = await endLikeABatchSystem(run, reporting, 'updates were never retried after the payload ended');
    expect(result.signal, `the pilot was still retrying when KillWait (${KILL_WAIT_SEC} s) ended`).toBeNull();
    expect(result.code, result.stderr).toBe(143);
    const [dir] = jobDirs(work);
    const final = JSON.parse(readFileSync(path.join(dir!, 'final-update.json'), 'utf8'));
    expect(final.update).toMatchObject({ jobId: pandaId, state: 'finished' });
    expect(final.error).toMatch(/pilot stopping/);
  }, 120_000);
});
