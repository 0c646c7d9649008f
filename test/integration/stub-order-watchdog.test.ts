/** The stub's order rules and watchdog over real HTTP, in both dialects and in bulk. */
import { afterEach, describe, expect, it } from 'vitest';
import { startStub, type RunningStub } from '../../server-stub/src/index.js';
import { get, postForm, postJson, simpleTask, submitTasks, tempDir } from '../support/stub-harness.js';

let stub: RunningStub | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  await stub?.close();
  cleanup?.();
  stub = undefined;
});

async function start(watchdog?: { sentSec: number; heartbeatSec: number }) {
  const t = tempDir();
  cleanup = t.cleanup;
  stub = await startStub({ port: 0, dataDir: t.dir, watchdog: watchdog && { limits: watchdog, intervalSec: 0.1 } });
  return stub.url;
}
const getJob = async (url: string) => {
  const form = new URLSearchParams((await postForm(`${url}/server/panda/getJob`, { siteName: 'LOCAL_Rubin' })).text);
  return form.get('StatusCode') === '0' ? Number(form.get('PandaID')) : null;
};
const legacyUpdate = async (url: string, jobId: number, state: string, n: number | null, extra: Record<string, string | number> = {}) => {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (n !== null) headers['X-PanDA-Update-Seq'] = `${jobId}:1:${n}`;
  return JSON.parse((await postForm(`${url}/server/panda/updateJob`, { jobId, state, attemptNr: 1, ...extra }, headers)).text);
};
const attemptUpdate = async (url: string, jobId: number, state: string, attemptNr: number) => {
  const reply = await postForm(`${url}/server/panda/updateJob`, { jobId, state, attemptNr }, { accept: 'application/json' });
  return JSON.parse(reply.text) as { StatusCode: number; command?: string };
};
const details = async (url: string, id: number) => JSON.parse((await get(`${url}/stub/jobs/${id}`)).text);
const summary = async (url: string) => JSON.parse((await get(`${url}/stub/summary`)).text);
const until = async (what: () => Promise<boolean>, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('order rules over HTTP', () => {
  it('answers a resent update as a duplicate; an older sequence is not applied but answered as the server would, and shown', async () => {
    const url = await start();
    await submitTasks(url, simpleTask());
    const id = (await getJob(url))!;
    expect(await legacyUpdate(url, id, 'starting', 1)).toEqual({ StatusCode: 0, command: 'NULL' });
    expect(await legacyUpdate(url, id, 'running', 2, { timestamp: 't2' })).toEqual({ StatusCode: 0, command: 'NULL' });
    expect(await legacyUpdate(url, id, 'running', 2, { timestamp: 't2' })).toEqual({ StatusCode: 0, command: 'NULL' }); // resend
    expect(await legacyUpdate(url, id, 'running', 4, { timestamp: 't4' })).toMatchObject({ StatusCode: 0 });
    const lateReply = await postForm(
      `${url}/server/panda/updateJob`,
      { jobId: id, state: 'running', attemptNr: 1, timestamp: 't3' },
      { accept: 'application/json', 'X-PanDA-Update-Seq': `${id}:1:3` },
    );
    // The real server has no order rules: it answers a late heartbeat like any other. Only the stub's header tells.
    expect(JSON.parse(lateReply.text)).toEqual({ StatusCode: 0, command: 'NULL' });
    expect(lateReply.headers.get('x-panda-stub-violation')).toBe('sequence 3 is not newer than 4');
    const d = await details(url, id);
    expect(d.updates.map((u: any) => u.result)).toEqual(['applied', 'applied', 'duplicate', 'applied', 'refused']);
    expect(d.order_violations).toBe(1);
    expect(d.job.report.timestamp).toBe('t4'); // the late update was not applied
    expect(d.updates[4].orderViolation).toBe('sequence 3 is not newer than 4');
    expect(await summary(url)).toMatchObject({ order_violations: 1, updates: { byResult: { duplicate: 1, refused: 1 } } });
  });

  it('v1 update_jobs_bulk answers one envelope per job and checks each job against its own sequence', async () => {
    const url = await start();
    await submitTasks(url, simpleTask({ count: 2 }));
    const a = (await getJob(url))!;
    const b = (await getJob(url))!;
    const bulk = (list: unknown[], seqs: Record<string, string>) =>
      postJson(`${url}/api/v1/pilot/update_jobs_bulk`, { job_list: list }, { headers: { 'X-PanDA-Update-Seq-Bulk': JSON.stringify(seqs) } });
    const first = JSON.parse(
      (
        await bulk(
          [
            { job_id: a, job_status: 'running', attempt_nr: 1 },
            { job_id: b, job_status: 'running', attempt_nr: 1 },
          ],
          { [a]: `${a}:1:5`, [b]: `${b}:1:2` },
        )
      ).text,
    );
    expect(first).toEqual({
      success: true,
      message: '',
      data: [
        { success: true, message: '', data: { StatusCode: 0, command: 'NULL' } },
        { success: true, message: '', data: { StatusCode: 0, command: 'NULL' } },
      ],
    });
    // b's 3 is newer than b's 2 even though a is at 5; a's 4 is old.
    const secondReply = await bulk(
      [
        { job_id: a, job_status: 'running', attempt_nr: 1, max_rss: 1 },
        { job_id: b, job_status: 'finished', attempt_nr: 1 },
      ],
      { [a]: `${a}:1:4`, [b]: `${b}:1:3` },
    );
    const second = JSON.parse(secondReply.text);
    // a's old sequence: not applied, answered as the server answers, named in the header.
    expect(second.data[0]).toEqual({ success: true, message: '', data: { StatusCode: 0, command: 'NULL' } });
    expect(JSON.parse(secondReply.headers.get('x-panda-stub-violation') ?? '{}')).toEqual({ [a]: 'sequence 4 is not newer than 5' });
    expect(second.data[1]).toMatchObject({ success: true, data: { StatusCode: 0, command: 'NULL' } });
    expect((await details(url, b)).job.state).toBe('finished');
    expect((await details(url, a)).updates.map((u: any) => u.seqHeader)).toEqual([`${a}:1:5`, `${a}:1:4`]);
    const bad = JSON.parse((await postJson(`${url}/api/v1/pilot/update_jobs_bulk`, { job_list: [{ job_id: a, job_status: 'running', bogus: 1 }] })).text);
    expect(bad).toMatchObject({ success: false, message: expect.stringMatching(/unexpected keyword argument 'bogus'/), data: [] });
  });

  it('legacy updateJobsInBulk reads the per-job sequences from the bulk header', async () => {
    const url = await start();
    await submitTasks(url, simpleTask());
    const id = (await getJob(url))!;
    const send = (n: number) =>
      postForm(
        `${url}/server/panda/updateJobsInBulk`,
        { jobList: JSON.stringify([{ jobId: id, state: 'running', attemptNr: 1, timestamp: `t${n}` }]) },
        {
          accept: 'application/json',
          'X-PanDA-Update-Seq-Bulk': JSON.stringify({ [id]: `${id}:1:${n}` }),
        },
      );
    expect(JSON.parse((await send(2)).text)).toEqual([true, [{ StatusCode: 0, command: 'NULL' }]]);
    const late = await send(1);
    expect(JSON.parse(late.text)).toEqual([true, [{ StatusCode: 0, command: 'NULL' }]]);
    expect(JSON.parse(late.headers.get('x-panda-stub-violation') ?? '{}')).toEqual({ [id]: 'sequence 1 is not newer than 2' });
    expect((await details(url, id)).updates.map((u: any) => [u.seqHeader, u.result])).toEqual([
      [`${id}:1:2`, 'applied'],
      [`${id}:1:1`, 'refused'],
    ]);
  });
});

describe('watchdog', () => {
  it('fails a sent job nobody answered with 102 and retries it; a lost heartbeat with 100', async () => {
    const url = await start({ sentSec: 0.4, heartbeatSec: 0.6 });
    const [task] = await submitTasks(url, simpleTask({ maxAttempts: 2 }));
    const first = (await getJob(url))!;
    await until(async () => (await details(url, first)).job.state === 'failed');
    const d1 = await details(url, first);
    expect(d1.job).toMatchObject({ serverErrorCode: 102 });
    expect(d1.history.at(-1).reason).toMatch(/retry decision: retry/);

    const second = (await getJob(url))!;
    expect(second).not.toBe(first);
    expect((await attemptUpdate(url, second, 'starting', 2)).command).toBe('NULL');
    // Heartbeats keep it alive past the limit …
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await attemptUpdate(url, second, 'running', 2);
    }
    expect((await details(url, second)).job.state).toBe('running');
    // … and their absence does not.
    await until(async () => (await details(url, second)).job.state === 'failed');
    const d2 = await details(url, second);
    expect(d2.job).toMatchObject({ serverErrorCode: 100, serverErrorDiag: expect.stringMatching(/^lost heartbeat/) });
    expect(d2.history.at(-1).reason).toMatch(/attempt 2 of 2 used/);
    // The pilot that comes back late is told the job is over.
    expect((await attemptUpdate(url, second, 'running', 2)).command).toBe('alreadydone');
    expect((await summary(url)).tasks).toEqual({ failed: 1 });
    expect(task).toBeDefined();
  });
});
