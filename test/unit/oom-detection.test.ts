/** OOM evidence (kernel log, cgroup counter, cgroup at limit) → 1212; exit 137 alone is not enough. */
import { describe, expect, it } from 'vitest';
import { constants } from 'node:os';
import { detectOom, findOomKill, parseDmesgLine, parseKmsgRecord, type CgroupFigures, type OomFacts } from '../../pilot/src/monitor/index.js';
import { judgePayload } from '../../pilot/src/payload/index.js';
import type { PayloadExit } from '../../pilot/src/run/index.js';

const KMSG = [
  '4,342,1172938081,-;tail invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0',
  '6,420,1172938761,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/batch/panda-7-1,task_memcg=/batch/panda-7-1,task=tail,pid=14429,uid=0',
  '3,421,1172938775,-;Memory cgroup out of memory: Killed process 14429 (tail) total-vm:104352kB, anon-rss:101504kB, file-rss:1552kB, shmem-rss:0kB, UID:0 pgtables:244kB oom_score_adj:0',
  '3,500,1300000000,-;Memory cgroup out of memory: Killed process 999 (python) total-vm:9272300kB, anon-rss:8063052kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:17000kB oom_score_adj:0',
].map(parseKmsgRecord);

describe('kernel log', () => {
  it('parses /dev/kmsg records and dmesg lines', () => {
    expect(KMSG[2]).toMatchObject({ timeSec: 1172.938775 });
    expect(KMSG[2]?.text).toMatch(/^Memory cgroup out of memory: Killed process 14429/);
    expect(parseDmesgLine('[ 1172.938775] Memory cgroup out of memory: Killed process 14429 (tail) total-vm:1kB, anon-rss:2kB')).toEqual({
      timeSec: 1172.938775,
      text: 'Memory cgroup out of memory: Killed process 14429 (tail) total-vm:1kB, anon-rss:2kB',
    });
  });

  it('finds the kill of a PID seen in the payload tree', () => {
    const k = findOomKill(KMSG, { pids: new Set([999]) });
    expect(k).toMatchObject({ pid: 999, name: 'python', totalVmKb: 9272300, anonRssKb: 8063052 });
    expect(k?.line).toMatch(/^Memory cgroup out of memory: Killed process 999 \(python\) total-vm:9272300kB, anon-rss:8063052kB/);
  });

  it('finds a kill by the payload cgroup even for a PID never sampled', () => {
    expect(findOomKill(KMSG, { pids: new Set(), cgroupPath: '/batch/panda-7-1' })?.pid).toBe(14429);
    expect(findOomKill(KMSG, { pids: new Set(), cgroupPath: '/batch/panda-8-1' })).toBeNull();
  });

  it('ignores other processes and records from before the payload started', () => {
    expect(findOomKill(KMSG, { pids: new Set([1, 2, 3]) })).toBeNull();
    expect(findOomKill(KMSG, { pids: new Set([14429]), sinceSec: 1200 })).toBeNull();
  });
});

const fig = (over: Partial<CgroupFigures>): CgroupFigures => ({ usageKb: 0, peakKb: 100 * 1024, limitKb: 200 * 1024, oomKills: 0, ...over });
const facts = (over: Partial<OomFacts>): OomFacts => ({
  signal: 'SIGKILL',
  ownCgroup: true,
  cgroupName: '/batch/panda-7-1',
  atStart: fig({}),
  atEnd: fig({}),
  kernel: null,
  ...over,
});

describe('detectOom', () => {
  it('exit by SIGKILL alone is not OOM evidence', () => {
    expect(detectOom(facts({}))).toBeNull();
    expect(detectOom(facts({ ownCgroup: false, cgroupName: null, atStart: null, atEnd: null }))).toBeNull();
  });

  it('uses the kernel record as the diagnostic when there is one', () => {
    const kernel = findOomKill(KMSG, { pids: new Set([14429]) });
    const e = detectOom(facts({ kernel }));
    expect(e?.source).toBe('kernel-log');
    expect(e?.diagnostic).toMatch(/^Memory cgroup out of memory: Killed process 14429 \(tail\) total-vm:104352kB/);
  });

  it('counts a moved oom_kill counter of the payload cgroup, with a message from the figures', () => {
    const e = detectOom(facts({ atStart: null, atEnd: fig({ oomKills: 1, peakKb: 200 * 1024 }), signal: null }));
    expect(e?.source).toBe('oom-kill-counter');
    expect(e?.diagnostic).toMatch(/Memory cgroup out of memory: .*\/batch\/panda-7-1 \(limit 200 MB, peak 200 MB, oom_kill 0→1\)/);
  });

  it('an enclosing (shared) cgroup counter counts only when the payload itself got SIGKILL', () => {
    const shared = { ownCgroup: false, atStart: fig({ oomKills: 3 }), atEnd: fig({ oomKills: 4 }) };
    expect(detectOom(facts({ ...shared, signal: null }))).toBeNull();
    expect(detectOom(facts({ ...shared, signal: 'SIGKILL' }))?.source).toBe('oom-kill-counter');
  });

  it('a SIGKILL with the cgroup at its limit counts', () => {
    const e = detectOom(facts({ atEnd: fig({ peakKb: 200 * 1024 - 100 }) }));
    expect(e?.source).toBe('cgroup-at-limit');
    expect(detectOom(facts({ signal: 'SIGTERM', atEnd: fig({ peakKb: 200 * 1024 }) }))).toBeNull();
  });
});

describe('judgePayload with OOM evidence', () => {
  const exit: PayloadExit = { exitCode: 137, signal: 'SIGKILL', cpuUserSec: 0, cpuSysSec: 0, startedAt: new Date(), endedAt: new Date() };
  const sig = (s: NodeJS.Signals) => constants.signals[s];

  it('1212 with the kernel words', () => {
    const v = judgePayload(
      {
        exit,
        stopReason: null,
        stderrTail: 'Killed\n',
        oom: { diagnostic: 'Memory cgroup out of memory: Killed process 1 (x) total-vm:1kB, anon-rss:1kB', source: 'kernel-log' },
      },
      sig,
    );
    expect(v).toMatchObject({ state: 'failed', pilotErrorCode: 1212, transExitCode: 137 });
    expect(v.pilotErrorDiag).toMatch(/^Memory cgroup out of memory: Killed process 1/);
  });

  it('without evidence a 137 stays a payload failure (1305)', () => {
    expect(judgePayload({ exit, stopReason: null, stderrTail: '', oom: null }, sig).pilotErrorCode).toBe(1305);
  });
});
