/**
 * The pilot's watchdogs on real payloads, over the real stub: each limit
 * stops the payload's whole process group and the stub receives its code
 * (1235 memory, 1150 looping, 1213 walltime, 1098 disk, 1106 stdout).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

let stub: StubProcess;
beforeAll(async () => {
  stub = await startStubProcess(scratchDir('watchdogs-stub'));
});
afterAll(async () => stub?.stop());

/** A marker only this test's payload processes carry, to prove the whole group died. */
const marker = (tag: string) => `${300 + Math.floor(Math.random() * 1000)}.${tag.length}${Date.now() % 1000}`;

function alive(sleepArg: string): boolean {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${sleepArg}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false; // pgrep exits 1 when nothing matches
  }
}

async function runOne(site: string, command: string, pilotFlags: string[], taskExtra: Record<string, unknown> = {}) {
  const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { name: `wd_${site}`, site, maxAttempts: 1, jobs: [{ name: 'j', command }], ...taskExtra });
  const pandaId = submitted.tasks[0].pandaIds[0] as number;
  const workdir = scratchDir(`watchdog-${site}`);
  const t0 = Date.now();
  const flags = { api: 'legacy', 'keep-job-dirs': true, 'getjob-wait': 0, heartbeat: 1, 'kill-grace': 1, 'monitor-interval': 0.2, quiet: true };
  const run = await runPilotProcess([...pilotCommandLine(site, stub.url, workdir, flags), ...pilotFlags], { timeoutMs: 40_000 });
  expect(run.code, run.stderr).toBe(0);
  const { job } = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
  return { job, seconds: (Date.now() - t0) / 1000, workdir };
}

describe('pilot watchdogs', () => {
  it('1235: the payload over --max-rss is stopped by the pilot (cgroups off)', async () => {
    const m = marker('mem');
    const { job, workdir } = await runOne('WD_MEM', `sleep ${m} & { head -c 150M /dev/zero; sleep 20; } | tail > /dev/null`, [
      '--cgroups',
      'off',
      '--max-rss',
      '50',
    ]);
    expect(job.state).toBe('failed');
    expect(Number(job.report.pilotErrorCode)).toBe(1235);
    expect(job.report.pilotErrorDiag).toMatch(/(PSS|RSS) \d+ MB exceeded the pilot's memory limit of 50 MB/);
    expect(Number(job.report.maxRSS)).toBeGreaterThan(50 * 1024);
    expect(Number(job.report.maxPSS)).toBeGreaterThan(0);
    expect(String(job.report.jobMetrics)).toMatch(/coreCount=1 monitorSamples=\d+ maxPSSkB=\d+/);
    expect(alive(m)).toBe(false);
    // the prmon-like time series sits in the job dir
    const home = readdirSync(workdir).find((d) => d.startsWith('PanDA_Pilot3_'))!;
    const jobDir = path.join(workdir, home, `PanDA_Pilot-${job.pandaId}`);
    const lines = readFileSync(path.join(jobDir, 'memory_monitor_output.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(Object.keys(lines[0])).toEqual(
      expect.arrayContaining(['Time', 'wtime', 'nprocs', 'rss', 'pss', 'vmem', 'swap', 'utime', 'stime', 'rchar', 'wchar', 'read_bytes', 'write_bytes']),
    );
    expect(Math.max(...lines.map((l) => l.rss))).toBe(Number(job.report.maxRSS));
  });

  it('1150: no file modified for --looping-limit', async () => {
    const m = marker('loop');
    const { job, seconds } = await runOne('WD_LOOP', `(sleep ${m} &); sleep ${m}`, ['--looping-limit', '1']);
    expect(Number(job.report.pilotErrorCode)).toBe(1150);
    expect(job.report.pilotErrorDiag).toMatch(/looping job: no file in the job dir was modified for \d+ s \(limit 1 s\)/);
    expect(seconds).toBeLessThan(30);
    // the orphan left the launcher's tree but not the process group/session
    expect(alive(m)).toBe(false);
  });

  it('1150 not raised while the payload keeps writing files', async () => {
    const { job } = await runOne('WD_NOLOOP', 'for i in 1 2 3 4 5 6; do echo $i > progress.txt; sleep 0.4; done', ['--looping-limit', '1']);
    expect(job.state).toBe('finished');
  });

  it('1213: the job maxWalltime is reached', async () => {
    const m = marker('wall');
    const { job } = await runOne('WD_WALL', `sleep ${m}`, [], { walltimeSec: 1 });
    expect(Number(job.report.pilotErrorCode)).toBe(1213);
    expect(job.report.pilotErrorDiag).toMatch(/over its walltime limit of 1 s/);
    expect(alive(m)).toBe(false);
  });

  it('1098: local disk below --min-disk', async () => {
    const { job } = await runOne('WD_DISK', `sleep ${marker('disk')}`, ['--min-disk', '100000000']);
    expect(Number(job.report.pilotErrorCode)).toBe(1098);
    expect(job.report.pilotErrorDiag).toMatch(/MB free in the job dir's file system, below the 100000000 MB/);
  });

  it('1106: payload stdout over --max-stdout', async () => {
    const { job } = await runOne('WD_STDOUT', `head -c 3M /dev/zero | tr '\\0' x; sleep ${marker('out')}`, ['--max-stdout', '1']);
    expect(Number(job.report.pilotErrorCode)).toBe(1106);
    expect(job.report.pilotErrorDiag).toMatch(/stdout\/stderr reached [23] MB, over the 1 MB limit/);
  });
});
