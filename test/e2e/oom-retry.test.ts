/**
 * The memory story end to end, with a real kernel OOM kill: a job whose
 * payload allocates past its memory is killed inside its cgroup, the stub
 * receives 1212 with the kernel's own message, retries it with boosted
 * memory, and the retry finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pilotCommandLine, QUICK_PILOT, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';
import { cgroupAvailability } from '../support/cgroups.js';
import { bothAttempts, submitHungryTask } from '../support/memory-retry.js';

const { parent, skipReason } = cgroupAvailability();
if (skipReason) console.warn(`OOM retry e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`out of memory → 1212 → boosted retry (cgroup v${parent?.version ?? '?'})`, () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('oom-stub'));
  });
  afterAll(async () => stub?.stop());

  it.each(['legacy', 'v1'] as const)('%s dialect', async (api) => {
    const site = `OOM_${api}`;
    // dd's 200 MB block buffer is real, touched memory (anon RSS), with nothing but coreutils.
    const taskId = await submitHungryTask(stub.url, `oom_${api}`, site, 'echo allocating; dd if=/dev/zero of=/dev/null bs=200M count=1 && echo survived');
    const flags = { ...QUICK_PILOT, api, 'monitor-interval': 0.2 };
    // Generous: these also run in the emulated cgroup v2 guest (test/vm/).
    const run = await runPilotProcess(pilotCommandLine(site, stub.url, scratchDir('oom-pilot'), flags), { timeoutMs: 180_000 });
    expect(run.code, run.stderr).toBe(0);

    const [first, second] = await bothAttempts(stub.url, taskId);

    expect(first.state).toBe('failed');
    expect(Number(first.report.pilotErrorCode)).toBe(1212);
    expect(first.report.pilotErrorDiag).toMatch(/^Memory cgroup out of memory: Killed process \d+ \(dd\) total-vm:\d+kB, anon-rss:\d+kB/);
    expect(Number(first.report.transExitCode)).toBe(137);
    expect(first.minRamCount).toBe(100);
    expect(String(first.report.jobMetrics)).toMatch(/cgroupLimitMB=100/);

    expect(second.attemptNr).toBe(2);
    expect(second.retryOf).toBe(first.pandaId);
    expect(second.minRamCount).toBe(300);
    expect(second.state).toBe('finished');
    expect(Number(second.report.maxRSS)).toBeGreaterThan(0);
    expect(String(second.report.jobMetrics)).toMatch(/cgroupPeakMB=(\d+)/);
    expect(Number(/cgroupPeakMB=(\d+)/.exec(String(second.report.jobMetrics))?.[1])).toBeGreaterThan(150);
    const history = await stubApi(`${stub.url}/stub/jobs/${first.pandaId}`);
    expect(history.history.map((h: any) => h.reason).join('\n')).toMatch(/retry with more memory \(100 → 300 MB\) after error 1212/);
  });
});
