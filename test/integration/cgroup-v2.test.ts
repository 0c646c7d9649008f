/**
 * The pilot on cgroup v2, on a real kernel: run by `npm run test:cgroup-v2`
 * inside the test guest (test/vm/), once per way a worker node hands out
 * cgroups (PANDA_TEST_CGROUP_MODE, set by test/vm/guest-cgroup-v2.sh):
 * - `root`: the pilot runs as root in a batch job's cgroup;
 * - `delegated`: an unprivileged pilot in a cgroup delegated to its user
 *   (the directory, `cgroup.procs` and `cgroup.subtree_control` are its own,
 *   as systemd's `Delegate=yes` or the batch system gives);
 * - `none`: an unprivileged pilot in a cgroup it may not write.
 * Elsewhere it skips with the reason (this machine kind offers v1 only).
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canCreateChildren, discoverMemoryCgroup, NO_LIMITS, PayloadCgroup, PayloadMonitor } from '../../pilot/src/monitor/index.js';
import { startPayload } from '../support/payloads.js';
import { pilotCommandLine, processAlive, QUICK_PILOT, runPilotProcess, scratchDir, startStubProcess, type StubProcess } from '../support/processes.js';
import { bothAttempts, submitHungryTask } from '../support/memory-retry.js';

const MODES = ['root', 'delegated', 'none'] as const;
type Mode = (typeof MODES)[number];
const rawMode = process.env.PANDA_TEST_CGROUP_MODE;
const mode = (MODES as readonly string[]).includes(rawMode ?? '') ? (rawMode as Mode) : null;
const own = discoverMemoryCgroup();

function reasonToSkip(): string | null {
  if (rawMode !== undefined && mode === null) throw new Error(`PANDA_TEST_CGROUP_MODE must be one of ${MODES.join(', ')}, got ${rawMode}`);
  if (mode === null) return 'PANDA_TEST_CGROUP_MODE is not set: these run inside the test guest (npm run test:cgroup-v2)';
  // Inside the guest the setting must hold: a guest that cannot show v2 fails, never skips.
  if (own?.version !== 2) throw new Error(`PANDA_TEST_CGROUP_MODE=${mode} but this process's memory cgroup is ${own ? `v${own.version}` : 'missing'}`);
  return null;
}
const skipReason = reasonToSkip();
if (skipReason) console.warn(`cgroup v2 tests skipped: ${skipReason}`);

/** Whether this process may read the kernel log (dmesg_restrict lets only root). */
function kmsgReadable(): boolean {
  try {
    closeSync(openSync('/dev/kmsg', 'r'));
    return true;
  } catch {
    return false;
  }
}

const MB = 1024 * 1024;
/** The payload: notes its own cgroup and limits, leaves a daemon behind, then holds 200 MB of touched memory for 3 s. */
function payloadScript(outDir: string): string {
  const file = path.join(outDir, 'payload.sh');
  writeFileSync(
    file,
    [
      'd=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)',
      `echo "$PandaID $d $(cat "$d/memory.max") $(cat "$d/memory.swap.max" 2>/dev/null || echo no-swap-accounting)" >> ${outDir}/limits`,
      // A daemon that leaves the payload's session: only the cgroup still knows it.
      `setsid sleep 600 < /dev/null > /dev/null 2>&1 & echo $! >> ${outDir}/daemons`,
      `exec ${process.execPath} -e "const b = Buffer.alloc(200 * 1024 * 1024, 1); setTimeout(() => console.log('held', b.length), 3000)"`,
    ].join('\n'),
  );
  return `bash ${file}`;
}

