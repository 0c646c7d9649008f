/** The site-config schema and files: every kind of error names its file and field; the shipped configuration is complete. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, formatIssue, queueResourceType, resourceTypeFor, type ConfigIssue } from '../../pilot/src/config/index.js';
import { buildCatalog, findSiteConfigDir, loadSiteCatalog, parseConfigText, readConfigPaths, toQueueData } from '../../pilot/src/site-config/index.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const SITE_CONFIG = path.join(REPO, 'site-config');

const site = (queues: unknown[], defaults: Record<string, unknown> = { site: 'S', cloud: 'US', tier: 'T1', status: 'online' }) =>
  JSON.stringify({ facility: 'F', defaults, queues });

function issuesOf(file: string, text: string): ConfigIssue[] {
  const r = parseConfigText(file, text);
  if (r.ok) throw new Error(`expected problems in ${file}, got none`);
  return r.issues;
}

describe('config errors name the file, the field and the problem', () => {
  const cases: [string, string, RegExp, RegExp][] = [
    ['invalid JSON', '{ "queues": [', /^\(file\)$/, /not valid JSON/],
    ['not an object', '[1, 2]', /^\(file\)$/, /must be a JSON object/],
    ['missing field', site([{ maxrss: 4000 }]), /^queues\[0\]\.name$/, /required but missing/],
    ['wrong type', site([{ name: 'Q', maxrss: '8GB' }]), /^queues\[0\]\.maxrss$/, /must be a number \(got "8GB"\)/],
    ['negative number', site([{ name: 'Q', maxtime: -1 }]), /^queues\[0\]\.maxtime$/, /must not be negative/],
    ['bad status', site([{ name: 'Q', status: 'down' }]), /^queues\[0\]\.status$/, /one of online, brokeroff, offline, test \(got "down"\)/],
    ['unknown field with a hint', site([{ name: 'Q', maxrs: 4000 }]), /^queues\[0\]\.maxrs$/, /unknown field \(did you mean "maxrss"\?\)/],
    ['bad default', site([{ name: 'Q' }], { site: 'S', cloud: 'US', tier: 'T9', status: 'online' }), /^defaults\.tier$/, /T0, T1, T2 or T3/],
    ['memory range inverted', site([{ name: 'Q', minrss: 8000, maxrss: 4000 }]), /^queues\[0\]\.maxrss$/, /greater than minrss \(8000 MB\)/],
    ['duplicate queue', site([{ name: 'Q' }, { name: 'Q' }]), /^queues\[1\]\.name$/, /duplicate queue name "Q" \(also queues\[0\]\)/],
    ['bad queue name', site([{ name: 'Q/../x' }]), /^queues\[0\]\.name$/, /letters, digits/],
    ['no queues', JSON.stringify({ facility: 'F', queues: [] }), /^queues$/, /at least one queue/],
    [
      'resource type cores inverted',
      JSON.stringify({ resource_types: [{ name: 'X', mincore: 4, maxcore: 1 }] }),
      /^resource_types\[0\]\.maxcore$/,
      /at least mincore/,
    ],
    [
      'resource type memory inverted',
      JSON.stringify({ resource_types: [{ name: 'X', minrampercore: 4000, maxrampercore: 2000 }] }),
      /^resource_types\[0\]\.maxrampercore$/,
      /at least minrampercore/,
    ],
    ['resource type unknown field', JSON.stringify({ resource_types: [{ name: 'X', maxram: 1 }] }), /^resource_types\[0\]\.maxram$/, /unknown field/],
    ['queue data bad type', JSON.stringify({ name: 'Q', status: 'online', corecount: 'eight' }), /^corecount$/, /must be a number/],
  ];
  it.each(cases)('%s', (_kind, text, field, problem) => {
    const issues = issuesOf('queues/x.json', text);
    const hit = issues.find((i) => field.test(i.field));
    expect(hit, `no issue on ${field} in ${issues.map(formatIssue).join('; ')}`).toBeDefined();
    expect(hit!.problem).toMatch(problem);
    expect(formatIssue(hit!)).toMatch(/^queues\/x\.json: \S+: /);
  });

  it('reports a bad default once, not again for every queue that inherits it', () => {
    const issues = issuesOf('f.json', site([{ name: 'A' }, { name: 'B' }], { site: 'S', cloud: 'US', tier: 'T9', status: 'online' }));
    expect(issues.map((i) => i.field)).toEqual(['defaults.tier']);
  });

  it('an unreadable file and a queue defined in two files name both files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'site-config-'));
    writeFileSync(path.join(dir, 'a.json'), site([{ name: 'Q' }]));
    writeFileSync(path.join(dir, 'b.json'), site([{ name: 'Q' }]));
    const { docs, issues } = readConfigPaths([dir, path.join(dir, 'missing.json')]);
    expect(issues.map(formatIssue)).toEqual([`${path.join(dir, 'missing.json')}: (file): cannot read: ENOENT`]);
    const built = buildCatalog(docs);
    expect(built.issues.map(formatIssue)).toEqual([`${path.join(dir, 'b.json')}: name: queue "Q" is already defined in ${path.join(dir, 'a.json')}`]);
    expect(() => loadSiteCatalog(dir)).toThrow(ConfigError);
  });
});

describe('the shipped site configuration', () => {
  const catalog = loadSiteCatalog(SITE_CONFIG);
  const range = (name: string) => {
    const q = catalog.queues.get(name);
    if (!q) throw new Error(`queue ${name} missing`);
    return [q.minrss, q.maxrss];
  };

  it('has the Rubin facilities’ queues with their memory ranges', () => {
    for (const name of [
      'SLAC_Rubin',
      'SLAC_Rubin_Medium',
      'SLAC_Rubin_Himem',
      'SLAC_Rubin_IO',
      'SLAC_Rubin_Merge',
      'SLAC_TEST',
      'CC-IN2P3_Rubin',
      'CC-IN2P3_Rubin_Medium',
      'CC-IN2P3_Rubin_Himem',
      'CC-IN2P3_Rubin_Big_Himem',
      'CC-IN2P3_Rubin_Extra_Himem',
      'CC-IN2P3_Rubin_IO',
      'CC-IN2P3_Rubin_Merge',
      'CC-IN2P3_TEST',
      'RAL_Rubin',
      'RAL_Rubin_Medium',
      'RAL_Rubin_Himem',
      'RAL_Rubin_Big_Himem',
      'RAL_Rubin_Extra_Himem',
      'RAL_Rubin_IO',
      'RAL_Rubin_Merge',
      'LANCS_Rubin',
      'LANCS_Rubin_Big_Himem',
      'LANCS_Rubin_Extra_Himem',
      'LOCAL_Rubin',
      'LOCAL_Rubin_Himem',
    ])
      expect(catalog.queues.has(name), name).toBe(true);
    // As the PanDA team runs them (docs/rubin-sites.md).
    expect(catalog.queues.get('CC-IN2P3_Rubin_IO')?.status).toBe('offline');
    expect(catalog.queues.get('RAL_Rubin_IO')?.status).toBe('offline');
    expect(range('RAL_Rubin_Extra_Himem')).toEqual([32000, 220000]);
    expect(range('LANCS_Rubin_Big_Himem')).toEqual([16000, 32000]);
    expect(catalog.queues.get('LANCS_Rubin_Extra_Himem')?.maxtime).toBe(48 * 3600);
    for (const site of ['SLAC', 'CC-IN2P3', 'RAL', 'LANCS', 'LOCAL']) {
      const push = [...catalog.queues.values()].filter((q) => q.site === site && q.workflow === 'push');
      expect(
        push.map((q) => [q.corecount, q.minrss, q.maxrss]),
        site,
      ).toEqual([[0, 0, 0]]);
    }
    expect(range('SLAC_Rubin_Medium')).toEqual([4000, 8000]);
    expect(range('SLAC_Rubin_Himem')).toEqual([8000, 16000]);
    expect(range('CC-IN2P3_Rubin_Extra_Himem')).toEqual([32000, 220000]);
    expect(catalog.queues.get('SLAC_TEST')?.status).toBe('online');
    expect(catalog.queues.get('CC-IN2P3_TEST')?.status).toBe('brokeroff');
    expect(catalog.queues.get('SLAC_Rubin_Merge')?.status).toBe('brokeroff');
    expect(catalog.queues.get('LOCAL_Rubin')?.status).toBe('online');
  });

  it('has the U2G…U32G table, first match wins, else Undefined', () => {
    const t = catalog.resourceTypes;
    expect(t.map((r) => r.name)).toEqual(['U2G', 'U4G', 'U8G', 'U12G', 'U16G', 'U20G', 'U24G', 'U28G', 'U32G']);
    expect(resourceTypeFor(12000, 1, t)).toBe('U12G');
    expect(resourceTypeFor(12001, 1, t)).toBe('U16G');
    expect(resourceTypeFor(2000, 1, t)).toBe('U2G');
    expect(resourceTypeFor(2001, 1, t)).toBe('U4G');
    expect(resourceTypeFor(8000, 1, t)).toBe('U8G');
    expect(resourceTypeFor(32000, 1, t)).toBe('U32G');
    expect(resourceTypeFor(32001, 1, t)).toBe('Undefined');
    expect(resourceTypeFor(2000, 2, t)).toBe('Undefined');
  });

  it('serves each queue as schedconfig queue data a pilot can read back', () => {
    const q = catalog.queues.get('SLAC_Rubin_Medium')!;
    const data = toQueueData(q, catalog.resourceTypes);
    expect(data).toMatchObject({ nickname: 'SLAC_Rubin_Medium', panda_resource: 'SLAC_Rubin_Medium', status: 'online', maxrss: 8000, resource_type: 'U8G' });
    expect(data).not.toHaveProperty('comment');
    const back = parseConfigText('served', JSON.stringify(data));
    expect(back.ok && back.doc.kind === 'queue' && back.doc.queue.maxrss).toBe(8000);
    // A range that spans several types names none, so its pilots do not narrow their request.
    expect(queueResourceType(catalog.queues.get('SLAC_Rubin')!, catalog.resourceTypes)).toBeUndefined();
  });

  it('reads the shared schedconfig fixture as queue data', () => {
    const r = readConfigPaths([path.join(REPO, 'test', 'fixtures', 'queuedata-SLAC_Rubin_Medium.json')]);
    expect(r.issues).toEqual([]);
    expect(r.docs[0]?.kind).toBe('queue');
  });

  it('is found from a directory inside the repository', () => {
    expect(findSiteConfigDir([path.join(REPO, 'pilot', 'src')])).toBe(SITE_CONFIG);
    expect(findSiteConfigDir([tmpdir()])).toBeUndefined();
  });
});
