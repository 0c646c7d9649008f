#!/usr/bin/env node
// Dispatch: a slot's idle time between consecutive jobs (its payload ended →
// the next payload started), with and without pipelined dispatch, and the
// pilot's per-job overhead over JOBS jobs of `true` against JOBS × `bash -c true`
// spawned one after another in the same run (the floor of running a command).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { dist, startStub } from './support.mjs';

// BENCH_ROOT: an earlier checkout's pilot (its dist), measured with this same script against today's stub.
const pilot = process.env.BENCH_ROOT ? path.join(process.env.BENCH_ROOT, 'dist', 'panda-pilot.mjs') : dist('panda-pilot.mjs');
const JOBS = Number(process.env.BENCH_JOBS ?? 200);
// BENCH_NODE_ARGS: extra node options for the pilot (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), split on spaces.
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
// BENCH_SERIAL=0 skips the --no-pipeline run (half the time when only the pipelined figures matter).
const withSerial = process.env.BENCH_SERIAL !== '0';

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const tmp = (p) => mkdtempSync(path.join(tmpdir(), p));

const data = tmp('bench-dispatch-stub-');
// --open: neither the submit nor the pilots' log uploads need the stub's token.
const stub = await startStub(data);
const url = stub.url;
// A bench that fails must not leave its stub behind.
process.on('exit', () => stub.stop());

/** CPU ms a process has used so far (Linux /proc; user + system). */
function cpuMsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

// The pilot's own CPU (not its payloads'), user and system ms, written at its exit by a preloaded hook: CPU
// time barely depends on what else the machine runs, so these columns compare runs on a loaded machine
// better than wall time.
// Also the main thread's own share (/proc/self/task/<pid>/stat, user + system, 10 ms ticks): the event loop
// is what a slot's dispatch waits on; the rest is V8's compiler and GC threads and libuv's pool.
const cpuHook = (file) =>
  `data:text/javascript,import{readFileSync,writeFileSync}from"node:fs";process.on("exit",()=>{const u=process.cpuUsage();const f=readFileSync("/proc/self/task/"+process.pid+"/stat","utf8").split(") ")[1].split(" ");writeFileSync(${JSON.stringify(file)},JSON.stringify([u.user/1000,u.system/1000,(Number(f[11])+Number(f[12]))*10]))})`;

async function submit(site) {
  const res = await fetch(`${url}/stub/tasks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: site,
      site,
      maxAttempts: 1,
      memoryMB: 10,
      jobs: Array.from({ length: JOBS }, (_, i) => ({ name: `t${i}`, command: 'true' })),
    }),
  });
  if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
}

function runPilot(site, extra) {
  const work = tmp('bench-dispatch-work-');
  const cpuFile = path.join(work, 'pilot-cpu-ms');
  const stubCpu0 = cpuMsOf(stub.child.pid);
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [
        ...nodeArgs,
        '--import',
        cpuHook(cpuFile),
        pilot,
        '-q',
        site,
        '--url',
        url,
        '-a',
        work,
        '--getjob-wait',
        '0',
        '--log-destination',
        tmp('bench-dispatch-logs-'),
        '--quiet',
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    p.once('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const home = readdirSync(work).find((n) => n.startsWith('PanDA_Pilot3_'));
      const events = readFileSync(path.join(work, home, 'pilotlog.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const t = (e) => (typeof e.time === 'number' ? e.time : Date.parse(e.time));
      const idle = [];
      let lastExit = null;
      for (const e of events) {
        if (e.event === 'payload_exit') lastExit = t(e);
        if (e.event === 'payload_start' && lastExit !== null) idle.push(t(e) - lastExit);
      }
      const jobs = events.filter((e) => e.event === 'job_end').length;
      const [userMs, sysMs, mainMs] = JSON.parse(readFileSync(cpuFile, 'utf8'));
      resolve({ code, wallMs, idle, jobs, userMs, sysMs, mainMs, pilotCpuMs: userMs + sysMs, stubCpuMs: cpuMsOf(stub.child.pid) - stubCpu0 });
    });
  });
}

// Baseline: JOBS × bash -c true, one after another.
let t0 = process.hrtime.bigint();
// stdin /dev/null, as the pilot's launchers have: a bash whose stdin is a socket (node's default pipe) and whose
// environment has no SHLVL reads ~/.bashrc (its rshd rule), 300 ms a start on a machine whose bashrc runs pyenv.
for (let i = 0; i < JOBS; i++) spawnSync('bash', ['-c', 'true'], { stdio: 'ignore' });
const bashMs = Number(process.hrtime.bigint() - t0) / 1e6 / JOBS;

// The pilot's fixed cost (start, queue, dialect, exit) with no job, to take off the per-job figure: the
// run with the median wall time of three (one start on a busy machine varied 180-540 ms, ±1.5 ms a job).
const empties = [];
for (let i = 0; i < 3; i++) empties.push(await runPilot('BENCH_EMPTY', []));
const empty = empties.sort((a, b) => a.wallMs - b.wallMs)[1];
await submit('BENCH_PIPE');
const piped = await runPilot('BENCH_PIPE', ['--slots', '1']);
let serial = null;
if (withSerial) {
  await submit('BENCH_SERIAL');
  serial = await runPilot('BENCH_SERIAL', ['--slots', '1', '--no-pipeline']);
}
stub.stop();

const perJob = (r) => (r.wallMs - empty.wallMs) / r.jobs;
console.log(`jobs: ${JOBS} of \`true\`, one slot, stub on loopback; idle = payload ended → next payload started (pilot log, ms)`);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; pilot ${pilot}`,
);
console.log(
  '| dispatch | jobs | idle median ms | idle p90 ms | per-job ms | × bash -c true | pilot CPU ms/job | of it user / sys | of it main thread | stub CPU ms/job |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
console.log(`| bash -c true (baseline) | ${JOBS} | – | – | ${bashMs.toFixed(1)} | 1.00 | – | – | – | – |`);
const rows = [['pipelined', piped]];
if (serial) rows.push(['serial (--no-pipeline)', serial]);
for (const [name, r] of rows) {
  const per = (k) => ((r[k] - empty[k]) / r.jobs).toFixed(1);
  console.log(
    `| ${name} | ${r.jobs} | ${quantile(r.idle, 0.5).toFixed(0)} | ${quantile(r.idle, 0.9).toFixed(0)} | ${perJob(r).toFixed(1)} | ${(perJob(r) / bashMs).toFixed(2)} | ${per('pilotCpuMs')} | ${per('userMs')} / ${per('sysMs')} | ${per('mainMs')} | ${(r.stubCpuMs / r.jobs).toFixed(1)} |`,
  );
}
console.log(`\npilot with no job (start → exit): ${empty.wallMs.toFixed(0)} ms, ${empty.pilotCpuMs.toFixed(0)} ms CPU, taken off the per-job figures`);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exitCode = piped.code === 0 && (serial?.code ?? 0) === 0 ? 0 : 1;
