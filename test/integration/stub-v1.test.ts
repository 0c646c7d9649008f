/** The v1 dialect over real HTTP against an in-process stub. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, postForm, postJson, simpleTask, startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
let stub: Stub;
const v1 = (endpoint: string, version = 'v1') => `${stub.url}/api/${version}/${endpoint}`;
const envelope = (text: string) => JSON.parse(text) as { success: boolean; message: string; data: any };

beforeEach(async () => {
  stub = await startTestStub();
});
afterEach(async () => {
  await stub.stop();
});

describe('v1 system and acquire_jobs', () => {
  it('is_alive answers success without a body, also under /api/latest', async () => {
    for (const version of ['v1', 'latest']) {
      const reply = await get(v1('system/is_alive', version));
      expect(reply.status).toBe(200);
      expect(envelope(reply.text)).toEqual({ success: true, message: '', data: null });
    }
  });

  it('no job → success:false "No jobs in PanDA"', async () => {
    const reply = await postJson(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin' });
    expect(envelope(reply.text)).toEqual({ success: false, message: 'No jobs in PanDA', data: null });
  });

  it('data {StatusCode:0, jobs:[…]} with JSON numbers where the fixture has them', async () => {
    await submitTasks(stub.url, simpleTask({ count: 3, memoryMB: 3000 }));
    const reply = await postJson(v1('pilot/acquire_jobs', 'latest'), { site_name: 'LOCAL_Rubin', n_jobs: 2, memory: 4000 }, { gzip: true });
    const body = envelope(reply.text);
    expect(body.success).toBe(true);
    expect(body.data.StatusCode).toBe(0);
    expect(body.data.jobs).toHaveLength(2);
    expect(body.data.jobs[0]).toMatchObject({ PandaID: 1000001, attemptNr: 1, minRamCount: 3000, resource_type: 'U4G', coreCount: 1 });
  });

  it('filters by the memory the pilot offers', async () => {
    await submitTasks(stub.url, simpleTask({ memoryMB: 8000 }));
    expect(envelope((await postJson(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin', memory: 4000 })).text).success).toBe(false);
    expect(envelope((await postJson(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin', memory: '8000' })).text).success).toBe(true);
  });

  it('refuses unknown parameters with "Argument error" (HTTP 200)', async () => {
    const reply = await postJson(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin', siteName: 'LOCAL_Rubin' });
    expect(reply.status).toBe(200);
    const body = envelope(reply.text);
    expect(body.success).toBe(false);
    expect(body.message).toMatch(/^Argument error/);
  });

  it('refuses a body that is not exactly application/json', async () => {
    const reply = await postForm(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin' });
    expect(envelope(reply.text)).toMatchObject({ success: false, message: expect.stringMatching(/application\/json/) });
  });

  it('refuses a wrong HTTP method and answers 403 for unknown endpoints', async () => {
    expect(envelope((await get(v1('pilot/acquire_jobs'))).text).message).toBe('expecting POST, received GET');
    expect((await postJson(v1('pilot/drop_everything'), {})).status).toBe(403);
  });
});

describe('v1 update_job', () => {
  async function acquire(): Promise<number> {
    await submitTasks(stub.url, simpleTask());
    const body = envelope((await postJson(v1('pilot/acquire_jobs'), { site_name: 'LOCAL_Rubin' })).text);
    return body.data.jobs[0].PandaID as number;
  }

  it('replies data {StatusCode:0, command}', async () => {
    const id = await acquire();
    const reply = await postJson(v1('pilot/update_job'), { job_id: id, job_status: 'running', attempt_nr: 1 });
    expect(envelope(reply.text)).toEqual({ success: true, message: '', data: { StatusCode: 0, command: 'NULL' } });
  });

  it('accepts numeric strings, refuses non-numeric values for integer fields', async () => {
    const id = await acquire();
    expect(envelope((await postJson(v1('pilot/update_job'), { job_id: String(id), job_status: 'running', attempt_nr: '1' })).text).success).toBe(true);
    const bad = envelope((await postJson(v1('pilot/update_job'), { job_id: id, job_status: 'running', pilot_error_code: 'oops' })).text);
    expect(bad).toMatchObject({ success: false, message: expect.stringMatching(/^Type error: 'pilot_error_code'/) });
  });

  it('refuses legacy names and invalid states', async () => {
    const id = await acquire();
    expect(envelope((await postJson(v1('pilot/update_job'), { jobId: id, state: 'running' })).text).message).toMatch(/^Argument error/);
    const invalid = envelope((await postJson(v1('pilot/update_job'), { job_id: id, job_status: 'sent' })).text);
    expect(invalid).toEqual({ success: false, message: 'Invalid job status: sent', data: { StatusCode: 50 } });
  });

  it('applies the guards the same way as the legacy dialect', async () => {
    const id = await acquire();
    const send = async (body: Record<string, unknown>) => envelope((await postJson(v1('pilot/update_job'), body)).text).data.command as string;
    expect(await send({ job_id: id, job_status: 'running', attempt_nr: 7 })).toBe('tobekilled');
    expect(await send({ job_id: id, job_status: 'failed', attempt_nr: 1, pilot_error_code: 1305 })).toBe('NULL');
    expect(await send({ job_id: id, job_status: 'running', attempt_nr: 1 })).toBe('alreadydone');
  });

  it('get_job_status lists state and attempt per id', async () => {
    const id = await acquire();
    const reply = await get(`${v1('pilot/get_job_status')}?job_ids=${id}&job_ids=5`);
    expect(envelope(reply.text).data).toEqual([
      { job_id: id, status: 'sent', attempt_number: 1 },
      { job_id: 5, status: 'unknown', attempt_number: 0 },
    ]);
  });
});
