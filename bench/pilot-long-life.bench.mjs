#!/usr/bin/env node
// One pilot over a long life: it runs N jobs of `true` (default 1000) from the
// stub, one slot, and the pilot's RSS (/proc/<pid>/status VmRSS: the median of
// one sample per job over the 25 jobs before each checkpoint) and the
// time per job are printed against the job count. A pilot holds its slot for
// days: RSS after 1,000 jobs should be within 10 % of RSS after 50. (The
// task has 5 jobs more, so the pilot is still alive at the last checkpoint.) Per-job
// time is shown next to the first window's, from the same run.
//   BENCH_JOBS=1000 (checkpoints past it are dropped)
//   BENCH_PILOT_NODE_ARGS='--heapsnapshot-signal=SIGWINCH' to look inside (heap snapshots, --trace-gc;
//   BENCH_PILOT_STDOUT=1 shows the pilot's stdout, where --trace-gc writes;
//   BENCH_SMAPS_DIR=dir keeps /proc/<pid>/smaps at each checkpoint)
//   node bench/pilot-long-life.bench.mjs [bundle.mjs]   (default dist/panda-pilot.mjs)
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, startStub as serve } from './support.mjs';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const pilotBundle = process.argv[2] ? path.resolve(process.argv[2]) : dist('panda-pilot.mjs');
const CHECKPOINTS = [10, 50, 100, 200, 400, 700, 1000].filter((n) => n <= JOBS);
// With BENCH_PILOT_NODE_ARGS='--heapsnapshot-signal=SIGUSR2': job counts at which the pilot writes a heap snapshot (into its cwd).
const SNAPSHOT_AT = (process.env.BENCH_SNAPSHOT_AT ?? '').split(',').filter(Boolean).map(Number);
const scratch = mkdtempSync(path.join(tmpdir(), 'bench-life-'));

const startStub = () => serve(path.join(scratch, 'stub'));

const statusKb = (pid, field) => {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
};

const stub = await startStub();
const rows = [];
let code;
try {
  const res = await fetch(`${stub.url}/stub/tasks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ site: 'BENCH', name: 'life', maxAttempts: 1, command: 'true', count: JOBS + 5, cores: 1 }),
  });
  if (!res.ok) throw new Error(`POST /stub/tasks: ${res.status} ${await res.text()}`);
  const work = path.join(scratch, 'pilot');
  const nodeArgs = (process.env.BENCH_PILOT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const pilot = spawn(
    process.execPath,
    [...nodeArgs, pilotBundle, '-q', 'BENCH', '--url', stub.url, '--api', 'v1', '-a', work, '--getjob-wait', '0', '--quiet', '--slots', '1'],
    { stdio: ['ignore', process.env.BENCH_PILOT_STDOUT ? 'inherit' : 'ignore', 'pipe'], cwd: process.env.BENCH_PILOT_CWD ?? process.cwd() },
  );
  let err = '';
  pilot.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const exited = new Promise((resolve) => pilot.once('exit', (c) => resolve(c)));
  let done = false;
  void exited.then(() => (done = true));

  // Follow the pilot's JSON log: count job_end lines; read RSS when a checkpoint is passed.
  let logFile = null;
  let offset = 0;
  let partial = '';
  let jobs = 0;
  const t0 = performance.now();
  let last = { jobs: 0, t: t0 };
  const buf = Buffer.alloc(1 << 20);
  const WINDOW = 25;
  const recent = [];
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  while (!done) {
    if (!logFile) {
      const home = existsSync(work) ? readdirSync(work, { withFileTypes: true }).find((d) => d.isDirectory()) : undefined;
      if (home) logFile = path.join(work, home.name, 'pilotlog.jsonl');
    }
    if (logFile && statSync(logFile, { throwIfNoEntry: false })?.size > offset) {
      const fd = openSync(logFile, 'r');
      let n;
      while ((n = readSync(fd, buf, 0, buf.length, offset)) > 0) {
        offset += n;
        const lines = (partial + buf.toString('utf8', 0, n)).split('\n');
        partial = lines.pop();
        for (const l of lines) {
          if (!l.includes('"event":"job_end"')) continue;
          jobs += 1;
          // RSS swings by several MB within a few jobs (GC, malloc trims): the figure for "after N
          // jobs" is the median of one sample per job over the last WINDOW jobs, not one instant.
          recent.push(statusKb(pilot.pid, 'VmRSS'));
          if (recent.length > WINDOW) recent.shift();
          if (SNAPSHOT_AT.includes(jobs)) pilot.kill(process.env.BENCH_SNAPSHOT_SIGNAL ?? 'SIGWINCH');
          if (CHECKPOINTS.includes(jobs)) {
            const t = performance.now();
            // To see which mappings grow: /proc/<pid>/smaps at each checkpoint.
            if (process.env.BENCH_SMAPS_DIR) writeFileSync(path.join(process.env.BENCH_SMAPS_DIR, `smaps-${jobs}`), readFileSync(`/proc/${pilot.pid}/smaps`));
            rows.push({
              jobs,
              rss: median(recent),
              now: statusKb(pilot.pid, 'VmRSS'),
              anon: statusKb(pilot.pid, 'RssAnon'),
              file: statusKb(pilot.pid, 'RssFile'),
              hwm: statusKb(pilot.pid, 'VmHWM'),
              perJob: (t - last.t) / (jobs - last.jobs),
            });
            last = { jobs, t };
          }
        }
      }
      closeSync(fd);
    }
    if (done) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  code = await exited;
  if (code !== 0) console.error(`pilot exited ${code}: ${err}`);
  console.log(
    `${JOBS} jobs of \`true\`, one pilot (${path.relative(process.cwd(), pilotBundle)}), one slot, node ${process.version}; ${jobs} job_end lines; wall ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
} finally {
  stub.stop();
  rmSync(scratch, { recursive: true, force: true });
}

const ref = rows.find((r) => r.jobs === 50) ?? rows[0];
console.log(
  '| jobs done | RSS MB (median, last 25 jobs) | × RSS at 50 | RSS MB at that job | anon MB | file MB | peak RSS MB | ms/job in window | × window to 50 |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.jobs} | ${(r.rss / 1024).toFixed(1)} | ${(r.rss / ref.rss).toFixed(2)} | ${(r.now / 1024).toFixed(1)} | ${(r.anon / 1024).toFixed(1)} | ${(r.file / 1024).toFixed(1)} | ${(r.hwm / 1024).toFixed(1)} | ${r.perJob.toFixed(0)} | ${(r.perJob / ref.perJob).toFixed(2)} |`,
  );
}
process.exitCode = code === 0 ? 0 : 1;
