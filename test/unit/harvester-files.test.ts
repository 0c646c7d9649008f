import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFlags } from '../../pilot/src/cli/flags.js';
import { PILOT_FLAGS, toPilotOptions } from '../../pilot/src/cli/options.js';
import {
  HarvesterPushServer,
  parseJobFile,
  parseSubmitMode,
  touch,
  transportMode,
  writeJsonAtomic,
  type HarvesterFlags,
} from '../../pilot/src/harvester/index.js';

const flags = (extra: Partial<HarvesterFlags> = {}): HarvesterFlags => ({
  submitMode: 'PULL',
  workdir: undefined,
  datadir: undefined,
  eventStatusDump: undefined,
  workerAttributes: undefined,
  noServerUpdate: false,
  ...extra,
});
const parse = (args: string[]) => toPilotOptions(parseFlags(args, PILOT_FLAGS).values, '/launch');

describe('push mode is decided as pilot3 decides it', () => {
  it('reads the submit mode in any case and refuses other words', () => {
    expect(parseSubmitMode('PUSH')).toBe('push');
    expect(parseSubmitMode('Pull')).toBe('pull');
    expect(() => parseSubmitMode('shove')).toThrow(/PUSH or PULL/);
  });

  it('needs -z with a work dir, or the Harvester variables with PUSH', () => {
    expect(transportMode(flags({ workdir: '/ap' }), {}, '/launch').kind).toBe('pull');
    const z = transportMode(flags({ workdir: '/ap', noServerUpdate: true }), {}, '/launch');
    expect(z).toMatchObject({
      kind: 'push',
      accessPoint: { dir: '/ap', workerAttributesFile: '/ap/worker_attributes.json', eventStatusFile: '/ap/event_status.dump.json' },
    });
    expect(transportMode(flags({ workerAttributes: 'wa.json', noServerUpdate: true }), {}, '/launch')).toMatchObject({
      kind: 'push',
      accessPoint: { dir: '/launch', workerAttributesFile: '/launch/wa.json' },
    });
    expect(transportMode(flags({ submitMode: 'PULL' }), { HARVESTER_ID: 'h' }, '/launch').kind).toBe('pull');
    const env = transportMode(flags({ submitMode: 'PUSH', datadir: '/data' }), { HARVESTER_WORKER_ID: '7', HARVESTER_WORKDIR: '/hw' }, '/work/launch');
    expect(env).toMatchObject({ kind: 'push', accessPoint: { dir: '/hw', jobDataDirs: ['/data', '/work/launch', '/work'] } });
  });
});

describe('pilot3 command-line flags', () => {
  it('takes PUSH/PULL as Harvester passes them, -u as a boolean, and lists the flags it ignores', () => {
    const o = parse(['-q', 'Q', '--harvester-submit-mode', 'PUSH', '-u', '-w', 'generic', '-i', 'PR', '--allow-same-user=False', '-z']);
    expect(o.harvester).toMatchObject({ submitMode: 'PUSH', noServerUpdate: true });
    expect(o.notApplicable.sort()).toEqual(['allow-same-user', 'i', 'u', 'w']);
    expect(o.queue).toBe('Q'); // -u took no value
    expect(() => parse(['-q', 'Q', '--harvester-submit-mode', 'sideways'])).toThrow(/PUSH or PULL/);
  });

  it('reads -r as the site when -s is not given', () => {
    expect(parse(['-q', 'Q', '-r', 'R']).site).toBe('R');
    expect(parse(['-q', 'Q', '-r', 'R', '-s', 'S']).site).toBe('S');
  });
});

