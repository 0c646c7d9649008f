/**
 * The job page's second memory source: the pilot's monitor series inside the
 * log tarball, read back from a tarball made by the pilot's own writer.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { writeTarGz } from '../../pilot/src/run/tar-gz.js';
import { memoryPlot } from '../../server-stub/src/api/monitor-html.js';
import { MONITOR_MEMBER, parseMonitorSeries, tarGzMember } from '../../server-stub/src/model/monitor-series.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sample = (t: number, rss: number, pss: number) => JSON.stringify({ Time: t, wtime: t - 1_700_000_000, nprocs: 2, rss, pss, vmem: 2 * rss, swap: 0 });

async function tarball(files: Record<string, string>): Promise<Buffer> {
  dir = mkdtempSync(path.join(tmpdir(), 'monitor-series-'));
  const top = 'PanDA_Pilot-1000042';
  mkdirSync(path.join(dir, top));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, top, name), text);
  const target = path.join(dir, 'job.log.tgz');
  await writeTarGz(dir, top, target);
  return readFileSync(target);
}

it('finds the monitor series in a log tarball the pilot wrote and reads its samples in time order, skipping a cut last line', async () => {
  const lines = [
    sample(1_700_000_020, 300_000, 280_000),
    sample(1_700_000_000, 100_000, 90_000),
    sample(1_700_000_010, 200_000, 0),
    '{"Time": 1700000030, "rss": 4',
  ];
  const tgz = await tarball({ 'payload.stdout': 'hello\n', [MONITOR_MEMBER]: `${lines.join('\n')}\n` });
  const member = tarGzMember(tgz, MONITOR_MEMBER, 1 << 20);
  expect(member.ok).toBe(true);
  if (!member.ok) return;
  expect(member.name).toBe(`PanDA_Pilot-1000042/${MONITOR_MEMBER}`);
  expect(parseMonitorSeries(member.text)).toEqual([
    { at: 1_700_000_000_000, rssKb: 100_000, pssKb: 90_000 },
    { at: 1_700_000_010_000, rssKb: 200_000, pssKb: null },
    { at: 1_700_000_020_000, rssKb: 300_000, pssKb: 280_000 },
  ]);
});

it('says why there is no series: no such member, not a tarball, over the inflate bound', async () => {
  const tgz = await tarball({ 'payload.stdout': 'x'.repeat(100_000) });
  expect(tarGzMember(tgz, MONITOR_MEMBER, 1 << 20)).toEqual({ ok: false, reason: `no ${MONITOR_MEMBER} in the tarball` });
  expect(tarGzMember(Buffer.from('not gzip at all'), MONITOR_MEMBER, 1 << 20)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/not a readable \.tgz/),
  });
  expect(tarGzMember(tgz, MONITOR_MEMBER, 10_000)).toMatchObject({ ok: false, reason: expect.stringMatching(/over 10000 bytes/) });
});

it('plots the monitor series as lines beside the heartbeat points, on one time axis', () => {
  const monitor = parseMonitorSeries([sample(1_700_000_000, 100_000, 90_000), sample(1_700_000_060, 500_000, 450_000)].join('\n'));
  const heartbeat = {
    id: 1,
    pandaId: 1,
    receivedAt: new Date(1_700_000_030_000).toISOString(),
    dialect: 'legacy' as const,
    method: 'updateJob',
    params: { state: 'running', maxRSS: '300000' },
    seqHeader: null,
    result: 'applied',
    command: 'NULL',
    orderViolation: null,
  };
  const svg = memoryPlot([heartbeat], 2000, monitor);
  expect(svg.match(/class="monitor-series"/g)).toHaveLength(2);
  // The heartbeat's point sits between the monitor's first and last sample: the same axis for both.
  const xs = (svg.match(/<polyline class="monitor-series"[^>]*points="([^"]+)"/)?.[1] ?? '').split(' ').map((p) => Number(p.split(',')[0]));
  const heartbeatX = Number(/<circle cx="([\d.]+)"/.exec(svg)?.[1]);
  expect(heartbeatX).toBeGreaterThan(xs[0]!);
  expect(heartbeatX).toBeLessThan(xs[1]!);
  // Only the monitor: still a plot, not "no figures".
  expect(memoryPlot([], 2000, monitor)).toMatch(/<svg id="memory-plot"/);
  expect(memoryPlot([], 2000, [])).toMatch(/No memory figures/);
});
