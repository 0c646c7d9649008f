/** Tasks, dependencies, retries, kills and the management API, over real HTTP. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, postForm, postJson, simpleTask, startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
let stub: Stub;

beforeEach(async () => {
  stub = await startTestStub();
});
afterEach(async () => {
  await stub.stop();
});

const getJob = async (extra: Record<string, string | number> = {}) => {
  const reply = await postForm(`${stub.url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin', ...extra });
  const form = new URLSearchParams(reply.text);
  return form.get('StatusCode') === '0' ? Number(form.get('PandaID')) : null;
};
const update = async (jobId: number, state: string, extra: Record<string, string | number> = {}, headers: Record<string, string> = {}) =>
  new URLSearchParams((await postForm(`${stub.url}/server/panda/updateJob`, { jobId, state, ...extra }, headers)).text).get('command');
const details = async (id: number) => JSON.parse((await get(`${stub.url}/stub/jobs/${id}`)).text);
const jobs = async (taskId?: number) => (JSON.parse((await get(`${stub.url}/stub/jobs${taskId ? `?task=${taskId}` : ''}`)).text) as { jobs: any[] }).jobs;

describe('management API', () => {
  it('refuses an invalid task file with every error named', async () => {
    const reply = await postJson(`${stub.url}/stub/tasks`, { name: 't', jobs: [{ name: 'a' }] });
    expect(reply.status).toBe(400);
    const body = JSON.parse(reply.text) as { errors: string[] };
    expect(body.errors).toEqual(expect.arrayContaining([expect.stringMatching(/^site: /), expect.stringMatching(/^jobs\[0\]\.command: /)]));
  });

  it('records every update with time, dialect, params, seq header and result; stores reported fields camelCase', async () => {
    await submitTasks(stub.url, simpleTask());
    const id = (await getJob({ node: 'wn1' }))!;
    await update(id, 'starting', { attemptNr: 1, pilotID: 'p-1', batchID: '77', node: 'wn1' }, { 'X-PanDA-Update-Seq': `${id}:1:1` });
    await postJson(
      `${stub.url}/api/v1/pilot/update_job`,
      { job_id: id, job_status: 'running', attempt_nr: 1, max_rss: 2048, cpu_consumption_time: 3 },
      {
        headers: { 'X-PanDA-Update-Seq': `${id}:1:2` },
      },
    );
    await update(
      id,
      'finished',
      {
        attemptNr: 1,
        transExitCode: 0,
        pilotErrorCode: 0,
        exeErrorCode: 0,
        cpuConsumptionTime: 4,
        startTime: '2026-01-01 10:00:00',
        endTime: '2026-01-01 10:00:05',
        jobMetrics: 'coreCount=1 nEvents=0',
        maxRSS: 4096,
      },
      { 'X-PanDA-Update-Seq': `${id}:1:3` },
    );
    await update(id, 'running', { attemptNr: 1 });

    const d = await details(id);
    expect(d.job).toMatchObject({ state: 'finished', finalReported: true, pilotFinalState: 'finished', dispatchNode: 'wn1' });
    expect(d.job.report).toMatchObject({
      pilotID: 'p-1',
      batchID: '77',
      node: 'wn1',
      maxRSS: 4096,
      cpuConsumptionTime: 4,
      transExitCode: 0,
      startTime: '2026-01-01 10:00:00',
      jobMetrics: 'coreCount=1 nEvents=0',
    });
    expect(d.updates.map((u: any) => [u.dialect, u.seqHeader, u.result, u.command])).toEqual([
      ['legacy', `${id}:1:1`, 'applied', 'NULL'],
      ['v1', `${id}:1:2`, 'applied', 'NULL'],
      ['legacy', `${id}:1:3`, 'applied', 'NULL'],
      // A heartbeat after the final update is refused by the order rules (no sequence needed for that).
      ['legacy', null, 'refused', 'NULL'],
    ]);
    expect(d.updates[3].orderViolation).toBe('running after the final update (finished)');
    expect(d.order_violations).toBe(1);
    expect(d.updates[1].params).toEqual({ job_id: id, job_status: 'running', attempt_nr: 1, max_rss: 2048, cpu_consumption_time: 3 });
    expect(d.updates[0].receivedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(d.history.map((h: any) => h.to)).toEqual(['activated', 'sent', 'starting', 'running', 'holding', 'finished']);

    const summary = JSON.parse((await get(`${stub.url}/stub/summary`)).text);
    expect(summary).toMatchObject({ jobs: { finished: 1 }, order_violations: 1, updates: { total: 4, byDialect: { legacy: 3, v1: 1 } } });
  });
});

describe('retries', () => {
  it('a failed job gets a new attempt (new PandaID, same jobset) until maxAttempts', async () => {
    const [task] = await submitTasks(stub.url, simpleTask({ maxAttempts: 2 }));
    const first = (await getJob())!;
    await update(first, 'failed', { attemptNr: 1, pilotErrorCode: 1305, pilotErrorDiag: 'exit 3' });
    const second = (await getJob())!;
    expect(second).toBeGreaterThan(first);
    const list = await jobs(task!.taskId);
    expect(list.map((j) => [j.pandaId, j.attemptNr, j.state, j.jobsetId, j.retryOf])).toEqual([
      [first, 1, 'failed', task!.taskId, null],
      [second, 2, 'sent', task!.taskId, first],
    ]);
    await update(second, 'failed', { attemptNr: 2, pilotErrorCode: 1305 });
    expect(await getJob()).toBeNull();
  });

  it('a PANDAKILL failure is not retried', async () => {
    await submitTasks(stub.url, simpleTask({ maxAttempts: 3 }));
    await update((await getJob())!, 'failed', { attemptNr: 1, pilotErrorCode: 1144 });
    expect(await getJob()).toBeNull();
  });
});

describe('kill', () => {
  it('a running job gets tobekilled on its next update and ends failed, not retried', async () => {
    await submitTasks(stub.url, simpleTask({ maxAttempts: 3 }));
    const id = (await getJob())!;
    await update(id, 'running', { attemptNr: 1 });
    const kill = JSON.parse((await postJson(`${stub.url}/stub/jobs/${id}/kill`, {})).text);
    expect(kill).toMatchObject({ action: 'tobekilled' });
    expect(await update(id, 'running', { attemptNr: 1 })).toBe('tobekilled');
    await update(id, 'finished', { attemptNr: 1 });
    const d = await details(id);
    expect(d.job).toMatchObject({ state: 'failed', serverErrorCode: 100 });
    expect(await getJob()).toBeNull();
  });

  it('a job never dispatched is cancelled at once', async () => {
    const [task] = await submitTasks(stub.url, simpleTask());
    const kill = JSON.parse((await postJson(`${stub.url}/stub/jobs/${task!.pandaIds[0]}/kill`, {})).text);
    expect(kill).toMatchObject({ action: 'cancelled', state: 'cancelled' });
    expect(await getJob()).toBeNull();
    expect((await postJson(`${stub.url}/stub/jobs/999/kill`, {})).status).toBe(404);
  });
});

describe('workflow dependencies', () => {
  const workflow = {
    workflow: 'wf',
    tasks: [
      { name: 'init', site: 'LOCAL_Rubin', command: 'echo init' },
      { name: 'work', site: 'LOCAL_Rubin', command: 'echo {index}', count: 2, after: ['init'] },
      { name: 'final', site: 'LOCAL_Rubin', command: 'echo final', after: ['work'] },
    ],
  };

  it('keeps dependants defined until their dependencies finished, then activates them', async () => {
    const [init, work, final] = await submitTasks(stub.url, workflow);
    expect((await jobs(work!.taskId)).map((j) => j.state)).toEqual(['defined', 'defined']);
    const a = (await getJob())!;
    expect(a).toBe(init!.pandaIds[0]);
    expect(await getJob()).toBeNull();
    await update(a, 'finished');
    const w1 = (await getJob())!;
    const w2 = (await getJob())!;
    expect([w1, w2].sort()).toEqual(work!.pandaIds);
    await update(w1, 'finished');
    expect((await jobs(final!.taskId))[0].state).toBe('defined');
    await update(w2, 'finished');
    expect(await getJob()).toBe(final!.pandaIds[0]);
    const tasks = JSON.parse((await get(`${stub.url}/stub/tasks`)).text).tasks;
    expect(tasks.map((t: any) => t.status)).toEqual(['done', 'done', 'running']);
  });

  it('cancels dependants, transitively, when a dependency fails for good', async () => {
    const [, work, final] = await submitTasks(stub.url, workflow);
    await update((await getJob())!, 'failed', { pilotErrorCode: 1305 });
    expect((await jobs(work!.taskId)).map((j) => j.state)).toEqual(['cancelled', 'cancelled']);
    expect((await jobs(final!.taskId)).map((j) => j.state)).toEqual(['cancelled']);
    expect(await getJob()).toBeNull();
  });

  it('releases the dependants of a workflow submitted after jobs of an earlier one were finalised', async () => {
    // The dependants are cached from the first finalisation on: a later submission must show up in them.
    const [init1, work1] = await submitTasks(stub.url, workflow);
    const a = (await getJob())!;
    expect(a).toBe(init1!.pandaIds[0]);
    await update(a, 'finished');
    expect((await jobs(work1!.taskId)).map((j) => j.state)).toEqual(['activated', 'activated']);
    for (const id of work1!.pandaIds) {
      expect(await getJob()).toBe(id);
      await update(id, 'finished');
    }
    const [init2, work2, final2] = await submitTasks(stub.url, { ...workflow, workflow: 'wf2' });
    const final1 = (await getJob())!;
    expect(final1).not.toBe(init2!.pandaIds[0]);
    await update(final1, 'finished');
    expect(await getJob()).toBe(init2!.pandaIds[0]);
    expect((await jobs(work2!.taskId)).map((j) => j.state)).toEqual(['defined', 'defined']);
    await update(init2!.pandaIds[0]!, 'finished');
    expect((await jobs(work2!.taskId)).map((j) => j.state)).toEqual(['activated', 'activated']);
    expect((await jobs(final2!.taskId)).map((j) => j.state)).toEqual(['defined']);
    // Both steps of a final report are in the history, holding first, at the same time.
    const history = (await details(init2!.pandaIds[0]!)).history as { at: string; from: string; to: string }[];
    expect(history.slice(-2).map((h) => `${h.from}>${h.to}`)).toEqual(['sent>holding', 'holding>finished']);
  });

  it('finalises a job that reported holding before its final report, holding recorded once', async () => {
    await submitTasks(stub.url, simpleTask());
    const id = (await getJob())!;
    await update(id, 'running');
    await update(id, 'holding');
    await update(id, 'finished');
    const d = await details(id);
    expect(d.job.state).toBe('finished');
    expect(d.history.map((h: { to: string }) => h.to)).toEqual(['activated', 'sent', 'running', 'holding', 'finished']);
  });
});

describe('atomic dispatch', () => {
  it('concurrent getJob calls never get the same job', async () => {
    await submitTasks(stub.url, simpleTask({ count: 30 }));
    const got = await Promise.all(Array.from({ length: 40 }, () => getJob()));
    const ids = got.filter((x): x is number => x !== null);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });
});
