/**
 * An event-service task end to end, once per dialect and per server mode:
 * the real stub process (as the real servers behave: a failed range is not
 * offered again within its job; with `--quirk es-extra-returns` legacy range
 * reports are answered with one Returns entry too many; with `--quirk
 * es-v1-500` every v1 range report is stored and then answered HTTP 500),
 * the bundled pilot, real range payloads — some fail once and succeed in the
 * job's retry, one is fatal — and every range's final state and each job's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pilotCommandLine, QUICK_PILOT, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

function task(site: string, markers: string) {
  const flaky = (name: string) =>
    `if [ -e ${markers}/${name} ]; then echo ${name} ok on retry; else touch ${markers}/${name}; echo ${name} first attempt fails >&2; exit 3; fi`;
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

/** Lines of the pilot's JSON log with this event. */
function logEvents(work: string, event: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const home of readdirSync(work).filter((n) => n.startsWith('PanDA_Pilot3_'))) {
    const file = path.join(work, home, 'pilotlog.jsonl');
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as Record<string, any>;
      if (e.event === event) out.push(e);
    }
  }
  return out;
}

const MODES = [
  { api: 'legacy', quirk: null },
  { api: 'v1', quirk: null },
  { api: 'legacy', quirk: 'es-extra-returns' },
  { api: 'v1', quirk: 'es-extra-returns' },
  { api: 'legacy', quirk: 'es-v1-500' },
  { api: 'v1', quirk: 'es-v1-500' },
] as const;

