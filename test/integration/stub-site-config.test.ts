/**
 * The bundled stub with the repository's site-config: queue data served at
 * /cache/schedconfig, brokerage by memory range and status over the wire,
 * `--site-config none`, and a refused bad configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeForm } from '../../pilot/src/protocol/index.js';
import { scratchDir, startStubProcess, STUB_BIN, type StubProcess } from '../support/processes.js';
import { get, postForm, submitTasks } from '../support/stub-harness.js';

const stubs: StubProcess[] = [];
afterAll(async () => {
  for (const s of stubs) await s.stop();
});

async function getJob(url: string, siteName: string): Promise<string | undefined> {
  const reply = decodeForm((await postForm(`${url}/server/panda/getJob`, { siteName, node: 'wn1' })).text);
  return reply.StatusCode === '0' ? reply.jobName : undefined;
}

describe('stub with the default site-config', () => {
  let url = '';
  beforeAll(async () => {
    const stub = await startStubProcess(scratchDir('stub-site'));
    stubs.push(stub);
    url = stub.url;
  });

  it('serves queue data the way the server cache does', async () => {
    const medium = await get(`${url}/cache/schedconfig/SLAC_Rubin_Medium.all.json`);
    expect(medium.status).toBe(200);
    expect(JSON.parse(medium.text)).toMatchObject({
      name: 'SLAC_Rubin_Medium',
      nickname: 'SLAC_Rubin_Medium',
      status: 'online',
      minrss: 4000,
      maxrss: 8000,
      resource_type: 'U8G',
    });
    expect((await get(`${url}/cache/schedconfig/NO_SUCH_QUEUE.all.json`)).status).toBe(404);
  });

  it('dispatches each job only to a queue whose memory range and status allow it', async () => {
    await submitTasks(url, {
      workflow: 'brokerage',
      tasks: [
        { name: 'small', site: 'SLAC', memoryMB: 2000, command: 'true' },
        { name: 'medium', site: 'SLAC', memoryMB: 8000, command: 'true' },
        { name: 'merge', site: 'SLAC_Rubin_Merge', memoryMB: 2000, command: 'true' },
        { name: 'boosted', site: 'SLAC_Rubin', memoryMB: 12000, command: 'true' },
      ],
    });
    // Merge is brokeroff: the facility-wide small job is not for it, the one named for it is.
    expect(await getJob(url, 'SLAC_Rubin_Merge')).toMatch(/^merge_/);
    expect(await getJob(url, 'SLAC_Rubin_Merge')).toBeUndefined();
    expect(await getJob(url, 'SLAC_Rubin_Medium')).toMatch(/^medium_/);
    expect(await getJob(url, 'SLAC_Rubin_Medium')).toBeUndefined();
    expect(await getJob(url, 'SLAC_Rubin')).toMatch(/^small_/);
    expect(await getJob(url, 'SLAC_Rubin')).toBeUndefined();
    // 12000 MB no longer fits SLAC_Rubin (0-4000): it goes to the sibling whose range fits.
    expect(await getJob(url, 'SLAC_Rubin_Himem')).toMatch(/^boosted_/);
  });
});

describe('stub site-config options', () => {
  it('--site-config none brokers by exact queue name only and serves no queue data', async () => {
    const stub = await startStubProcess(scratchDir('stub-nosite'), ['--site-config', 'none']);
    stubs.push(stub);
    await submitTasks(stub.url, { name: 't', site: 'SLAC', memoryMB: 2000, command: 'true' });
    expect(await getJob(stub.url, 'SLAC_Rubin')).toBeUndefined();
    expect(await getJob(stub.url, 'SLAC')).toMatch(/^t_/);
    expect((await get(`${stub.url}/cache/schedconfig/SLAC_Rubin.all.json`)).status).toBe(404);
  });

  it('refuses to start with a bad configuration, naming file and field', () => {
    const dir = scratchDir('bad-site');
    mkdirSync(path.join(dir, 'queues'));
    writeFileSync(path.join(dir, 'resource-types.json'), JSON.stringify({ resource_types: [{ name: 'U2G', maxrampercore: 2000 }] }));
    writeFileSync(
      path.join(dir, 'queues', 'x.json'),
      JSON.stringify({ facility: 'X', defaults: { site: 'X', cloud: 'US', tier: 'T1' }, queues: [{ name: 'X_Q', status: 'sleeping' }] }),
    );
    const r = spawnSync(process.execPath, [STUB_BIN, 'serve', '--port', '0', '--data', scratchDir('bad-data'), '--site-config', dir], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      `${path.join(dir, 'queues', 'x.json')}: queues[0].status: status must be one of online, brokeroff, offline, test (got "sleeping")`,
    );
  });
});
