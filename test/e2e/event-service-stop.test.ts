/**
 * Stopping an event-service job from the server: `softkill` lets running
 * ranges finish and takes no more (a retry inherits the rest); `tobekilled`
 * stops every range's process group at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

const task = (site: string) => ({
  name: 'slow',
  site,
  cores: 2,
  maxAttempts: 2,
  eventService: true,
  rangesPerJob: 6,
  command: 'echo start {index}; sleep 1.5; echo end {index}',
  count: 6,
});

async function untilRunning(url: string, pandaId: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const d = await stubApi(`${url}/stub/jobs/${pandaId}`);
    if (d.job.state === 'running' && d.eventRanges.some((r: any) => r.statusName === 'running' || r.statusName === 'sent')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${pandaId} never started its ranges`);
}

describe('stopping an event-service job', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('es-stop'));
  });
  afterAll(async () => stub?.stop());

  const flags = { api: 'legacy', 'getjob-wait': 0, heartbeat: 0.3, 'kill-grace': 1, 'es-report-delay': 0.2, quiet: true };
  const pilot = (site: string) => runPilotProcess(pilotCommandLine(site, stub.url, scratchDir('es-stop-pilot'), flags), { timeoutMs: 45_000 });

  it('softkill: running ranges finish, no more start, and a retry gets the rest', async () => {
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task('ES_SOFT'));
    const [first] = submitted.tasks[0].pandaIds as number[];
    const run = pilot('ES_SOFT');
    await untilRunning(stub.url, first!);
    await stubApi(`${stub.url}/stub/jobs/${first}/softkill`, 'POST', {});
    const result = await run;
    expect(result.code, result.stderr).toBe(0);

    const d = await stubApi(`${stub.url}/stub/jobs/${first}`);
    expect(d.job.state).toBe('failed');
    expect(Number(d.job.report.pilotErrorCode)).toBe(1224);
    expect(d.job.report.pilotErrorDiag).toMatch(/after softkill/);
    const done = d.eventRanges.filter((r: any) => r.statusName === 'finished').length;
    const cancelled = d.eventRanges.filter((r: any) => r.statusName === 'cancelled').length;
    expect(done).toBeGreaterThanOrEqual(1); // what was running when softkill arrived finished
    expect(done).toBeLessThan(6);
    expect(done + cancelled).toBe(6);
    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${submitted.tasks[0].taskId}`);
    const retry = jobs.find((j: any) => j.retryOf === first);
    expect(retry?.state).toBe('activated'); // the softkilled pilot asked for no more work
    const next = await stubApi(`${stub.url}/stub/jobs/${retry.pandaId}`);
    expect(next.eventRanges.map((r: any) => r.statusName)).toEqual(Array(cancelled).fill('ready'));
  });

  it('tobekilled: every range stops now and the job fails with 1144', async () => {
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { ...task('ES_KILL'), command: 'echo start {index}; sleep 30' });
    const [first] = submitted.tasks[0].pandaIds as number[];
    const run = pilot('ES_KILL');
    await untilRunning(stub.url, first!);
    await stubApi(`${stub.url}/stub/jobs/${first}/kill`, 'POST', {});
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    const d = await stubApi(`${stub.url}/stub/jobs/${first}`);
    expect(d.job.state).toBe('failed');
    expect(Number(d.job.report.pilotErrorCode)).toBe(1144);
    expect(d.eventRanges.filter((r: any) => r.statusName === 'finished')).toEqual([]);
    // The ranges that were running were stopped by the kill (not left to end), and said so.
    const stopped = d.eventRanges.filter((r: any) => r.statusName === 'failed');
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    for (const r of stopped) expect(r.errorCode).toBe(1144);
    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${submitted.tasks[0].taskId}`);
    expect(jobs).toHaveLength(1); // a killed job is not retried
  });
});
