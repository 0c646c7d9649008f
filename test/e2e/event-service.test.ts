/**
 * An event-service task end to end, once per dialect: the real stub process,
 * the bundled pilot, real range payloads — some fail once and succeed on
 * their retry, one is fatal — and every range's final state and each job's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

function task(site: string, markers: string) {
  const flaky = (name: string) => `if [ -e ${markers}/${name} ]; then echo ${name} ok on retry; else touch ${markers}/${name}; echo ${name} first attempt fails >&2; exit 3; fi`;
  return {
    name: 'isr',
    site,
    cores: 2,
    eventService: true,
    rangesPerJob: 4,
    rangeAttempts: 3,
    jobs: [
      { name: 'q0', command: 'echo q0 in $PWD; sleep 0.3' },
      { name: 'q1', command: flaky('q1') },
      { name: 'q2', command: 'echo q2; sleep 0.2' },
      { name: 'q3', command: 'echo q3' },
      { name: 'q4', command: 'echo q4' },
      { name: 'q5', command: 'echo "q5: input is corrupt" >&2; exit 65' },
      { name: 'q6', command: flaky('q6') },
      { name: 'q7', command: 'echo q7' },
    ],
  };
}

describe.each(['legacy', 'v1'] as const)('event service end to end, %s dialect', (api) => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir(`es-${api}`));
  });
  afterAll(async () => stub?.stop());

  it('runs every range, retries the failed ones, keeps the fatal one, and ends each job as its ranges say', async () => {
    const site = `ES_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task(site, scratchDir('es-markers')));
    const taskId = submitted.tasks[0].taskId as number;
    const work = scratchDir('es-pilot');
    const run = await runPilotProcess(
      ['-q', site, '--url', stub.url, '--api', api, '-a', work, '--getjob-wait', '0', '--heartbeat', '1', '--es-report-delay', '0.3', '--quiet'],
      { timeoutMs: 45_000 },
    );
    expect(run.code, run.stderr).toBe(0);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(jobs).toHaveLength(2); // no retry job: nothing was left to retry
    const [a, b] = await Promise.all(jobs.map((j: any) => stubApi(`${stub.url}/stub/jobs/${j.pandaId}`)));
    const states = (d: any) => Object.fromEntries(d.eventRanges.map((r: any) => [r.rangeId.split('-').slice(3).join('-'), r.statusName]));

    // Job A: q1 failed once and succeeded on its second attempt; the job finished.
    expect(states(a)).toEqual({ '1-1': 'done', '2-1': 'failed', '2-2': 'done', '3-1': 'done', '4-1': 'done' });
    expect(a.job.state).toBe('finished');
    expect(Number(a.job.report.pilotErrorCode)).toBe(0);
    const aFailed = a.eventRanges.find((r: any) => r.statusName === 'failed');
    expect(aFailed.errorCode).toBe(3);

    // Job B: q5 fatal (exit 65, never retried), q6 retried and done; the job failed with ESFATAL.
    expect(states(b)).toEqual({ '1-1': 'done', '2-1': 'fatal', '3-1': 'failed', '3-2': 'done', '4-1': 'done' });
    expect(b.job.state).toBe('failed');
    expect(Number(b.job.report.pilotErrorCode)).toBe(1228);
    expect(b.job.report.pilotErrorDiag).toMatch(/3 of 4 ranges done, 0 failed, 1 fatal; .*-2-1: event range exited with status 65/);
    expect(b.history.map((h: any) => h.reason).join('\n')).toMatch(/no event ranges left to retry/);

    // Range IDs name the task and the job: <task>-<PandaID>-<fileID>-<processID>-<attemptNr>.
    for (const d of [a, b]) for (const r of d.eventRanges) expect(r.rangeId.startsWith(`${taskId}-${d.job.pandaId}-`)).toBe(true);

    // Each range ran in its own directory; its output is in the job's payload.stdout with a worker prefix.
    const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'))!;
    const jobDir = path.join(work, home, `PanDA_Pilot-${a.job.pandaId}`);
    const stdout = readFileSync(path.join(jobDir, 'payload.stdout'), 'utf8');
    expect(stdout).toMatch(new RegExp(`^Worker \\d+: q0 in ${jobDir}/${taskId}-${a.job.pandaId}-1-1-1$`, 'm'));
    expect(stdout).toMatch(/^Worker \d+: q1 ok on retry$/m);
    expect(readFileSync(path.join(jobDir, 'payload.stderr'), 'utf8')).toMatch(/^Worker \d+: q1 first attempt fails$/m);

    // Range results went in bulk: far fewer range report calls than ranges.
    const summary = await stubApi(`${stub.url}/stub/summary`);
    const reportCalls = summary.requests.byMethod[api === 'v1' ? 'event/update_event_ranges' : 'updateEventRanges'];
    expect(reportCalls).toBeGreaterThan(0);
    expect(reportCalls).toBeLessThan(10);
  });
});