function pilotLog(workdir: string): Array<Record<string, unknown>> {
  const homes = readdirSync(workdir).filter((d) => d.startsWith('PanDA_Pilot3_'));
  return homes.flatMap((h) =>
    readFileSync(path.join(workdir, h, 'pilotlog.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

describe.skipIf(skipReason !== null)(`cgroup v2 on a real kernel (${mode ?? '?'})`, () => {
  let stub: StubProcess;
  beforeAll(async () => {
    stub = await startStubProcess(scratchDir('v2-stub'));
  });
  afterAll(async () => stub?.stop());

  it('discovery finds the v2 cgroup this process is in, with its memory controller', () => {
    const line = readFileSync('/proc/self/cgroup', 'utf8');
    expect(line).toMatch(/^0::\//); // v2 only: no v1 hierarchy lines at all
    const loc = discoverMemoryCgroup();
    expect(loc?.version).toBe(2);
    expect(loc?.cgroupPath).toBe(line.trim().slice(3));
    expect(readFileSync(path.join(loc!.dir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(process.pid));
    expect(readFileSync(path.join(loc!.dir, 'cgroup.controllers'), 'utf8')).toMatch(/\bmemory\b/);
    expect(canCreateChildren(loc!)).toBe(mode !== 'none');
  });

  it.runIf(mode === 'root' || mode === 'delegated')('memory.peak feeds maxRSS for a payload that ended before the monitor saw it', async () => {
    const cg = PayloadCgroup.create(own!, { name: `v2-peak-${process.pid}`, limitMB: 400 });
    try {
      // dd touches its 100 MB block buffer once and exits; the monitor starts only afterwards.
      const { p } = await startPayload('dd if=/dev/zero of=/dev/null bs=100M count=1 status=none', { cgroupProcsFile: cg.procsFile });
      expect((await p.done).exitCode).toBe(0);
      expect(readFileSync(path.join(cg.dir, 'memory.max'), 'utf8').trim()).toBe(String(400 * MB));
      const monitor = PayloadMonitor.start({ sid: p.pid, cgroup: { dir: cg.dir, version: 2, own: true }, intervalMs: 100, limits: NO_LIMITS, workDir: null });
      const { summary, cgroupAtEnd } = await monitor.stop();
      expect(cgroupAtEnd?.peakKb).toBeGreaterThanOrEqual(100 * 1024);
      expect(summary.memorySource).toBe('cgroup');
      expect(summary.maxRSS).toBe(cgroupAtEnd?.peakKb);
    } finally {
      expect(await cg.remove()).toBe(true);
    }
  });

  it.runIf(mode === 'root' || mode === 'delegated')(
    "a pilot in a batch job's cgroup moves itself into a leaf; its payload gets memory.max = the job's memory and no swap; OOM → 1212 → boosted retry finishes; leftovers killed, cgroups removed",
    async () => {
      // The batch system's job cgroup, under the area the guest set aside (root) or delegated (user).
      const area = process.env.PANDA_TEST_CGROUP_AREA ?? '';
      expect(existsSync(path.join(area, 'cgroup.subtree_control')), `PANDA_TEST_CGROUP_AREA=${area}`).toBe(true);
      writeFileSync(path.join(area, 'cgroup.subtree_control'), '+memory');
      const job = path.join(area, `job-${process.pid}`);
      mkdirSync(job);
      const out = scratchDir('v2-payload');
      const workdir = scratchDir('v2-pilot');
      try {
        const site = `V2_${mode}`;
        const taskId = await submitHungryTask(stub.url, `v2_${mode}`, site, payloadScript(out));
        const run = await runPilotProcess(pilotCommandLine(site, stub.url, workdir, { ...QUICK_PILOT, 'monitor-interval': 0.2 }), {
          timeoutMs: 240_000,
          cgroupProcsFile: path.join(job, 'cgroup.procs'),
        });
        expect(run.code, run.stderr).toBe(0);

        const [first, second] = await bothAttempts(stub.url, taskId);
        expect(first.state).toBe('failed');
        expect(Number(first.report.pilotErrorCode), first.report.pilotErrorDiag).toBe(1212);
        // The kernel's own line when this user may read /dev/kmsg, else the cgroup's oom_kill counter.
        expect(first.report.pilotErrorDiag).toMatch(
          kmsgReadable() ? /^Memory cgroup out of memory: Killed process \d+ \(node\) total-vm:\d+kB, anon-rss:\d+kB/ : /oom_kill 0→1/,
        );
        expect(second.minRamCount).toBe(300);
        expect(second.state).toBe('finished');
        // memory.peak feeds the figures: the 200 MB the retry held, seen by the samples or the cgroup's peak.
        expect(Number(second.report.maxRSS)).toBeGreaterThanOrEqual(200 * 1024);
        expect(Number(/cgroupPeakMB=(\d+)/.exec(String(second.report.jobMetrics))?.[1])).toBeGreaterThanOrEqual(200);

        // Each attempt ran in its own child of the pilot's cgroup, limited to its job's memory, no swap.
        const limits = readFileSync(path.join(out, 'limits'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '));
        expect(limits.map((l) => l.slice(0, 1).concat(l.slice(2)))).toEqual([
          [String(first.pandaId), String(100 * MB), '0'],
          [String(second.pandaId), String(300 * MB), '0'],
        ]);
        for (const [, dir] of limits) expect(path.dirname(dir!)).toBe(job);
        // Leftovers: each attempt's daemon was killed when its cgroup was removed.
        const daemons = readFileSync(path.join(out, 'daemons'), 'utf8').trim().split('\n').map(Number);
        expect(daemons).toHaveLength(2);
        expect(daemons.filter(processAlive)).toEqual([]);

        // No internal processes: the pilot moved into a leaf before enabling memory for its payloads.
        expect(readFileSync(path.join(job, 'cgroup.subtree_control'), 'utf8')).toMatch(/\bmemory\b/);
        const left = readdirSync(job, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name);
        expect(left).toEqual(['pilot']);
        expect(readFileSync(path.join(job, 'pilot', 'cgroup.procs'), 'utf8')).toBe('');
        const discovered = pilotLog(workdir).filter((e) => e.event === 'cgroup_discovered');
        expect(discovered).toMatchObject([{ version: 2, dir: job, payloadCgroups: true }]);
      } finally {
        for (const d of [path.join(job, 'pilot'), job]) {
          try {
            rmdirSync(d);
          } catch {
            // already gone, or the assertion above says why
          }
        }
      }
    },
  );

  it.runIf(mode === 'none')(
    "no delegation: the pilot says so once and its own watchdog (1235) enforces the job's memory; the boosted retry finishes",
    async () => {
      const out = scratchDir('v2-payload');
      const workdir = scratchDir('v2-pilot');
      const site = 'V2_none';
      const taskId = await submitHungryTask(stub.url, 'v2_none', site, payloadScript(out));
      const run = await runPilotProcess(pilotCommandLine(site, stub.url, workdir, { ...QUICK_PILOT, 'monitor-interval': 0.2 }), { timeoutMs: 240_000 });
      expect(run.code, run.stderr).toBe(0);
      const [first, second] = await bothAttempts(stub.url, taskId);
      expect(Number(first.report.pilotErrorCode), first.report.pilotErrorDiag).toBe(1235);
      expect(second.state).toBe('finished');
      // The payloads ran in the pilot's own cgroup: none was made for them.
      const cgroups = readFileSync(path.join(out, 'limits'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]);
      expect(cgroups).toEqual([own!.dir, own!.dir]);
      const log = pilotLog(workdir);
      // Said once per pilot, not once per job; and no job was refused a cgroup it was never going to get.
      expect(log.filter((e) => e.event === 'cgroup_fallback')).toHaveLength(1);
      expect(log.filter((e) => e.event === 'cgroup_refused')).toHaveLength(0);
    },
  );
});
