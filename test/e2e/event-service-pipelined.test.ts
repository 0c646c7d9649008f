/**
 * Pipelined dispatch for event service: a slot asks for its next job as soon
 * as its event-service job took its last range, not when the job ends, and
 * asks only for what that job's last ranges leave free. The real stub, the
 * bundled pilot, real range payloads; the last range waits for a file the
 * test creates only after it saw the next job dispatched.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { stubJob, submitJobs, taskFile } from '../support/wrapper.js';

const waitFor = async (what: string, cond: () => Promise<boolean>, ms = 60_000) => {
  for (let t = 0; t < ms; t += 100) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting ${ms / 1000} s for ${what}`);
};

describe('event service: pipelined dispatch', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('es-tail-stub'));
  });
  afterAll(async () => stub?.stop());

  it('the next job is asked for while the last range still runs, with the cores and memory the finished ranges freed', async () => {
    const site = 'ES_TAIL';
    const go = path.join(scratchDir('es-tail-go'), 'go');
    const es = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: 'es_tail',
      site,
      cores: 2,
      memoryMB: 1000,
      maxAttempts: 1,
      eventService: true,
      rangesPerJob: 2,
      jobs: [
        { name: 'quick', command: 'echo quick' },
        { name: 'last', command: `while [ ! -e ${go} ]; do sleep 0.05; done; echo last` },
      ],
    });
    const [esId] = es.tasks[0].pandaIds as number[];
    // One core, 1500 MB: only what the quick range gave back (1 of 2 cores, 500 of 1000 MB) makes room for it in
    // 2 cores and 2000 MB; the server sends it only to a request whose `mem` says so.
    const [nextId] = await submitJobs(stub.url, taskFile(site, ['echo next job'], { memoryMB: 1500 }));
    const run = runPilotProcess(
      [
        '-q',
        site,
        '--url',
        stub.url,
        '-a',
        scratchDir('es-tail-work'),
        '--slots',
        '1',
        '--cores',
        '2',
        '--mem',
        '2000',
        '--getjob-wait',
        '0',
        '--es-report-delay',
        '0.2',
        '--quiet',
      ],
      { timeoutMs: 120_000 },
    );
    try {
      await waitFor('the next job to be dispatched', async () => (await stubJob(stub.url, nextId!)).job.state !== 'activated');
      // It went out while the event-service job still ran its last range (which cannot end before `go` exists;
      // the server may not have the quick range's report yet: reports are batched).
      expect((await stubJob(stub.url, esId!)).job.state).toBe('running');
    } finally {
      writeFileSync(go, '');
    }
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    const esEnd = await stubJob(stub.url, esId!);
    expect(esEnd.job.state).toBe('finished');
    expect(esEnd.eventRanges.map((r: any) => r.statusName)).toEqual(['finished', 'finished']);
    expect((await stubJob(stub.url, nextId!)).job.state).toBe('finished');
  }, 150_000);
});
