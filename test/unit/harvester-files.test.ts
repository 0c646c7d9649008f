import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { afterEach, describe, expect, it } from 'vitest';
import { pilotFlags, toPilotOptions } from '../../pilot/src/cli/options.js';
import { parseSubmitMode, touch, transportMode, writeJsonAtomic, type HarvesterFlags } from '../../pilot/src/harvester/index.js';

const flags = (extra: Partial<HarvesterFlags> = {}): HarvesterFlags => ({
  submitMode: 'PULL', workdir: undefined, datadir: undefined, eventStatusDump: undefined, workerAttributes: undefined, noServerUpdate: false, ...extra,
});
const parse = (args: string[]) => toPilotOptions(pilotFlags(yargs(args)).parseSync() as Record<string, unknown>, '/launch');

describe('push mode is decided as pilot3 decides it', () => {
  it('reads the submit mode in any case and refuses other words', () => {
    expect(parseSubmitMode('PUSH')).toBe('push');
    expect(parseSubmitMode('Pull')).toBe('pull');
    expect(() => parseSubmitMode('shove')).toThrow(/PUSH or PULL/);
  });

  it('needs -z with a work dir, or the Harvester variables with PUSH', () => {
    expect(transportMode(flags({ workdir: '/ap' }), {}, '/launch').kind).toBe('pull');
    const z = transportMode(flags({ workdir: '/ap', noServerUpdate: true }), {}, '/launch');
    expect(z).toMatchObject({ kind: 'push', accessPoint: { dir: '/ap', workerAttributesFile: '/ap/worker_attributes.json', eventStatusFile: '/ap/event_status.dump.json' } });
    expect(transportMode(flags({ workerAttributes: 'wa.json', noServerUpdate: true }), {}, '/launch')).toMatchObject({ kind: 'push', accessPoint: { dir: '/launch', workerAttributesFile: '/launch/wa.json' } });
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
