/**
 * The whole loop over loopback, once per dialect: the real stub process,
 * the bundled pilot process, real payloads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

const task = (site: string) => ({
  name: `loop_${site}`,
  site,
  maxAttempts: 1,
  jobs: [
    { name: 'ok', command: 'echo hello from $PandaID at $PANDA_RESOURCE; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1.2' },
    { name: 'bad', command: 'echo about to fail >&2; exit 42' },
  ],
});

describe.each(['legacy', 'v1'] as const)('local loop, %s dialect', (api) => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir(`loop-${api}`));
  });
  afterAll(async () => stub?.stop());

  it('dispatches, runs, heartbeats and reports every job with the right codes', async () => {
    const site = `LOCAL_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task(site));
    const taskId = submitted.tasks[0].taskId as number;
    const run = await runPilotProcess(
      ['-q', site, '--url', stub.url, '--api', api, '-a', scratchDir('loop-pilot'), '--getjob-wait', '0', '--heartbeat', '0.5', '--quiet'],
      { timeoutMs: 45_000 },
    );
    expect(run.code, run.stderr).toBe(0);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(jobs).toHaveLength(2);
    const byName = Object.fromEntries(jobs.map((j: any) => [j.name, j]));

    const ok = await stubApi(`${stub.url}/stub/jobs/${byName.ok.pandaId}`);
    expect(ok.job.state).toBe('finished');
    const states = ok.updates.map((u: any) => u.params[api === 'v1' ? 'job_status' : 'state']);
    expect(states[0]).toBe('starting');
    expect(states.at(-1)).toBe('finished');
    expect(states.filter((s: string) => s === 'running').length).toBeGreaterThanOrEqual(2); // the state change and ≥1 heartbeat
    const seqs = ok.updates.map((u: any) => Number(String(u.seqHeader).split(':')[2]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(ok.updates.every((u: any) => String(u.seqHeader).startsWith(`${byName.ok.pandaId}:1:`))).toBe(true);
    expect(Number(ok.job.report.transExitCode)).toBe(0);
    expect(Number(ok.job.report.cpuConsumptionTime)).toBeGreaterThanOrEqual(0);
    expect(ok.job.report.startTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(ok.job.report.endTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Number(ok.job.report.maxRSS)).toBeGreaterThan(0);
    const xml = JSON.parse(String(ok.job.report.xml));
    const [logName, logEntry] = Object.entries(xml)[0] as [string, any];
    expect(logName).toMatch(/\.log\.tgz$/);
    expect(logEntry.fsize).toBeGreaterThan(0);
    expect(logEntry.adler32).toMatch(/^[0-9a-f]{8}$/);
    expect(ok.history.map((h: any) => h.to)).toEqual(['activated', 'sent', 'starting', 'running', 'holding', 'finished']);

    const bad = await stubApi(`${stub.url}/stub/jobs/${byName.bad.pandaId}`);
    expect(bad.job.state).toBe('failed');
    expect(Number(bad.job.report.pilotErrorCode)).toBe(1305);
    expect(Number(bad.job.report.transExitCode)).toBe(42);
    expect(bad.job.report.pilotErrorDiag).toMatch(/exited with status 42: about to fail/);
  });
});
