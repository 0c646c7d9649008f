/**
 * cgroup v1 and v2 file layouts, on fake /sys trees in temp dirs: discovery
 * from /proc/self/cgroup + mountinfo, the figures, and a payload cgroup's setup.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cgroupDir,
  discoverMemoryCgroup,
  parseBytes,
  parseMountInfo,
  parseOomKills,
  parseProcCgroup,
  PayloadCgroup,
  readCgroupFigures,
} from '../../pilot/src/monitor/index.js';

const V1_PROC_CGROUP = `9:name=systemd:/
4:memory:/slurm/uid_0/job_42/step_0
1:cpu:/
0::/
`;
const V1_MOUNTINFO = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2_PROC_CGROUP = '0::/system.slice/slurmstepd.scope/job_7/step_batch\n';
const V2_MOUNTINFO = '25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

function files(dir: string, content: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(content)) writeFileSync(path.join(dir, name), text);
}

function fakeV1(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cg-v1-'));
  files(path.join(root, 'sys/fs/cgroup/memory/slurm/uid_0/job_42/step_0'), {
    'cgroup.procs': '101\n102\n',
    'memory.usage_in_bytes': String(300 * 1024 * 1024),
    'memory.max_usage_in_bytes': String(512 * 1024 * 1024),
    'memory.limit_in_bytes': String(512 * 1024 * 1024),
    'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
  });
  files(path.join(root, 'sys/fs/cgroup/unified'), { 'cgroup.controllers': '' });
  return root;
}

function fakeV2(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cg-v2-'));
  const dir = path.join(root, 'sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/step_batch');
  files(dir, {
    'cgroup.procs': '201\n',
    'cgroup.controllers': 'cpu memory pids',
    'cgroup.subtree_control': '',
    'memory.current': String(100 * 1024 * 1024),
    'memory.peak': String(150 * 1024 * 1024),
    'memory.max': 'max',
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n',
  });
  return root;
}

describe('cgroup discovery', () => {
  it('parses /proc/self/cgroup and mountinfo', () => {
    expect(parseProcCgroup(V1_PROC_CGROUP)).toContainEqual({ hierarchyId: 4, controllers: ['memory'], path: '/slurm/uid_0/job_42/step_0' });
    expect(parseProcCgroup(V2_PROC_CGROUP)).toEqual([{ hierarchyId: 0, controllers: [], path: '/system.slice/slurmstepd.scope/job_7/step_batch' }]);
    const mounts = parseMountInfo(V2_MOUNTINFO);
    expect(mounts).toEqual([{ root: '/', mountPoint: '/sys/fs/cgroup', fsType: 'cgroup2', superOptions: ['rw', 'nsdelegate', 'memory_recursiveprot'] }]);
  });

  it('maps a cgroup path under a mount whose root is itself a cgroup (containers)', () => {
    const m = { root: '/docker/abc', mountPoint: '/sys/fs/cgroup/memory', fsType: 'cgroup', superOptions: ['memory'] };
    expect(cgroupDir(m, '/docker/abc/child')).toBe('/sys/fs/cgroup/memory/child');
    expect(cgroupDir(m, '/')).toBe('/sys/fs/cgroup/memory'); // inside a cgroup namespace
  });

  it('finds the v1 memory hierarchy and prefers it over a cgroup2 mount without memory', () => {
    const root = fakeV1();
    const loc = discoverMemoryCgroup({ fsRoot: root, procCgroup: V1_PROC_CGROUP, mountInfo: V1_MOUNTINFO });
    expect(loc).toEqual({ version: 1, dir: path.join(root, 'sys/fs/cgroup/memory/slurm/uid_0/job_42/step_0'), cgroupPath: '/slurm/uid_0/job_42/step_0' });
  });

  it('finds the v2 cgroup when its memory controller is there', () => {
    const root = fakeV2();
    const loc = discoverMemoryCgroup({ fsRoot: root, procCgroup: V2_PROC_CGROUP, mountInfo: V2_MOUNTINFO });
    expect(loc?.version).toBe(2);
    expect(loc?.dir).toBe(path.join(root, 'sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/step_batch'));
  });

  it('returns null when no hierarchy has memory figures', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cg-none-'));
    files(path.join(root, 'sys/fs/cgroup'), { 'cgroup.controllers': 'cpu pids' });
    expect(discoverMemoryCgroup({ fsRoot: root, procCgroup: '0::/\n', mountInfo: V2_MOUNTINFO })).toBeNull();
  });
});

describe('cgroup figures', () => {
  it('reads v1: usage, peak, limit and the oom_kill counter', () => {
    const dir = path.join(fakeV1(), 'sys/fs/cgroup/memory/slurm/uid_0/job_42/step_0');
    expect(readCgroupFigures(dir, 1)).toEqual({ usageKb: 300 * 1024, peakKb: 512 * 1024, limitKb: 512 * 1024, oomKills: 2 });
  });

  it('reads v2: memory.current/peak/max and memory.events', () => {
    const dir = path.join(fakeV2(), 'sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/step_batch');
    expect(readCgroupFigures(dir, 2)).toEqual({ usageKb: 100 * 1024, peakKb: 150 * 1024, limitKb: null, oomKills: 1 });
  });

  it('treats v1 "no limit", v2 "max" and missing files as null', () => {
    expect(parseBytes('9223372036854771712\n')).toBeNull();
    expect(parseBytes('max\n')).toBeNull();
    expect(parseBytes(null)).toBeNull();
    expect(parseBytes('1048576')).toBe(1024);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBeNull(); // kernels before 4.13
    expect(readCgroupFigures('/nonexistent/cgroup', 2)).toEqual({ usageKb: null, peakKb: null, limitKb: null, oomKills: null });
  });
});

describe('payload cgroup setup', () => {
  it('v1: makes the child with limit and memsw limit', () => {
    const parentDir = path.join(fakeV1(), 'sys/fs/cgroup/memory/slurm/uid_0/job_42/step_0');
    const cg = PayloadCgroup.create({ version: 1, dir: parentDir, cgroupPath: '/slurm/uid_0/job_42/step_0' }, { name: 'panda-7-1', limitMB: 200 });
    expect(cg.dir).toBe(path.join(parentDir, 'panda-7-1'));
    expect(cg.cgroupPath).toBe('/slurm/uid_0/job_42/step_0/panda-7-1');
    expect(cg.procsFile).toBe(path.join(parentDir, 'panda-7-1', 'cgroup.procs'));
    expect(readFileSync(path.join(cg.dir, 'memory.limit_in_bytes'), 'utf8')).toBe(String(200 * 1024 * 1024));
    expect(readFileSync(path.join(cg.dir, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe(String(200 * 1024 * 1024));
  });

  it('v2: enables the memory controller for children, then sets memory.max and no swap', () => {
    const parentDir = path.join(fakeV2(), 'sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/step_batch');
    const cg = PayloadCgroup.create({ version: 2, dir: parentDir, cgroupPath: '/x' }, { name: 'panda-8-2', limitMB: 400 });
    expect(readFileSync(path.join(parentDir, 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    expect(readFileSync(path.join(cg.dir, 'memory.max'), 'utf8')).toBe(String(400 * 1024 * 1024));
    expect(readFileSync(path.join(cg.dir, 'memory.swap.max'), 'utf8')).toBe('0');
  });

  it('refuses a name that could leave the parent', () => {
    const parentDir = path.join(fakeV1(), 'sys/fs/cgroup/memory/slurm/uid_0/job_42/step_0');
    expect(() => PayloadCgroup.create({ version: 1, dir: parentDir, cgroupPath: '/' }, { name: '../escape', limitMB: 1 })).toThrow(/bad cgroup name/);
  });
});
