/** The legacy dialect over real HTTP against an in-process stub. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, postForm, postJson, simpleTask, startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
let stub: Stub;
const legacy = (method: string) => `${stub.url}/server/panda/${method}`;

beforeEach(async () => {
  stub = await startTestStub();
});
afterEach(async () => {
  await stub.stop();
});

describe('legacy getJob', () => {
  it('answers StatusCode=20 when there is no job, with errorDialog in JSON', async () => {
    const plain = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin' });
    expect(plain.status).toBe(200);
    expect(plain.text).toBe('StatusCode=20');
    const json = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin' }, { accept: 'application/json' });
    expect(JSON.parse(json.text)).toEqual({ StatusCode: 20, errorDialog: 'no jobs in PanDA' });
  });

  it('without nJobs: one flat urlencoded job with StatusCode=0 and the command base64 in jobPars', async () => {
    const [task] = await submitTasks(stub.url, simpleTask({ command: 'echo hello {index}' }));
    const reply = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin', mem: 4000, node: 'wn1' });
    const job = Object.fromEntries(new URLSearchParams(reply.text));
    expect(job.StatusCode).toBe('0');
    expect(job.PandaID).toBe(String(task?.pandaIds[0]));
    expect(job.taskID).toBe(String(task?.taskId));
    expect(Buffer.from(job.jobPars ?? '', 'base64').toString()).toBe('echo hello 0');
    expect(job.logFile).toBe(`${job.jobName}.log.tgz`);
  });

  it('with nJobs: {StatusCode:0, jobs:[…]}, jobs as JSON text in urlencoded replies', async () => {
    await submitTasks(stub.url, simpleTask({ count: 3 }));
    const reply = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin', nJobs: 2 });
    const form = new URLSearchParams(reply.text);
    expect(form.get('StatusCode')).toBe('0');
    const jobs = JSON.parse(form.get('jobs') ?? '') as { PandaID: number }[];
    expect(jobs.map((j) => j.PandaID)).toEqual([1000001, 1000002]);
    const asJson = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin', nJobs: 5 }, { accept: 'application/json' });
    expect((JSON.parse(asJson.text) as { jobs: { PandaID: number }[] }).jobs.map((j) => j.PandaID)).toEqual([1000003]);
  });

  it('takes pilot3-style gzip JSON bodies with string or number values', async () => {
    await submitTasks(stub.url, simpleTask({ count: 2 }));
    const a = await postJson(legacy('getJob'), { siteName: 'LOCAL_Rubin', mem: '2000', nJobs: 1 }, { gzip: true });
    const b = await postJson(legacy('getJob'), { siteName: 'LOCAL_Rubin', mem: 2000 });
    expect(new URLSearchParams(a.text).get('StatusCode')).toBe('0');
    expect(new URLSearchParams(b.text).get('PandaID')).toBe('1000002');
  });

  it('refuses an unknown parameter with HTTP 500, as the real server does', async () => {
    const reply = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin', site_name: 'LOCAL_Rubin' });
    expect(reply.status).toBe(500);
    expect(reply.text).toMatch(/unexpected keyword argument 'site_name'/);
  });

  it('refuses a missing siteName with HTTP 500', async () => {
    const reply = await postForm(legacy('getJob'), { mem: 1000 });
    expect(reply.status).toBe(500);
    expect(reply.text).toMatch(/missing 1 required positional argument: 'siteName'/);
  });

  it('answers 403 for a method the server does not have', async () => {
    expect((await postForm(legacy('dropTables'), {})).status).toBe(403);
  });
});

describe('legacy updateJob', () => {
  async function dispatchOne(): Promise<number> {
    await submitTasks(stub.url, simpleTask());
    const reply = await postForm(legacy('getJob'), { siteName: 'LOCAL_Rubin' });
    return Number(new URLSearchParams(reply.text).get('PandaID'));
  }

  it('replies StatusCode and command, urlencoded or JSON', async () => {
    const id = await dispatchOne();
    const plain = await postForm(legacy('updateJob'), { jobId: id, state: 'starting', attemptNr: 1 });
    expect(plain.text).toBe('StatusCode=0&command=NULL');
    const json = await postJson(legacy('updateJob'), { jobId: id, state: 'running', attemptNr: 1 }, { gzip: true, headers: { accept: 'application/json' } });
    expect(JSON.parse(json.text)).toEqual({ StatusCode: 0, command: 'NULL' });
  });

  it('applies the guards: tobekilled on a wrong attemptNr, alreadydone on a second final', async () => {
    const id = await dispatchOne();
    expect((await postForm(legacy('updateJob'), { jobId: id, state: 'running', attemptNr: 2 })).text).toBe('StatusCode=0&command=tobekilled');
    expect((await postForm(legacy('updateJob'), { jobId: id, state: 'finished', attemptNr: 1 })).text).toBe('StatusCode=0&command=NULL');
    expect((await postForm(legacy('updateJob'), { jobId: id, state: 'finished', attemptNr: 1 })).text).toBe('StatusCode=0&command=alreadydone');
    expect((await postForm(legacy('updateJob'), { jobId: 999, state: 'running' })).text).toBe('StatusCode=0&command=tobekilled');
  });

  it('refuses unknown names (HTTP 500) and a non-integer jobId (HTTP 500)', async () => {
    const id = await dispatchOne();
    const unknown = await postForm(legacy('updateJob'), { jobId: id, state: 'running', job_status: 'running' });
    expect(unknown.status).toBe(500);
    expect(unknown.text).toMatch(/unexpected keyword argument 'job_status'/);
    expect((await postForm(legacy('updateJob'), { jobId: 'abc', state: 'running' })).status).toBe(500);
  });

  it('acknowledges an invalid state without a command and without changing the job', async () => {
    const id = await dispatchOne();
    expect((await postForm(legacy('updateJob'), { jobId: id, state: 'activated' })).text).toBe('StatusCode=0');
    const details = JSON.parse((await get(`${stub.url}/stub/jobs/${id}`)).text) as { job: { state: string } };
    expect(details.job.state).toBe('sent');
  });

  it('updateJobsInBulk answers [true, [replies]] and getStatus the states', async () => {
    const id = await dispatchOne();
    const bulk = await postForm(legacy('updateJobsInBulk'), {
      jobList: JSON.stringify([
        { jobId: id, state: 'running', attemptNr: 1 },
        { jobId: 42, state: 'running' },
      ]),
    });
    expect(JSON.parse(bulk.text)).toEqual([true, ['StatusCode=0&command=NULL', 'StatusCode=0&command=tobekilled']]);
    const status = await postForm(legacy('getStatus'), { ids: `${id} 42` });
    const form = new URLSearchParams(status.text);
    expect(form.get('status')).toBe('running+notfound');
    expect(form.get('attemptNr')).toBe('1+0');
  });
});
