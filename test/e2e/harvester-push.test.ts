/**
 * Push mode end to end, once per dialect: the real stub, `panda-stub
 * harvester` playing Harvester on the access point, and the bundled pilot
 * started as Harvester starts it (-z, --harvester-workdir, PUSH, the
 * HARVESTER_* variables). The jobs' results reach the stub only through the
 * access point's files, which are checked against the reference's formats;
 * the stub's request counter shows the pilot itself sent nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupAvailability } from '../support/cgroups.js';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, STUB_BIN, stubApi, type StubProcess } from '../support/processes.js';
import { collectChild } from '../support/child-run.js';

/** adler32 as Harvester computes it (core_utils.calc_adler32: 8 hex digits). */
function adler32(buf: Buffer): string {
  let a = 1;
  let b = 0;
  for (const byte of buf) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, '0');
}

interface HarvesterRun {
  code: number | null;
  result: { jobs: number[]; jobUpdates: number; rangeRequests: number; rangeUpdates: number; finals: Record<string, string>; stoppedBy: string };
  stderr: string;
}

function runHarvester(url: string, accessPoint: string, queue: string, api: string, format: 'json' | 'cgi'): Promise<HarvesterRun> {
  const proc = spawn(
    process.execPath,
    [STUB_BIN, 'harvester', '--url', url, '--access-point', accessPoint, '-q', queue, '--api', api, '--format', format, '--poll-ms', '100', '--wait', '90'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return collectChild(proc, 120_000).done.then(({ code, stdout, stderr }) => {
    let result: HarvesterRun['result'];
    try {
      result = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    } catch {
      result = { jobs: [], jobUpdates: 0, rangeRequests: 0, rangeUpdates: 0, finals: {}, stoppedBy: `no summary: ${stdout}` };
    }
    return { code, result, stderr };
  });
}

/** Harvester's worker: the harvester on the access point, the pilot launched in it. */
async function pushWorker(stub: StubProcess, queue: string, api: string, format: 'json' | 'cgi', pilotArgs: string[] = []) {
  const ap = scratchDir(`push-ap-${api}`);
  mkdirSync(ap, { recursive: true });
  const harvester = runHarvester(stub.url, ap, queue, api, format);
  // The job file is there before the worker starts, as when Harvester submits it.
  const until = Date.now() + 30_000;
  while (!existsSync(path.join(ap, format === 'cgi' ? 'pandaJobData.out' : 'HPCJobs.json')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  // -z: no server updates of its own (Harvester relays them), as pilot3 in push mode.
  const flags = { 'harvester-workdir': ap, 'harvester-submit-mode': 'PUSH', 'getjob-wait': 3, heartbeat: 1, 'monitor-interval': 0.2, quiet: true };
  const pilot = await runPilotProcess([...pilotCommandLine(queue, stub.url, scratchDir('push-pilot'), flags), '-z', ...pilotArgs], {
    cwd: ap,
    timeoutMs: 90_000,
    env: { ...process.env, HARVESTER_ID: 'stub-h', HARVESTER_WORKER_ID: '42' },
  });
  return { ap, pilot, harvester: await harvester };
}

const pilotRequests = async (stub: StubProcess): Promise<number> => {
  const summary = await stubApi(`${stub.url}/stub/summary`);
  expect(summary.requests.byAgent['panda-stub-harvester']).toBeGreaterThan(0); // the counter does see clients
  return summary.requests.byAgent['panda-node-pilot'] ?? 0;
};

describe.each([
  ['legacy', 'json'],
  ['v1', 'cgi'],
] as const)('Harvester push mode, %s dialect, job file as %s', (api, format) => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir(`push-stub-${api}`));
  });
  afterAll(async () => stub?.stop());

  it('runs a plain and a failing job through one worker; results reach the stub only through the access point', async () => {
    const queue = `PUSH_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: `push_${api}`,
      site: queue,
      maxAttempts: 1,
      jobs: [
        { name: 'ok', command: 'echo hello from push; echo \'{"exitCode": 0, "exitMsg": "OK"}\' > jobReport.json' },
        { name: 'broken', command: 'echo "input is corrupt" >&2; exit 3' },
      ],
    });
    const taskId = submitted.tasks[0].taskId as number;
    const { ap, pilot, harvester } = await pushWorker(stub, queue, api, format);
    expect(pilot.code, pilot.stderr).toBe(0);
    expect(harvester.code, harvester.stderr).toBe(0);
    expect(harvester.result.stoppedBy).toBe('kill_worker');
    expect(harvester.result.jobs).toHaveLength(2); // the second through worker_requestjob.json

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    const byName = Object.fromEntries(jobs.map((j: any) => [j.jobName.split('_')[1] ?? j.jobName, j]));
    const ok = jobs.find((j: any) => j.state === 'finished');
    const broken = jobs.find((j: any) => j.state === 'failed');
    expect(ok, JSON.stringify(byName)).toBeDefined();
    expect(broken, JSON.stringify(jobs.map((j: any) => [j.state, j.report]))).toBeDefined();
    expect(Number(broken.report.pilotErrorCode)).toBe(1305);
    expect(Number(broken.report.transExitCode)).toBe(3);
    expect(String(broken.report.pilotErrorDiag)).toMatch(/input is corrupt/);

    // The log's entry in the final update came from event_status.dump.json.
    const details = await stubApi(`${stub.url}/stub/jobs/${ok.pandaId}`);
    const final = details.updates.at(-1);
    const xml = JSON.parse(final.params.xml ?? final.params.job_output_report ?? '{}'); // legacy / v1 name
    const logName = Object.keys(xml)[0]!;
    expect(xml[logName]).toMatchObject({ guid: ok.logGuid, type: 'log' });

    // The files, in the reference's formats.
    const names = readdirSync(ap);
    expect(names).toContain('kill_worker');
    expect(names).not.toContain('worker_requestjob.json');
    const dumps = names.filter((n) => n.startsWith('event_status.dump.json.read.'));
    expect(dumps).toHaveLength(2); // consumed and acknowledged by the harvester, one per job
    for (const dump of dumps) {
      const value = JSON.parse(readFileSync(path.join(ap, dump), 'utf8'));
      const [pandaId, entries] = (Object.entries(value) as [string, any[]][])[0]!;
      expect(harvester.result.jobs).toContain(Number(pandaId));
      for (const e of entries) {
        expect(Object.keys(e).sort()).toEqual(['chksum', 'fsize', 'guid', 'path', 'type']);
        expect(e.type).toBe('log');
        expect(path.isAbsolute(e.path) && path.dirname(e.path)).toBe(ap);
        const bytes = readFileSync(e.path);
        expect(e.fsize).toBe(bytes.length);
        expect(e.chksum).toBe(adler32(bytes));
      }
    }
    const attributes = JSON.parse(readFileSync(path.join(ap, 'worker_attributes.json'), 'utf8'));
    expect(attributes).toMatchObject({ jobStatus: 'failed', pilotErrorCode: 1305, transExitCode: 3 });
    for (const k of ['node', 'startTime', 'endTime', 'timestamp', 'cpuConsumptionTime']) expect(attributes, k).toHaveProperty(k);
    expect(attributes).not.toHaveProperty('xml');
    expect(JSON.parse(readFileSync(path.join(ap, 'jobReport.json'), 'utf8'))).toEqual({ exitCode: 0, exitMsg: 'OK' });
    expect(statSync(path.join(ap, 'worker_pandaids.json')).isFile()).toBe(true);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);

    expect(await pilotRequests(stub)).toBe(0);
  });

  it('an event-service job: ranges asked, given and reported through the access point', async () => {
    const queue = `PUSH_ES_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: `push_es_${api}`,
      site: queue,
      cores: 2,
      eventService: true,
      rangesPerJob: 4,
      jobs: [0, 1, 2, 3].map((i) => ({ name: `q${i}`, command: `echo range q${i}` })),
    });
    const taskId = submitted.tasks[0].taskId as number;
    const { ap, pilot, harvester } = await pushWorker(stub, queue, api, format, ['--es-report-delay', '0.2', '--pilot-user', 'rubin']);
    expect(pilot.code, pilot.stderr).toBe(0);
    expect(harvester.result.stoppedBy).toBe('kill_worker');
    expect(harvester.result.jobs).toHaveLength(1); // --pilot-user rubin: one job per push worker, as pilot3's Rubin plugin
    expect(harvester.result.rangeRequests).toBeGreaterThan(0);
    expect(harvester.result.rangeUpdates).toBeGreaterThanOrEqual(4);

    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(jobs.map((j: any) => j.state)).toEqual(['finished']);
    const details = await stubApi(`${stub.url}/stub/jobs/${jobs[0].pandaId}`);
    expect(details.eventRanges).toHaveLength(4);
    for (const r of details.eventRanges) expect(['finished', 'done']).toContain(r.statusName); // a real server keeps finished (3)
    const names = readdirSync(ap);
    expect(names.some((n) => n.startsWith('worker_updateevents.json.read.'))).toBe(true);
    expect(names).toContain('JobsEventRanges.json.read');
    expect(names).not.toContain('worker_requestevents.json');
    expect(await pilotRequests(stub)).toBe(0);
  });
});

