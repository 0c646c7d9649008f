/** The stub's event-range calls over HTTP, in both dialects, with the real server's reply shapes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, postForm, postJson, startTestStub, submitTasks } from '../support/stub-harness.js';

type Stub = Awaited<ReturnType<typeof startTestStub>>;
const esTask = { name: 'isr', site: 'ES_SITE', cores: 2, eventService: true, rangesPerJob: 3, rangeAttempts: 2, command: 'echo {index}', count: 4 };

describe('stub event ranges', () => {
  let stub: Stub;
  beforeEach(async () => {
    stub = await startTestStub();
  });
  afterEach(async () => stub.stop());

  async function dispatchLegacy(): Promise<Record<string, unknown>> {
    const r = await postForm(`${stub.url}/server/panda/getJob`, { siteName: 'ES_SITE' }, { accept: 'application/json' });
    return JSON.parse(r.text);
  }

  it('legacy: ranges only for a dispatched job, real IDs, Returns/Command as JSON text, a failure not offered again', async () => {
    const [task] = await submitTasks(stub.url, esTask);
    expect(task!.pandaIds).toHaveLength(2); // 4 payloads, 3 per job
    const [first] = task!.pandaIds;
    const ask = () =>
      postForm(`${stub.url}/server/panda/getEventRanges`, { pandaID: first!, jobsetID: task!.taskId, nRanges: 10 }, { accept: 'application/json' });
    // Not dispatched yet: no ranges.
    expect(JSON.parse((await ask()).text)).toEqual({ StatusCode: 0, eventRanges: [] });

    const job = await dispatchLegacy();
    expect(job).toMatchObject({ PandaID: first, eventService: 'True', inFiles: 'isr:eventservice_1^3', scopeIn: 'pseudo_dataset', coreCount: 2 });
    const { eventRanges } = JSON.parse((await ask()).text);
    expect(eventRanges.map((r: any) => r.eventRangeID)).toEqual([1, 2, 3].map((p) => `${task!.taskId}-${first}-1-${p}-1`));
    expect(eventRanges[0]).toEqual({
      eventRangeID: `${task!.taskId}-${first}-1-1-1`,
      startEvent: 1,
      lastEvent: 1,
      LFN: 'isr:eventservice_1',
      GUID: 'NULL',
      scope: 'pseudo_dataset',
    });
    expect(JSON.parse((await ask()).text).eventRanges).toEqual([]); // all handed out

    const ids = eventRanges.map((r: any) => r.eventRangeID as string);
    const report = [
      { eventRangeID: ids[0], eventStatus: 'finished', coreCount: 1, cpuConsumptionTime: 1 },
      { eventRangeID: ids[1], eventStatus: 'failed', errorCode: 3, errorDiag: 'exit 3' },
      { eventRangeID: ids[2], eventStatus: 'running' },
      { eventRangeID: 'not-a-range', eventStatus: 'finished' },
    ];
    const up = await postForm(
      `${stub.url}/server/panda/updateEventRanges`,
      { eventRanges: JSON.stringify(report), version: 0 },
      { accept: 'application/json' },
    );
    const body = JSON.parse(up.text);
    expect(typeof body.Returns).toBe('string');
    expect(JSON.parse(body.Returns)).toEqual([true, true, null, false]);
    expect(JSON.parse(body.Command)).toEqual({ [String(first)]: null });
    // As on the real servers, the failed range is not offered again within its job (its retry goes to the job's retry).
    expect(JSON.parse((await ask()).text).eventRanges).toEqual([]);

    const avail = await postForm(`${stub.url}/server/panda/checkEventsAvailability`, { pandaID: first!, jobsetID: task!.taskId });
    expect(JSON.parse(avail.text)).toEqual({ StatusCode: 0, nEventRanges: 1 }); // the other job's one range

    // softkill: the next range reply says so, and no more ranges are handed out.
    await postJson(`${stub.url}/stub/jobs/${first}/softkill`, {});
    const single = await postForm(
      `${stub.url}/server/panda/updateEventRange`,
      { eventRangeID: ids[2], eventStatus: 'finished' },
      { accept: 'application/json' },
    );
    expect(JSON.parse(single.text)).toEqual({ StatusCode: 0, Command: 'softkill' });
    const details = JSON.parse((await get(`${stub.url}/stub/jobs/${first}`)).text);
    expect(details.eventRanges.map((r: any) => `${r.rangeId}:${r.statusName}`)).toEqual([`${ids[0]}:finished`, `${ids[1]}:failed`, `${ids[2]}:finished`]);
    const summary = JSON.parse((await get(`${stub.url}/stub/summary`)).text);
    expect(summary.requests.byMethod).toMatchObject({ getJob: 1, getEventRanges: 4, updateEventRanges: 1, updateEventRange: 1, checkEventsAvailability: 1 });

    // The job ends failed (the pilot says 1224); its retry gets the failed range as attempt 2, under its own PandaID.
    const fin = await postForm(
      `${stub.url}/server/panda/updateJob`,
      { jobId: first!, state: 'failed', attemptNr: 1, pilotErrorCode: 1224 },
      { accept: 'application/json' },
    );
    expect(JSON.parse(fin.text)).toMatchObject({ StatusCode: 0 });
    const jobs = JSON.parse((await get(`${stub.url}/stub/jobs?task=${task!.taskId}`)).text).jobs;
    const retry = jobs.find((j: any) => j.retryOf === first);
    expect(retry).toMatchObject({ attemptNr: 2, state: 'activated' });
    const retried = JSON.parse((await get(`${stub.url}/stub/jobs/${retry.pandaId}`)).text);
    expect(retried.eventRanges.map((r: any) => `${r.rangeId}:${r.statusName}`)).toEqual([`${task!.taskId}-${retry.pandaId}-1-2-2:ready`]);
  });

  it('v1: acquire_event_ranges, update_event_ranges with Commands, typed parameters', async () => {
    const [task] = await submitTasks(stub.url, esTask);
    const job = JSON.parse((await postJson(`${stub.url}/api/v1/pilot/acquire_jobs`, { site_name: 'ES_SITE' })).text).data.jobs[0];
    expect(job.eventService).toBe('True');
    const acquired = JSON.parse(
      (await postJson(`${stub.url}/api/v1/event/acquire_event_ranges`, { job_id: job.PandaID, jobset_id: task!.taskId, n_ranges: 2 })).text,
    );
    expect(acquired.success).toBe(true);
    expect(acquired.data).toHaveLength(2);
    const reports = acquired.data.map((r: any) => ({ eventRangeID: r.eventRangeID, eventStatus: 'fatal', errorCode: 65 }));
    const up = JSON.parse((await postJson(`${stub.url}/api/v1/event/update_event_ranges`, { event_ranges: JSON.stringify(reports), version: 0 })).text);
    expect(up).toEqual({ success: true, message: '', data: { Returns: [true, true], Commands: { [String(job.PandaID)]: null } } });
    // Fatal ranges are not retried: only the third range is left.
    const left = await get(`${stub.url}/api/v1/event/get_available_event_range_count?job_id=${job.PandaID}&jobset_id=${task!.taskId}`);
    expect(JSON.parse(left.text)).toEqual({ success: true, message: '', data: 2 }); // this job's third + the other job's one
    const bad = JSON.parse((await postJson(`${stub.url}/api/v1/event/acquire_event_ranges`, { job_id: 'x', jobset_id: 1 })).text);
    expect(bad).toMatchObject({ success: false, message: expect.stringMatching(/^Type error: 'job_id'/) });
    const unknown = JSON.parse((await postJson(`${stub.url}/api/v1/event/update_event_ranges`, { event_ranges: '[]', zip: 1 })).text);
    expect(unknown).toMatchObject({ success: false, message: expect.stringMatching(/^Argument error/) });
  });

  it('--quirk es-extra-returns: legacy stores the ranges and answers one Returns entry too many; v1 is unchanged', async () => {
    await stub.stop();
    stub = await startTestStub(['es-extra-returns']);
    const [task] = await submitTasks(stub.url, esTask);
    const job = await dispatchLegacy();
    const pandaId = job.PandaID as number;
    const got = await postForm(
      `${stub.url}/server/panda/getEventRanges`,
      { pandaID: pandaId, jobsetID: task!.taskId, nRanges: 3 },
      { accept: 'application/json' },
    );
    const ids = JSON.parse(got.text).eventRanges.map((r: any) => r.eventRangeID as string);
    const report = ids.map((id: string) => ({ eventRangeID: id, eventStatus: 'finished' }));
    // Form-encoded, as pilot3 and this pilot send it: the reply is urlencoded with Returns as JSON text.
    const up = await postForm(`${stub.url}/server/panda/updateEventRanges`, { eventRanges: JSON.stringify(report), version: 0 });
    const reply = new URLSearchParams(up.text);
    expect(reply.get('StatusCode')).toBe('0');
    expect(JSON.parse(reply.get('Returns')!)).toEqual([true, true, true, false]);
    const details = JSON.parse((await get(`${stub.url}/stub/jobs/${pandaId}`)).text);
    expect(details.eventRanges.map((r: any) => r.statusName)).toEqual(['finished', 'finished', 'finished']); // stored all the same
  });

  it('--quirk es-v1-500: v1 update_event_ranges stores the ranges, then answers HTTP 500; legacy is unchanged', async () => {
    await stub.stop();
    stub = await startTestStub(['es-v1-500']);
    const [task] = await submitTasks(stub.url, esTask);
    const job = JSON.parse((await postJson(`${stub.url}/api/v1/pilot/acquire_jobs`, { site_name: 'ES_SITE' })).text).data.jobs[0];
    const acquired = JSON.parse(
      (await postJson(`${stub.url}/api/v1/event/acquire_event_ranges`, { job_id: job.PandaID, jobset_id: task!.taskId, n_ranges: 3 })).text,
    );
    const reports = acquired.data.map((r: any) => ({ eventRangeID: r.eventRangeID, eventStatus: 'finished' }));
    const up = await postJson(`${stub.url}/api/v1/event/update_event_ranges`, { event_ranges: JSON.stringify(reports), version: 0 });
    expect(up.status).toBe(500);
    expect(up.text).toMatch(/not JSON serializable/);
    const details = JSON.parse((await get(`${stub.url}/stub/jobs/${job.PandaID}`)).text);
    expect(details.eventRanges.map((r: any) => r.statusName)).toEqual(['finished', 'finished', 'finished']);
    // The same reports again through legacy: a repeat, taken.
    const legacy = await postForm(
      `${stub.url}/server/panda/updateEventRanges`,
      { eventRanges: JSON.stringify(reports), version: 0 },
      { accept: 'application/json' },
    );
    expect(JSON.parse(JSON.parse(legacy.text).Returns)).toEqual([true, true, true]);
  });
});
