/**
 * Every event range runs under the pilot's one payload supervisor, as a job
 * does: its own memory cgroup (a range that runs out of memory is OOM-killed
 * there by the kernel and reported 1212 with the kernel's own line), the
 * monitor's time series in the range's directory, and its leftovers killed
 * with its cgroup. Real cgroups (root, v1 or v2); skipped with the reason
 * printed where the machine has none.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupAvailability } from '../support/cgroups.js';
import { pilotCommandLine, processAlive, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

const { parent, skipReason } = cgroupAvailability();
if (skipReason) console.warn(`event-range supervisor e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`event ranges under the payload supervisor (cgroup v${parent?.version ?? '?'})`, () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('es-sup-stub'));
  });
  afterAll(async () => stub?.stop());

  it.each(['legacy', 'v1'] as const)('%s: a range out of memory → 1212 with the kernel line; series written; leftovers killed', async (api) => {
    const site = `ES_SUP_${api}`;
    const pidFile = path.join(scratchDir('es-sup-pid'), 'escaped.pid');
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: `essup_${api}`,
      site,
      cores: 1,
      // 100 MB for the job, 1 range at a time: each range's cgroup gets 2 × 100 MB.
      memoryMB: 100,
      eventService: true,
      rangesPerJob: 3,
      rangeAttempts: 1,
      jobs: [
        { name: 'ok', command: 'echo fine; sleep 0.5' },
        // dd's 300 MB block buffer is real, touched memory: over the range's 200 MB.
        { name: 'hungry', command: 'echo allocating; dd if=/dev/zero of=/dev/null bs=300M count=1 && echo survived' },
        // Leaves a process outside its process group (setsid), as a careless payload would; its cgroup still holds it.
        { name: 'leaver', command: `setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > ${pidFile}; echo left one behind` },
      ],
    });
    const taskId = submitted.tasks[0].taskId as number;
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    const work = scratchDir('es-sup-pilot');
    const flags = { api, 'keep-job-dirs': true, 'getjob-wait': 0, heartbeat: 1, 'monitor-interval': 0.2, 'es-report-delay': 0.2, quiet: true };
    const pilot = runPilotProcess(pilotCommandLine(site, stub.url, work, flags), { timeoutMs: 90_000 });
    const run = await pilot;
    expect(run.code, run.stderr).toBe(0);

    const d = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
    const byQuantum = Object.fromEntries(d.eventRanges.map((r: any) => [r.quantum, r]));
    expect(byQuantum.ok.statusName).toBe('finished');
    expect(byQuantum.leaver.statusName).toBe('finished');
    const hungry = byQuantum.hungry;
    expect(hungry.statusName).toBe('failed');
    expect(hungry.errorCode).toBe(1212);
    expect(hungry.errorDiag).toMatch(/^Memory cgroup out of memory: Killed process \d+ \(dd\) total-vm:\d+kB, anon-rss:\d+kB/);
    expect(d.job.state).toBe('failed');
    expect(Number(d.job.report.pilotErrorCode)).toBe(1224);
    expect(d.job.report.pilotErrorDiag).toMatch(new RegExp(`${taskId}-${pandaId}-1-2-1: Memory cgroup out of memory: Killed process \\d+ \\(dd\\)`));

    // The range's own time series, from the job's monitor: samples with cgroup figures and its limit.
    const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'))!;
    const rangeDir = path.join(work, home, `PanDA_Pilot-${pandaId}`, `${taskId}-${pandaId}-1-2-1`);
    const series = readFileSync(path.join(rangeDir, 'memory_monitor_output.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(series.length).toBeGreaterThan(0);
    expect(series.every((s) => typeof s.rss === 'number' && typeof s.wtime === 'number')).toBe(true);
    expect(series.some((s) => s.cg_limit === 200 * 1024)).toBe(true);

    // The process the leaver left outside its group died with the range's cgroup.
    const escaped = Number(readFileSync(pidFile, 'utf8').trim());
    expect(escaped).toBeGreaterThan(1);
    const until = Date.now() + 10_000;
    while (processAlive(escaped) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(processAlive(escaped)).toBe(false);
    // No range cgroup is left behind.
    expect(existsSync(path.join(parent!.dir, `panda-${pandaId}-1-${pilot.proc.pid}-${taskId}-${pandaId}-1-3-1`))).toBe(false);
  });
});