const { skipReason } = cgroupAvailability();
if (skipReason) console.warn(`push-mode OOM e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('Harvester push mode, out of memory', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('push-oom-stub'));
  });
  afterAll(async () => stub?.stop());

  it.each(['legacy', 'v1'] as const)('%s: the kernel OOM kill reaches the stub as 1212 through worker_attributes.json', async (api) => {
    const queue = `PUSH_OOM_${api}`;
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', {
      name: `push_oom_${api}`,
      site: queue,
      memoryMB: 100,
      maxAttempts: 1,
      jobs: [{ name: 'hungry', command: 'echo allocating; dd if=/dev/zero of=/dev/null bs=200M count=1 && echo survived' }],
    });
    const taskId = submitted.tasks[0].taskId as number;
    const { ap, pilot, harvester } = await pushWorker(stub, queue, api, 'json');
    expect(pilot.code, pilot.stderr).toBe(0);
    expect(harvester.result.finals).toEqual({ [String(harvester.result.jobs[0])]: 'failed' });
    const { jobs } = await stubApi(`${stub.url}/stub/jobs?task=${taskId}`);
    expect(Number(jobs[0].report.pilotErrorCode)).toBe(1212);
    expect(jobs[0].report.pilotErrorDiag).toMatch(/^Memory cgroup out of memory: Killed process \d+ \(dd\)/);
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_attributes.json'), 'utf8'))).toMatchObject({ jobStatus: 'failed', pilotErrorCode: 1212 });
    expect(await pilotRequests(stub)).toBe(0);
  });
});
