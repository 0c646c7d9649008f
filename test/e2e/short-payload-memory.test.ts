/**
 * A payload that touches 100 MB and ends within ~100 ms, before the monitor's
 * sampling has caught it at its peak, still reports its memory: the final
 * update's maxRSS/maxPSS come from its own cgroup's peak, which the kernel
 * keeps exactly (the CI failure this guards against: a boosted retry whose
 * final update carried no maxRSS at all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { cgroupAvailability } from '../support/cgroups.js';

const { parent, skipReason } = cgroupAvailability();
if (skipReason) console.warn(`short-payload memory e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`a short payload's memory (cgroup v${parent?.version ?? '?'})`, () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('shortmem-stub'));
  });
  afterAll(async () => stub?.stop());

  it.each(['legacy', 'v1'] as const)('%s dialect: maxRSS ≥ 100 MB for a 100 MB payload that ends at once', async (api) => {
    const site = `SHORTMEM_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: `shortmem_${api}`,
      site,
      memoryMB: 400,
      // dd fills its 100 MB block buffer from /dev/zero once: 100 MB of touched anonymous memory, then exits.
      jobs: [{ name: 'brief', command: 'dd if=/dev/zero of=/dev/null bs=100M count=1 status=none' }],
    });
    const taskId = submitted.tasks[0].taskId as number;
    const run = await runPilotProcess(
      ['-q', site, '--url', stub.url, '--api', api, '-a', scratchDir('shortmem-pilot'), '--getjob-wait', '2', '--getjob-poll', '0.3', '--quiet'],
      { timeoutMs: 180_000 }, // generous: these also run in the emulated cgroup v2 guest (test/vm/)
    );
    expect(run.code, run.stderr).toBe(0);
    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(jobs).toHaveLength(1);
    const report = jobs[0].report;
    expect(jobs[0].state).toBe('finished');
    const wallMs = Date.parse(String(report.endTime).replace(' ', 'T') + 'Z') - Date.parse(String(report.startTime).replace(' ', 'T') + 'Z');
    expect(wallMs).toBeLessThan(60_000);
    // dd's buffer is 100 MiB; the figure must show at least the 100 MB (100,000 kB): the kernel's
    // count of the pages dd touched came to 101,204 kB once, a little under 100 MiB.
    expect(Number(report.maxRSS)).toBeGreaterThanOrEqual(100_000);
    expect(Number(report.maxPSS)).toBeGreaterThanOrEqual(100_000);
  });
});