describe.each(MODES)('event service end to end, $api dialect, quirk $quirk', ({ api, quirk }) => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir(`es-${api}`), quirk ? ['--quirk', quirk] : []);
  });
  afterAll(async () => stub?.stop());

  it('ends each job as its ranges did on the node; failed ranges come back in a new job of the task', async () => {
    const site = `ES_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', task(site, scratchDir('es-markers')));
    const taskId = submitted.tasks[0].taskId as number;
    const work = scratchDir('es-pilot');
    const flags = { ...QUICK_PILOT, api, 'keep-job-dirs': true, 'es-report-delay': 0.3, 'retry-max-delay': 0.2 };
    const run = await runPilotProcess(pilotCommandLine(site, stub.url, work, flags), { timeoutMs: 90_000 });
    expect(run.code, run.stderr).toBe(0);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    const details = await Promise.all(jobs.map((j: any) => stubApi(`${stub.url}/stub/jobs/${j.pandaId}`)));
    // A job of the task by one of its first attempt's quanta, and that job's retry.
    const bySlot = (quantum: string) => {
      const first = details.find((d: any) => d.job.attemptNr === 1 && d.eventRanges.some((r: any) => r.quantum === quantum));
      return [first, details.find((d: any) => d.job.retryOf === first?.job.pandaId)];
    };
    const states = (d: any) => Object.fromEntries(d.eventRanges.map((r: any) => [r.rangeId.split('-').slice(3).join('-'), r.statusName]));
    const v1Broken = api === 'v1' && quirk === 'es-v1-500';

    // Job A: q1 failed; the server did not offer it again in A (A failed 1224 naming it); A's retry ran it.
    const [a, aRetry] = bySlot('q0');
    expect(states(a)).toEqual({ '1-1': 'finished', '2-1': 'failed', '3-1': 'finished', '4-1': 'finished' });
    expect(a.job.state).toBe('failed');
    expect(Number(a.job.report.pilotErrorCode)).toBe(1224);
    expect(a.job.report.pilotErrorDiag).toMatch(
      new RegExp(`3 of 4 ranges done, 1 failed, 0 fatal.*; ${taskId}-${a.job.pandaId}-1-2-1: event range exited with status 3`),
    );
    expect(a.eventRanges.find((r: any) => r.statusName === 'failed').errorCode).toBe(3);
    expect(aRetry.job.retryOf).toBe(a.job.pandaId);
    expect(states(aRetry)).toEqual({ '2-2': 'finished' });
    expect(aRetry.job.state).toBe('finished');
    expect(Number(aRetry.job.report.pilotErrorCode)).toBe(0);

    // Job B: q5 fatal (exit 65, never retried), q6 failed → 1228; B's retry ran q6, and the pilot
    // said finished, but the server decides from every quantum of the job: q5 is fatal, so failed.
    const [b, bRetry] = bySlot('q4');
    expect(states(b)).toEqual({ '1-1': 'finished', '2-1': 'fatal', '3-1': 'failed', '4-1': 'finished' });
    expect(b.job.state).toBe('failed');
    expect(Number(b.job.report.pilotErrorCode)).toBe(1228);
    expect(b.job.report.pilotErrorDiag).toMatch(/2 of 4 ranges done, 1 failed, 1 fatal.*-2-1: event range exited with status 65/);
    expect(states(bRetry)).toEqual({ '3-2': 'finished' });
    expect(Number(bRetry.job.report.pilotErrorCode)).toBe(0);
    expect(bRetry.job.state).toBe('failed');
    expect(bRetry.job.serverErrorDiag).toMatch(/1 fatal/);
    expect(jobs).toHaveLength(4); // nothing left to retry after that

    // Range IDs name the task and the job: <task>-<PandaID>-<fileID>-<processID>-<attemptNr>.
    for (const d of details) for (const r of d.eventRanges) expect(r.rangeId.startsWith(`${taskId}-${d.job.pandaId}-`)).toBe(true);

    // Each range ran in its own directory; its output is in the job's payload.stdout with a worker prefix.
    const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'))!;
    const jobDir = (pandaId: number, attemptNr = 1) => path.join(work, home, `PanDA_Pilot-${pandaId}${attemptNr > 1 ? `.${attemptNr}` : ''}`);
    const stdout = readFileSync(path.join(jobDir(a.job.pandaId), 'payload.stdout'), 'utf8');
    expect(stdout).toMatch(new RegExp(`^Worker \\d+: q0 in ${jobDir(a.job.pandaId)}/${taskId}-${a.job.pandaId}-1-1-1$`, 'm'));
    expect(readFileSync(path.join(jobDir(a.job.pandaId), 'payload.stderr'), 'utf8')).toMatch(/^Worker \d+: q1 first attempt fails$/m);
    expect(readFileSync(path.join(jobDir(aRetry.job.pandaId, aRetry.job.attemptNr), 'payload.stdout'), 'utf8')).toMatch(/^Worker \d+: q1 ok on retry$/m);

    const summary = await stubApi(`${stub.url}/stub/summary`);
    const reportCalls = summary.requests.byMethod[api === 'v1' ? 'event/update_event_ranges' : 'updateEventRanges'];
    expect(reportCalls).toBeGreaterThan(0);
    if (v1Broken) {
      // Every report was stored and answered 500: the pilot kept them on disk and named them, and the
      // jobs still ended as their ranges did.
      expect(aRetry.job.report.pilotErrorDiag).toMatch(/1 of 1 ranges done.*1 range report\(s\) not delivered, kept on disk: \d+-\d+-1-2-2/);
      const kept = JSON.parse(readFileSync(path.join(jobDir(a.job.pandaId), 'range-reports.json'), 'utf8'));
      expect(kept).toMatchObject({ kind: 'range-reports', dialect: 'v1', pandaId: a.job.pandaId, attemptNr: 1 });
      expect(kept.reports.map((r: any) => `${r.eventRangeID}:${r.eventStatus}`).sort()).toEqual(
        [1, 2, 3, 4].map((p) => `${taskId}-${a.job.pandaId}-1-${p}-1:${p === 2 ? 'failed' : 'finished'}`),
      );
      expect(logEvents(work, 'range_reports_kept').length).toBe(4);
    } else {
      // Range results went in bulk: far fewer range report calls than ranges.
      expect(reportCalls).toBeLessThan(16);
      expect(aRetry.job.report.pilotErrorDiag ?? '').toBe('');
      expect(existsSync(path.join(jobDir(a.job.pandaId), 'range-reports.json'))).toBe(false);
    }
    const odd = logEvents(work, 'range_report_reply_odd');
    if (api === 'legacy' && quirk === 'es-extra-returns') {
      // Logged once per job, with the reply.
      expect(odd.length).toBe(4);
      expect(odd[0]!.note).toMatch(/entries for \d+ reports: the first \d+ used/);
      expect(odd[0]!.returns.at(-1)).toBe(false);
      expect(new Set(odd.map((e) => e.pandaId)).size).toBe(4);
    } else {
      expect(odd).toEqual([]);
    }
  });
});
