#!/usr/bin/env node
// Cost of one payload monitor sample (CPU ms, from process.cpuUsage around
// many samples) on a live payload tree of 11 processes, three ways:
//   session scan  — no own cgroup: every /proc/<pid>/stat on the node is read to find the session;
//   own cgroup    — the payload's cgroup.procs names its PIDs (needs a writable memory cgroup);
//   + looping walk — session scan plus the job-dir walk of the looping check (1000 files).
// Baseline (same run): reading /proc/<pid>/stat of the 11 PIDs once, the floor of any tree sample.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importTs } from './support.mjs';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const m = await importTs('monitor', 'pilot/src/monitor/index.ts');

const work = mkdtempSync(path.join(tmpdir(), 'bench-monitor-'));
const jobDir = path.join(work, 'job');
(await import('node:fs')).mkdirSync(jobDir);
for (let i = 0; i < 1000; i++) writeFileSync(path.join(jobDir, `f${i}`), 'x');

const parent = m.discoverMemoryCgroup();
const cg = parent && m.canCreateChildren(parent) ? m.PayloadCgroup.create(parent, { name: `bench-${process.pid}`, limitMB: null }) : null;
const args = ['-c', `${cg ? `echo $$ > ${cg.procsFile}; ` : ''}for i in $(seq 10); do sleep 60 & done; wait`];
const payload = spawn('/bin/bash', args, { detached: true, stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));

function cpuMsPer(fn) {
  fn(); // warm
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < SAMPLES; i++) fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000 / SAMPLES, wall: Number(process.hrtime.bigint() - t0) / 1e6 / SAMPLES };
}

const pids = m.sessionProcesses(payload.pid).map((p) => p.pid);
const nodeProcs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
const rows = [];
const base = cpuMsPer(() =>
  pids.forEach((p) => {
    try {
      readFileSync(`/proc/${p}/stat`);
    } catch {}
  }),
);
rows.push(["baseline: stat of the tree's PIDs", base]);
const mon = (opts) => m.PayloadMonitor.start({ sid: payload.pid, intervalMs: 3_600_000, limits: m.NO_LIMITS, workDir: null, cgroup: null, ...opts });
const scan = mon({});
rows.push(['session scan (no own cgroup)', cpuMsPer(() => scan.sampleOnce())]);
if (cg) {
  const own = mon({ cgroup: { dir: cg.dir, version: cg.version, own: true } });
  rows.push([`own cgroup v${cg.version} (cgroup.procs + figures)`, cpuMsPer(() => own.sampleOnce())]);
  await own.stop();
}
let t = 0;
const loop = mon({ workDir: jobDir, limits: { ...m.NO_LIMITS, loopingLimitSec: 1e12 } });
// force the walk every sample (normally once per min(900 s, limit/4)); the huge limit keeps the verdict away
rows.push(['session scan + looping walk (1000 files)', cpuMsPer(() => loop.sampleOnce(Date.now() + (t += 1_000_000)))]);
await scan.stop();
await loop.stop();

try {
  process.kill(-payload.pid, 'SIGKILL');
} catch {}
if (cg) await cg.remove();

console.log(`payload tree: ${pids.length} processes; node: ${nodeProcs} processes; ${SAMPLES} samples each`);
const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${'sample kind'.padEnd(w)}  CPU ms/sample  wall ms/sample  × baseline CPU`);
for (const [name, r] of rows)
  console.log(`${name.padEnd(w)}  ${r.cpu.toFixed(3).padStart(13)}  ${r.wall.toFixed(3).padStart(14)}  ${(r.cpu / base.cpu).toFixed(1).padStart(14)}`);
console.log(`at the default 60 s interval, the session scan costs ${((rows[1][1].cpu / 60000) * 100).toFixed(5)} % of one core`);
