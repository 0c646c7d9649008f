/**
 * The hand-written queue-data validator a pilot start uses (config/queue-data.ts, no zod): every
 * problem named by field and expectation, unknown fields kept aside, and the same words as the zod
 * schemas `config check` applies to a site file, field for field.
 */
import { describe, expect, it } from 'vitest';
import { formatIssue, parseQueueData, type ConfigIssue } from '../../pilot/src/config/index.js';
import { parseConfigText } from '../../pilot/src/site-config/index.js';

const base = { name: 'Q', status: 'online' };

function issues(value: unknown): ConfigIssue[] {
  const r = parseQueueData('server /cache/schedconfig/Q.all.json', value);
  if (r.ok) throw new Error(`expected problems, got a queue: ${JSON.stringify(r.queue)}`);
  return r.issues;
}
const problemAt = (list: ConfigIssue[], field: string) => list.find((i) => i.field === field)?.problem;

describe('queue data: what is wrong, where, and what was expected', () => {
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['a count as text', { maxrss: '8GB' }, 'maxrss', /^maxrss \(MB\) must be a number \(got "8GB"\)$/],
    ['a fractional count', { corecount: 1.5 }, 'corecount', /^corecount must be a whole number \(got 1\.5\)$/],
    ['a negative count', { maxtime: -1 }, 'maxtime', /^maxtime \(seconds\) must not be negative \(got -1\)$/],
    ['a count as null', { timefloor: null }, 'timefloor', /must be a number \(got null\)/],
    ['status missing', { status: undefined }, 'status', /^is required but missing$/],
    ['status unknown', { status: 'down' }, 'status', /^status must be one of online, brokeroff, offline, test \(got "down"\)$/],
    ['state unknown', { state: 'active' }, 'state', /ACTIVE, INACTIVE or DISABLED \(got "active"\)/],
    ['workflow unknown', { workflow: 'pushed' }, 'workflow', /pull, push, pull_ups or push_ups/],
    ['a name with a slash', { name: 'Q/../x' }, 'name', /letters, digits/],
    ['a name as a number', { name: 7, nickname: 'Q' }, 'name', /^name must be a string \(got 7\)$/],
    ['copytools as a list', { copytools: ['rucio'] }, 'copytools', /copytools must be an object of \{tool: \{settings\}\}/],
    ['params as text', { params: 'x' }, 'params', /^params must be an object \(got "x"\)$/],
    [
      'params.job_maxwalltime as text',
      { params: { job_maxwalltime: '1h' } },
      'params.job_maxwalltime',
      /job_maxwalltime \(seconds\) must be a number \(got "1h"\)/,
    ],
    ['pilot_rss_grace zero', { params: { pilot_rss_grace: 0 } }, 'params.pilot_rss_grace', /positive factor/],
    ['a pilot default misspelt', { pilot_defaults: { heartbeats: 60 } }, 'pilot_defaults.heartbeats', /^unknown field$/],
    ['slots fractional', { pilot_defaults: { slots: 2.5 } }, 'pilot_defaults.slots', /positive whole number/],
    ['memory range inverted', { minrss: 8000, maxrss: 4000 }, 'maxrss', /greater than minrss \(8000 MB\)/],
    ['no name at all', { name: undefined }, 'name', /no name, nickname or panda_resource/],
  ];
  it.each(cases)('%s', (_what, change, field, problem) => {
    const list = issues({ ...base, ...change });
    const p = problemAt(list, field);
    expect(p, `no issue on ${field} in ${list.map(formatIssue).join('; ')}`).toBeDefined();
    expect(p).toMatch(problem);
    expect(formatIssue(list.find((i) => i.field === field)!)).toMatch(/^server \/cache\/schedconfig\/Q\.all\.json: /);
  });

  it('reports every problem, not only the first', () => {
    const list = issues({ ...base, maxrss: 'x', corecount: -2, status: 'down' });
    expect(list.map((i) => i.field).sort()).toEqual(['corecount', 'maxrss', 'status']);
  });

  it('is not an object: says so', () => {
    expect(issues([1, 2])[0]).toMatchObject({ field: '(file)', problem: expect.stringMatching(/must be a JSON object/) as unknown });
    expect(issues(null)[0]?.field).toBe('(file)');
  });
});

describe('queue data that is fine', () => {
  it('fills defaults and names, keeps unknown fields aside as ignored', () => {
    const r = parseQueueData('q.json', { nickname: 'Q', status: 'test', maxrss: 4000, catchall: 'x', appdir: '/cvmfs', is_cvmfs: true, params: { other: 1 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.queue).toMatchObject({ name: 'Q', nickname: 'Q', panda_resource: 'Q', site: 'Q', atlas_site: 'Q', state: 'ACTIVE', type: 'production' });
    expect(r.queue).toMatchObject({ minrss: 0, maxrss: 4000, corecount: 1, copytools: {}, container_type: '', catchall: 'x', cloud: '', tier: '' });
    // pilot3's params are kept whole: a pilot passes on what it does not read.
    expect(r.queue.params).toEqual({ other: 1 });
    expect(r.ignoredFields.sort()).toEqual(['appdir', 'is_cvmfs']);
    expect(r.queue).not.toHaveProperty('appdir');
  });
});

describe('the same words as the site-config (zod) schemas', () => {
  // Each bad value, put into a site file's queue (zod, strict) and into one queue's data (hand-written): the same problem text.
  const values: Record<string, unknown>[] = [
    { maxrss: '8GB' },
    { corecount: 1.5 },
    { maxtime: -1 },
    { status: 'down' },
    { state: 'on' },
    { type: 'batch' },
    { workflow: 'pushed' },
    { name: 'Q/x' },
    { copytools: ['rucio'] },
    { params: { job_maxwalltime: 'x' } },
    { params: { pilot_walltime_grace: -1 } },
    { params: { pilot_rss_grace: 0 } },
    { pilot_defaults: { heartbeat: 0 } },
    { pilot_defaults: { slots: 2.5 } },
    { pilot_defaults: { pilot_user: '' } },
    { resource_type: '' },
    { container_type: 3 },
    { comment: 3, capability: false, atlas_site: [] },
    { params: 'x' },
    { params: { pilot_walltime_grace: 'x', pilot_rss_grace: '2' } },
    { pilot_defaults: 'x' },
    { pilot_defaults: { slots: 'x', heartbeat: 'x', getjob_wait: -1, job_label: 3 } },
    { pilot_defaults: { slots: 0 } },
    { maxrss: -1.5 },
  ];
  it.each(values.map((v) => [JSON.stringify(v), v] as const))('%s', (_label, change) => {
    const queue = { name: 'Q', site: 'S', cloud: 'US', tier: 'T1', status: 'online', ...change };
    const zod = parseConfigText('f.json', JSON.stringify({ facility: 'F', queues: [queue] }));
    expect(zod.ok).toBe(false);
    const fromZod = zod.ok ? [] : zod.issues.map((i) => `${i.field.replace(/^queues\[0\]\./, '')}: ${i.problem}`);
    const hand = issues(queue).map((i) => `${i.field}: ${i.problem}`);
    expect(hand.sort()).toEqual(fromZod.sort());
  });
});
