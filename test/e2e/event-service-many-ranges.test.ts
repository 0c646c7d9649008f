/**
 * An event-service job of many quiet ranges (empty logs) ends and is
 * reported with its log tarball: tar 7.5 died of an unhandled zlib error
 * ("stream error") on a tree of many empty hard-linked files, which killed
 * the pilot (exit 1) while it reported the job.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

describe('an event-service job of 40 quiet ranges', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('es-many'));
  });
  afterAll(async () => stub?.stop());

  it('finishes and keeps its log tarball', async () => {
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: 'quiet',
      site: 'ES_MANY',
      cores: 2,
      eventService: true,
      rangesPerJob: 40,
      command: 'true',
      count: 40,
    });
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    const work = scratchDir('es-many-pilot');
    const run = await runPilotProcess(
      ['-q', 'ES_MANY', '--url', stub.url, '--api', 'v1', '-a', work, '--keep-job-dirs', '--getjob-wait', '0', '--es-report-delay', '0.2', '--quiet'],
      { timeoutMs: 90_000 },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const d = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
    expect(d.job.state).toBe('finished');
    const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'))!;
    const jobDir = path.join(work, home, `PanDA_Pilot-${pandaId}`);
    expect(readdirSync(jobDir).some((n) => n.endsWith('.log.tgz'))).toBe(true);
    expect(existsSync(path.join(jobDir, '.log-tarball'))).toBe(false);
  });
});