describe('atomic writes in the access point', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces a file whole and leaves no temporary file behind', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ap-'));
    const file = path.join(dir, 'worker_attributes.json');
    writeFileSync(file, '{"jobStatus":"starting"}');
    const before = statSync(file).ino;
    writeJsonAtomic(file, { jobStatus: 'running', big: 'x'.repeat(100_000) });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ jobStatus: 'running' });
    expect(statSync(file).ino).not.toBe(before); // a rename, not a rewrite in place
    expect(readdirSync(dir)).toEqual(['worker_attributes.json']);
    touch(path.join(dir, 'kill_worker'));
    expect(statSync(path.join(dir, 'kill_worker')).size).toBe(0);
  });

  it('fails loudly when the access point is not writable, leaving nothing', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ap-'));
    expect(() => writeJsonAtomic(path.join(dir, 'missing', 'x.json'), {})).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the push transport over a real access point', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const setup = (nextJobWaitMs = 0) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'push-'));
    dirs.push(dir);
    const ap = path.join(dir, 'ap');
    const home = path.join(dir, 'home');
    mkdirSync(ap);
    mkdirSync(home);
    const mode = transportMode(flags({ workdir: ap, noServerUpdate: true }), {}, ap);
    if (mode.kind !== 'push') throw new Error('not push');
    const server = new HarvesterPushServer({
      accessPoint: mode.accessPoint,
      pilotHome: home,
      log: pino({ level: 'silent' }),
      nextJobWaitMs,
      eventWaitMs: 5_000,
      pollMs: 10,
    });
    return { ap, home, server };
  };
  const req = { siteName: 'Q' };

  it('takes the job Harvester left (JSON or urlencoded), keeps a copy, and removes it', async () => {
    const { ap, home, server } = setup();
    writeFileSync(path.join(ap, 'HPCJobs.json'), JSON.stringify({ 4242: { jobName: 'j', attemptNr: 1 } }));
    writeFileSync(path.join(ap, 'worker_requestjob.json'), '{"nJobs": 1}');
    expect(await server.getJob(req)).toMatchObject({ PandaID: '4242', jobName: 'j' });
    expect(readdirSync(ap)).toEqual([]); // job file and request file gone
    expect(readdirSync(home)).toEqual(['HPCJobs.json.1']);
    expect(await server.getJob(req)).toBeNull(); // one job per worker when no more are asked for

    const cgi = setup();
    writeFileSync(path.join(cgi.ap, 'pandaJobData.out'), 'PandaID=7&jobName=x&jobPars=echo+hi');
    expect(await cgi.server.getJob(req)).toMatchObject({ PandaID: '7', jobPars: 'echo hi' });
  });

  it('refuses a job file that is not what Harvester writes, naming it', () => {
    expect(() => parseJobFile('/ap/HPCJobs.json', '{"1": ')).toThrow(/HPCJobs.json: not JSON/);
    expect(() => parseJobFile('/ap/HPCJobs.json', '[1]')).toThrow(/must be \{"<PandaID>": \{job\}\}/);
    expect(() => parseJobFile('/ap/HPCJobs.json', '{"1": "x"}')).toThrow(/entry for 1 is not a job object/);
    expect(() => parseJobFile('/d/pandaJobData.out', 'jobName=x')).toThrow(/no PandaID/);
  });

  it('asks for a next job with worker_requestjob.json and takes the file Harvester feeds', async () => {
    const { ap, server } = setup(5_000);
    writeFileSync(path.join(ap, 'HPCJobs.json'), JSON.stringify({ 1: {} }));
    await server.getJob(req);
    const next = server.getJob(req);
    // Harvester's side: sees the request, feeds the next job, removes the request.
    for (let i = 0; i < 500 && !existsSync(path.join(ap, 'worker_requestjob.json')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_requestjob.json'), 'utf8'))).toEqual({ nJobs: 1 });
    writeFileSync(path.join(ap, 'HPCJobs.json'), JSON.stringify({ 2: {} }));
    expect(await next).toMatchObject({ PandaID: '2' });
    expect(existsSync(path.join(ap, 'worker_requestjob.json'))).toBe(false);
  });

  it('writes the attributes without xml, and at the end the log, its stage-out entry and the job report', async () => {
    const { ap, home, server } = setup();
    const jobDir = path.join(home, 'PanDA_Pilot-9');
    mkdirSync(jobDir);
    writeFileSync(path.join(jobDir, 'x.log.tgz'), 'tarball bytes');
    writeFileSync(path.join(jobDir, 'jobReport.json'), '{"exitCode": 0}');
    await server.updateJob({ jobId: 9, attemptNr: 1, state: 'running', fields: { node: 'n', maxRSS: 5 } });
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_attributes.json'), 'utf8'))).toEqual({ node: 'n', maxRSS: 5, jobStatus: 'running' });
    const xml = JSON.stringify({ 'x.log.tgz': { guid: 'g-1', fsize: 13, adler32: '1f2e03c1' } });
    await server.updateJob({ jobId: 9, attemptNr: 1, state: 'failed', fields: { pilotErrorCode: 1305, xml } });
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_attributes.json'), 'utf8'))).toEqual({ pilotErrorCode: 1305, jobStatus: 'failed' });
    expect(JSON.parse(readFileSync(path.join(ap, 'event_status.dump.json'), 'utf8'))).toEqual({
      9: [{ type: 'log', path: path.join(ap, 'x.log.tgz'), guid: 'g-1', fsize: 13, chksum: '1f2e03c1' }],
    });
    expect(readFileSync(path.join(ap, 'x.log.tgz'), 'utf8')).toBe('tarball bytes');
    expect(readFileSync(path.join(ap, 'jobReport.json'), 'utf8')).toBe('{"exitCode": 0}');
    server.finish();
    expect(existsSync(path.join(ap, 'kill_worker'))).toBe(true);
  });

  it('event ranges: request, wait for Harvester, read once; reports appended to what Harvester has not read', async () => {
    const { ap, server } = setup();
    const got = server.getEventRanges({ pandaId: 5, jobsetId: 3, taskId: 2, nRanges: 4 });
    for (let i = 0; i < 500 && !existsSync(path.join(ap, 'worker_requestevents.json')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_requestevents.json'), 'utf8'))).toEqual({ 5: { nRanges: 4, pandaID: 5, taskID: 2, jobsetID: 3 } });
    writeFileSync(path.join(ap, 'JobsEventRanges.json'), JSON.stringify({ 5: [{ eventRangeID: 'r1' }] }));
    rmSync(path.join(ap, 'worker_requestevents.json'));
    expect(await got).toEqual([{ eventRangeID: 'r1' }]);
    expect(existsSync(path.join(ap, 'JobsEventRanges.json.read'))).toBe(true);

    await server.updateEventRanges(5, [{ eventRangeID: 'r1', eventStatus: 'finished' }]);
    await server.updateEventRanges(5, [{ eventRangeID: 'r2', eventStatus: 'failed', errorCode: 65 }]);
    expect(JSON.parse(readFileSync(path.join(ap, 'worker_updateevents.json'), 'utf8'))).toEqual({
      5: [
        { eventRangeID: 'r1', eventStatus: 'finished' },
        { eventRangeID: 'r2', eventStatus: 'failed', errorCode: 65 },
      ],
    });
  });
});
