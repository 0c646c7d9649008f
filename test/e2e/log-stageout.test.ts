/**
 * A job's log leaves the node: the real stub as WebDAV storage, a directory
 * destination, and a destination that refuses — with the bundled pilot.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adler32Reference } from '../support/adler32.js';
import { pilotCommandLine, runPilotProcess, scratchDir, startStubProcess, stubApi, type StubProcess } from '../support/processes.js';

const failing = { name: 'bad', command: 'echo a line of stdout; echo about to fail >&2; exit 3' };

async function runOne(stub: StubProcess, name: string, job: Record<string, unknown>, extra: string[] = [], env?: NodeJS.ProcessEnv) {
  const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { name, site: 'LOCAL_Rubin', maxAttempts: 1, jobs: [job] });
  const pandaId = submitted.tasks[0].pandaIds[0] as number;
  const run = await runPilotProcess(
    [
      '-q',
      'LOCAL_Rubin',
      '--url',
      stub.url,
      '--api',
      'legacy',
      '-a',
      scratchDir('stageout-pilot'),
      '--getjob-wait',
      '0',
      '--heartbeat',
      '1',
      '--quiet',
      ...extra,
    ],
    { timeoutMs: 60_000, env },
  );
  expect(run.code, run.stderr).toBe(0);
  const details = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
  const xml = JSON.parse(String(details.job.report.xml)) as Record<string, { fsize: number; adler32: string; surl?: string }>;
  const [logName, entry] = Object.entries(xml)[0]!;
  return { pandaId, report: details.job.report, logName, entry };
}

/** The tarball's members, extracted with the system tar (not the library that made it). */
function untar(file: string): string {
  const dir = scratchDir('untar');
  const r = spawnSync('tar', ['xzf', file, '-C', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return dir;
}

describe('log stage-out', () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('stageout-stub'));
  });
  afterAll(async () => stub?.stop());

  it("stores a failed job's log on the stub over WebDAV, listed with a matching adler32 and its surl", async () => {
    const { pandaId, report, logName, entry } = await runOne(stub, 'stage_webdav', failing);
    expect(Number(report.pilotErrorCode)).toBe(1305);
    expect(entry.surl).toBe(`${stub.url}/storage/logs/${logName}`);
    const res = await fetch(entry.surl!);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(entry.fsize);
    expect(adler32Reference(body)).toBe(entry.adler32);
    const file = path.join(scratchDir('fetched'), logName);
    writeFileSync(file, body);
    const dir = path.join(untar(file), logName.replace(/\.tgz$/, ''));
    expect(readFileSync(path.join(dir, 'payload.stderr'), 'utf8')).toBe('about to fail\n');
    expect(readFileSync(path.join(dir, 'payload.stdout'), 'utf8')).toBe('a line of stdout\n');
    const lines = readFileSync(path.join(dir, 'pilotlog.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { pandaId: number; event: string });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((l) => l.pandaId === pandaId)).toBe(true);
    expect(lines.map((l) => l.event)).toContain('payload_exit');
    // The tarball reads the pilot log from where the job was received: its first line is in.
    expect(lines[0]?.event).toBe('job_start');
    expect(JSON.parse(readFileSync(path.join(dir, 'job-description.json'), 'utf8')).PandaID).toBeDefined();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'log-manifest.json'), 'utf8'));
    expect(manifest.members.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['payload.stdout', 'payload.stderr', 'pilotlog.jsonl']));
    // The HEAD a pilot verifies with answers with the digest it computed.
    const head = await fetch(entry.surl!, { method: 'HEAD', headers: { 'Want-Digest': 'adler32' } });
    expect(head.headers.get('digest')).toBe(`adler32=${entry.adler32}`);
  });

  it("the stub's storage takes writes only with its token: a pilot carrying another → 1137, nothing stored", async () => {
    const { report, logName } = await runOne(stub, 'stage_no_token', failing, [], { ...process.env, PANDA_AUTH_ID_TOKEN: 'not-the-stub-token' });
    expect(Number(report.pilotErrorCode)).toBe(1305);
    expect(report.pilotErrorDiag).toMatch(/log: 1137 HTTP 401 .*need the stub's token/);
    expect((await fetch(`${stub.url}/storage/logs/${logName}`)).status).toBe(404);
  });

  it('copies the log to a directory destination, with a file:// surl', async () => {
    const dest = path.join(scratchDir('stageout-dir'), 'logs');
    const { entry, logName } = await runOne(stub, 'stage_dir', failing, ['--log-destination', `file://${dest}`]);
    expect(entry.surl).toBe(`file://${path.join(dest, logName)}`);
    const body = readFileSync(path.join(dest, logName));
    expect(body.length).toBe(entry.fsize);
    expect(adler32Reference(body)).toBe(entry.adler32);
  });

  it('cuts a long member with a visible mark', async () => {
    const job = { name: 'chatty', command: 'i=0; while [ $i -lt 4000 ]; do echo "line $i of a long stdout"; i=$((i+1)); done' };
    const { entry, logName } = await runOne(stub, 'stage_cut', job, ['--log-member-max', '0.02']);
    const body = Buffer.from(await (await fetch(entry.surl!)).arrayBuffer());
    const file = path.join(scratchDir('fetched'), logName);
    writeFileSync(file, body);
    const stdout = readFileSync(path.join(untar(file), logName.replace(/\.tgz$/, ''), 'payload.stdout'), 'utf8');
    expect(stdout.length).toBeLessThanOrEqual(0.02 * 1024 * 1024);
    expect(stdout.startsWith('line 0 of a long stdout\n')).toBe(true);
    expect(stdout.endsWith('line 3999 of a long stdout\n')).toBe(true);
    expect(stdout).toMatch(/\[panda-pilot: \d+ bytes cut here; the file had \d+ bytes/);
  });

  describe('a destination that refuses', () => {
    let refusing: Server;
    let refusingUrl = '';
    const puts: string[] = [];
    beforeAll(async () => {
      refusing = createServer((req, res) => {
        puts.push(`${req.method} ${req.url}`);
        req.resume();
        req.on('end', () => {
          res.writeHead(403, { 'content-type': 'text/plain' });
          res.end('permission denied for this path');
        });
      });
      await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
      refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/dav/logs`;
    });
    afterAll(() => new Promise<void>((r) => refusing.close(() => r())));

    it("reports 1137 beside the job's own code, and lists the log without a surl", async () => {
      const { report, entry } = await runOne(stub, 'stage_refused', failing, ['--log-destination', refusingUrl]);
      expect(puts.some((p) => p.startsWith('PUT /dav/logs/'))).toBe(true);
      expect(Number(report.pilotErrorCode)).toBe(1305);
      expect(report.pilotErrorDiag).toMatch(/^payload exited with status 3: about to fail \| log: 1137 HTTP 403 permission denied/);
      expect(entry.surl).toBeUndefined();
      expect(entry.adler32).toMatch(/^[0-9a-f]{8}$/);
    });

    it('a finished job stays finished, the 1137 in its diagnostic', async () => {
      const { report } = await runOne(stub, 'stage_refused_ok', { name: 'ok', command: 'echo fine' }, ['--log-destination', refusingUrl]);
      expect(Number(report.pilotErrorCode)).toBe(0);
      expect(report.pilotErrorDiag).toMatch(/^log: 1137 /);
    });
  });

  it('a log tarball that cannot be written: the job is still reported, 1320 beside its own result, and the pilot goes on', async () => {
    // The payload puts a folder where the tarball goes (<task>_<job>.<PandaID>.log.tgz in its job dir).
    const job = { name: 'j', command: 'mkdir "$PILOT_JOB_DIR/stage_tarfail_j.$PandaID.log.tgz" && echo made' };
    const submitted = await stubApi(`${stub.url}/stub/tasks`, 'POST', { name: 'stage_tarfail', site: 'LOCAL_Rubin', maxAttempts: 1, jobs: [job] });
    const pandaId = submitted.tasks[0].pandaIds[0] as number;
    const run = await runPilotProcess(
      pilotCommandLine('LOCAL_Rubin', stub.url, scratchDir('stageout-pilot'), { 'getjob-wait': 0, heartbeat: 1, quiet: true }),
      {
        timeoutMs: 60_000,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const { job: reported } = await stubApi(`${stub.url}/stub/jobs/${pandaId}`);
    expect(reported.state).toBe('finished');
    expect(Number(reported.report.pilotErrorCode)).toBe(0);
    expect(reported.report.pilotErrorDiag).toMatch(/^log: 1320 cannot create log tarball stage_tarfail_j\.\d+\.log\.tgz: .*EISDIR/);
  });

  it('a directory destination that cannot be made → 1137', async () => {
    const blocker = path.join(scratchDir('stageout-blocked'), 'not-a-dir');
    writeFileSync(blocker, 'a file where the directory should be');
    const { report } = await runOne(stub, 'stage_blocked', failing, ['--log-destination', path.join(blocker, 'logs')]);
    expect(Number(report.pilotErrorCode)).toBe(1305);
    expect(report.pilotErrorDiag).toMatch(/log: 1137 cannot copy/);
    expect(existsSync(path.join(blocker, 'logs'))).toBe(false);
    mkdirSync(path.join(path.dirname(blocker), 'ok'));
  });
});
