/**
 * The bundled pilot and its queue's data, against a server that records every
 * call: an offline queue ends the pilot with 83 before any getJob; queue data
 * sets mem, resource type and remaining time in getJob; --queuedata wins over
 * the server; an unusable --queuedata is exit 71.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { decodeForm } from '../../pilot/src/protocol/index.js';
import { runPilotProcess, scratchDir } from '../support/processes.js';

interface Call {
  path: string;
  params: Record<string, string>;
}

/** A legacy server with no jobs that serves `queues[name]` at the cache path. */
function fakeServer(queues: Record<string, unknown>) {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const p = req.url ?? '';
      calls.push({ path: p, params: decodeForm(body) });
      const m = /^\/cache\/schedconfig\/(.+)\.all\.json$/.exec(p);
      if (m) {
        const q = queues[decodeURIComponent(m[1]!)];
        res.statusCode = q ? 200 : 404;
        res.end(q ? JSON.stringify(q) : 'not found');
      } else if (p === '/server/panda/getJob') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ StatusCode: 20 }));
      } else {
        res.statusCode = 404;
        res.end('');
      }
    });
  });
  return { server, calls };
}

const queue = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  status: 'online',
  state: 'ACTIVE',
  minrss: 4000,
  maxrss: 6000,
  maxtime: 5000,
  corecount: 1,
  resource_type: 'U8G',
  ...extra,
});

describe('pilot queue data', () => {
  let fake: ReturnType<typeof fakeServer>;
  let url = '';
  beforeAll(async () => {
    fake = fakeServer({ Q_OFF: queue('Q_OFF', { status: 'offline' }), Q_ON: queue('Q_ON'), Q_INACTIVE: queue('Q_INACTIVE', { state: 'INACTIVE' }) });
    await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => fake.server.close(() => r())));

  const pilot = (queueName: string, extra: string[] = []) =>
    runPilotProcess(['-q', queueName, '--url', url, '--api', 'legacy', '-a', scratchDir('qd'), '--getjob-wait', '0', '--quiet', ...extra], {
      timeoutMs: 30_000,
    });
  const callsFor = (queueName: string) => fake.calls.filter((c) => c.path.includes(queueName) || c.params.siteName === queueName);

  it('an offline queue: exit 83 and no getJob', async () => {
    const run = await pilot('Q_OFF');
    expect(run.code).toBe(83);
    expect(callsFor('Q_OFF').map((c) => c.path)).toEqual(['/cache/schedconfig/Q_OFF.all.json']);
  });

  it('a queue that is not ACTIVE: exit 78', async () => {
    expect((await pilot('Q_INACTIVE')).code).toBe(78);
  });

  it('getJob carries the queue’s maxrss, resource type and a remaining time within maxtime', async () => {
    const run = await pilot('Q_ON');
    expect(run.code).toBe(0);
    const getJob = callsFor('Q_ON').find((c) => c.path === '/server/panda/getJob');
    expect(getJob?.params).toMatchObject({ siteName: 'Q_ON', mem: '6000', resourceType: 'U8G' });
    expect(Number(getJob?.params.remaining_time)).toBeLessThanOrEqual(5000);
    expect(Number(getJob?.params.remaining_time)).toBeGreaterThan(4900);
  });

  it('flags beat queue data', async () => {
    await pilot('Q_ON', ['--mem', '3000', '--resource-type', 'U4G']);
    const getJob = callsFor('Q_ON')
      .filter((c) => c.path === '/server/panda/getJob')
      .at(-1);
    expect(getJob?.params).toMatchObject({ mem: '3000', resourceType: 'U4G' });
  });

  it('--queuedata FILE (or pilot3’s --queuedata-url) is used instead of the server’s', async () => {
    const file = path.join(scratchDir('qd-file'), 'q.json');
    writeFileSync(file, JSON.stringify(queue('Q_FILE', { maxrss: 2500, minrss: 0, resource_type: undefined })));
    const before = fake.calls.length;
    const run = await pilot('Q_FILE', ['--queuedata-url', file]);
    expect(run.code).toBe(0);
    const calls = fake.calls.slice(before);
    expect(calls.some((c) => c.path.startsWith('/cache/'))).toBe(false);
    expect(calls.find((c) => c.path === '/server/panda/getJob')?.params.mem).toBe('2500');
  });

  it('an unreadable --queuedata is exit 71, bad queue data 72', async () => {
    expect((await pilot('Q_ON', ['--queuedata', '/nonexistent/q.json'])).code).toBe(71);
    const file = path.join(scratchDir('qd-bad'), 'q.json');
    writeFileSync(file, JSON.stringify(queue('Q_ON', { maxrss: 'lots' })));
    const run = await runPilotProcess(['-q', 'Q_ON', '--url', url, '--api', 'legacy', '-a', scratchDir('qd'), '--getjob-wait', '0', '--queuedata', file], {
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(72);
    expect(run.stderr).toMatch(/maxrss: maxrss \(MB\) must be a number/);
  });
});
