/** What a queue's data does to a pilot: refuse offline queues, fill options, expose limits; and where the data comes from. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  applyQueue,
  loadQueueData,
  QueueDataError,
  queueLimits,
  queueRefusal,
  releaseQueueDataPath,
  type DocumentParser,
  type Fetch,
  type QueueConfig,
  type QueueTunables,
} from '../../pilot/src/config/index.js';
import { TUNABLE_DEFAULTS } from '../../pilot/src/cli/options.js';
import { parseConfigText } from '../../pilot/src/site-config/index.js';

const parseDocument: DocumentParser = async (source, text) => parseConfigText(source, text);

const queue = (extra: Partial<QueueConfig> = {}): QueueConfig => ({
  name: 'SLAC_Rubin_Medium',
  site: 'SLAC',
  cloud: 'US',
  tier: 'T0',
  state: 'ACTIVE',
  status: 'online',
  type: 'production',
  minrss: 4000,
  maxrss: 8000,
  maxtime: 0,
  corecount: 1,
  maxwdir: 0,
  maxinputsize: 0,
  timefloor: 0,
  copytools: {},
  container_type: '',
  catchall: '',
  params: {},
  ...extra,
});

// What the command line gives when no flag was set: the pilot's defaults.
const cli: QueueTunables = { ...TUNABLE_DEFAULTS, memMB: undefined, resourceType: undefined };

describe('queueRefusal', () => {
  it('an offline queue exits 83, an inactive one 78, the rest run', () => {
    expect(queueRefusal(queue({ status: 'offline' }))).toMatchObject({ exitCode: 83 });
    expect(queueRefusal(queue({ state: 'INACTIVE' }))).toMatchObject({ exitCode: 78 });
    for (const status of ['online', 'brokeroff', 'test'] as const) expect(queueRefusal(queue({ status }))).toBeNull();
  });
});

describe('applyQueue', () => {
  it('takes mem from maxrss, slots from corecount, resource type from the queue', () => {
    const out = applyQueue(cli, new Set(), queue({ corecount: 4, resource_type: 'U8G' }));
    expect(out).toMatchObject({ memMB: 8000, slots: 4, resourceType: 'U8G', lifetimeSec: 324000 });
  });

  it('keeps what the command line gave', () => {
    const given = { ...cli, memMB: 3000, slots: 2, resourceType: 'U4G' };
    const out = applyQueue(given, new Set(['memMB', 'slots', 'resourceType']), queue({ corecount: 4, resource_type: 'U8G' }));
    expect(out).toMatchObject({ memMB: 3000, slots: 2, resourceType: 'U4G' });
  });

  it('caps the lifetime at maxtime even when -l was given', () => {
    expect(applyQueue(cli, new Set(['lifetimeSec']), queue({ maxtime: 7200 })).lifetimeSec).toBe(7200);
    expect(applyQueue({ ...cli, lifetimeSec: 600 }, new Set(['lifetimeSec']), queue({ maxtime: 7200 })).lifetimeSec).toBe(600);
  });

  it('uses pilot_defaults for flags not given, and leaves mem unset for a queue without maxrss', () => {
    const q = queue({ maxrss: 0, minrss: 0, pilot_defaults: { heartbeat: 300, job_label: 'test', pilot_user: 'rubin', slots: 3, lifetime: 1000 } });
    expect(applyQueue(cli, new Set(), q)).toMatchObject({
      memMB: undefined,
      heartbeatSec: 300,
      prodSourceLabel: 'test',
      pilotUser: 'rubin',
      slots: 3,
      lifetimeSec: 1000,
    });
    expect(applyQueue(cli, new Set(['heartbeatSec']), q).heartbeatSec).toBe(1800);
  });
});

describe('queueLimits', () => {
  it('exposes max RSS, grace, max time and cores for the watchdogs', () => {
    expect(queueLimits(queue({ maxtime: 3600, timefloor: 10, params: { pilot_rss_grace: 2, job_maxwalltime: 1800 } }), 'f')).toEqual({
      queue: 'SLAC_Rubin_Medium',
      status: 'online',
      maxRssMB: 8000,
      rssGraceFactor: 2,
      maxtimeSec: 3600,
      jobMaxWalltimeSec: 1800,
      coreCount: 1,
      timefloorSec: 600,
      source: 'f',
    });
    expect(queueLimits(queue({ maxrss: 0, minrss: 0 }), 'f')).toMatchObject({ maxRssMB: null, maxtimeSec: null, rssGraceFactor: 1 });
  });
});

describe('loadQueueData: --queuedata, then the release tree, then the server', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'queuedata-'));
  const data = (name: string, extra: Record<string, unknown> = {}) => JSON.stringify({ name, status: 'online', maxrss: 4000, ...extra });
  const calls: string[] = [];
  const server =
    (status: number, body: string): Fetch =>
    async (p) => (calls.push(p), { status, body });
  const noUrl: Fetch = async () => {
    throw new Error('no URL fetch expected');
  };

  it('reads an explicit file, and a site file holding the queue', async () => {
    const file = path.join(dir, 'q.json');
    writeFileSync(file, data('Q', { maxtime: 60 }));
    expect((await loadQueueData('Q', { parseDocument, queuedata: file, fetchUrl: noUrl }))?.queue.maxtime).toBe(60);
    const siteFile = path.join(dir, 'site.json');
    writeFileSync(
      siteFile,
      JSON.stringify({
        facility: 'F',
        defaults: { site: 'S', cloud: 'US', tier: 'T1', status: 'online' },
        queues: [{ name: 'A' }, { name: 'Q', maxrss: 9000 }],
      }),
    );
    expect((await loadQueueData('Q', { parseDocument, queuedata: siteFile, fetchUrl: noUrl }))?.queue.maxrss).toBe(9000);
  });

  it('fetches an explicit URL; a failure there is exit 71, bad data 72, another queue 72', async () => {
    const ok: Fetch = async () => ({ status: 200, body: data('Q') });
    expect((await loadQueueData('Q', { parseDocument, queuedata: 'http://h/q.json', fetchUrl: ok }))?.source).toBe('http://h/q.json');
    const fail = (spec: string, fetchUrl: Fetch = noUrl) =>
      loadQueueData('Q', { parseDocument, queuedata: spec, fetchUrl }).then(
        () => null,
        (e: QueueDataError) => e.exitCode,
      );
    expect(await fail('http://h/q.json', async () => ({ status: 404, body: '' }))).toBe(71);
    expect(await fail(path.join(dir, 'missing.json'))).toBe(71);
    writeFileSync(path.join(dir, 'bad.json'), data('Q', { status: 'down' }));
    expect(await fail(path.join(dir, 'bad.json'))).toBe(72);
    writeFileSync(path.join(dir, 'other.json'), data('OTHER'));
    expect(await fail(path.join(dir, 'other.json'))).toBe(72);
  });

  it('prefers the release tree over the server, and asks the server at its cache path otherwise', async () => {
    const tree = path.join(dir, 'tree');
    mkdirSync(path.dirname(releaseQueueDataPath(tree, 'Q')), { recursive: true });
    writeFileSync(releaseQueueDataPath(tree, 'Q'), data('Q', { maxrss: 1234 }));
    calls.length = 0;
    expect((await loadQueueData('Q', { parseDocument, releaseDir: tree, fetchUrl: noUrl, fetchServer: server(200, data('Q')) }))?.queue.maxrss).toBe(1234);
    expect(calls).toEqual([]);
    const fromServer = await loadQueueData('R', { parseDocument, releaseDir: tree, fetchUrl: noUrl, fetchServer: server(200, data('R', { maxrss: 777 })) });
    expect(fromServer?.queue.maxrss).toBe(777);
    expect(calls).toEqual(['/cache/schedconfig/R.all.json']);
  });

  it('runs without queue data when the server has none or cannot be reached, but not with bad data', async () => {
    expect(await loadQueueData('Q', { parseDocument, fetchUrl: noUrl, fetchServer: server(404, 'no') })).toBeNull();
    expect(await loadQueueData('Q', { parseDocument, fetchUrl: noUrl, fetchServer: server(200, '{"StatusCode":20}') })).toBeNull();
    await expect(loadQueueData('Q', { parseDocument, fetchUrl: noUrl, fetchServer: server(200, data('Q', { maxrss: -1 })) })).rejects.toMatchObject({
      exitCode: 72,
    });
    expect(await loadQueueData('Q', { parseDocument, fetchUrl: noUrl, fetchServer: async () => Promise.reject(new Error('ECONNREFUSED')) })).toBeNull();
    await expect(loadQueueData('Q', { parseDocument, fetchUrl: noUrl, fetchServer: server(200, '{not json') })).rejects.toMatchObject({ exitCode: 72 });
  });
});
