#!/usr/bin/env node
// Event service vs one job per payload: N short payloads (~0.1 s) run three
// ways in one run, on this machine's two cores:
//   (a) plain `bash -c`, two at a time — the floor;
//   (b) one PanDA job per payload through the stub and a pilot with two slots;
//   (c) the event service: the same payloads as ranges, RANGES per job, run two ways:
//       one pilot slot whose jobs run 2 ranges side by side (coreCount 2), and two
//       slots whose jobs run 1 range at a time (one pilot per core, as Rubin's USDF template does).
// Prints wall time, overhead per payload over (a), and the PanDA calls the stub served.
// BENCH_ES_N (default 1000) and BENCH_ES_RANGES (default 20) scale it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, startStub as serve, stubApi as api } from './support.mjs';

const N = Number(process.env.BENCH_ES_N ?? 1000);
const RANGES = Number(process.env.BENCH_ES_RANGES ?? 20);
const PAYLOAD = 'sleep 0.1';
const scratch = mkdtempSync(path.join(tmpdir(), 'bench-es-'));

function exec(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let err = '';
    p.stderr?.on('data', (d) => (err += d));
    p.once('exit', (code) => resolve({ code, err }));
  });
}

async function plain() {
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next += 1;
      await exec('/bin/bash', ['-c', PAYLOAD]);
    }
  };
  const t0 = performance.now();
  await Promise.all([worker(), worker()]);
  return { wall: (performance.now() - t0) / 1000, requests: 0 };
}

const startStub = (name) => serve(path.join(scratch, name));

async function throughPanda(name, task, pilotArgs) {
  const stub = await startStub(name);
  try {
    await api(`${stub.url}/stub/tasks`, 'POST', task);
    const work = path.join(scratch, `${name}-pilot`);
    const t0 = performance.now();
    const r = await exec(process.execPath, [
      dist('panda-pilot.mjs'),
      '-q',
      task.site,
      '--url',
      stub.url,
      '--api',
      'v1',
      '-a',
      work,
      '--getjob-wait',
      '0',
      '--quiet',
      ...pilotArgs,
    ]);
    const wall = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`pilot exited ${r.code}: ${r.err.slice(-500)}`);
    const summary = await api(`${stub.url}/stub/summary`);
    const notFinished = Object.entries(summary.jobs)
      .filter(([s]) => s !== 'finished')
      .reduce((n, [, c]) => n + c, 0);
    if (notFinished > 0) throw new Error(`${name}: ${notFinished} jobs did not finish: ${JSON.stringify(summary.jobs)}`);
    return { wall, requests: summary.requests.total, byMethod: summary.requests.byMethod, jobs: summary.jobs.finished };
  } finally {
    stub.stop();
  }
}

const base = { site: 'BENCH', maxAttempts: 1, command: PAYLOAD, count: N };
const rows = [];
try {
  const a = await plain();
  rows.push({ way: '(a) bash -c, 2 at a time', ...a, jobs: '-' });
  const b = await throughPanda('perjob', { ...base, name: 'perjob', cores: 1 }, ['--slots', '2']);
  rows.push({ way: '(b) one PanDA job per payload, 2 slots', ...b });
  const c = await throughPanda('es2', { ...base, name: 'es2', cores: 2, eventService: true, rangesPerJob: RANGES }, ['--slots', '1']);
  rows.push({ way: `(c) event service, ${RANGES} ranges/job, 1 slot × 2 cores`, ...c });
  const c1 = await throughPanda('es1', { ...base, name: 'es1', cores: 1, eventService: true, rangesPerJob: RANGES }, ['--slots', '2']);
  rows.push({ way: `(c') event service, ${RANGES} ranges/job, 2 slots × 1 core`, ...c1 });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const floor = rows[0].wall;
console.log(`payloads: ${N} × \`${PAYLOAD}\`, node ${process.version}`);
console.log('| way | wall s | × (a) | overhead ms/payload over (a) | PanDA jobs | server requests |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.way} | ${r.wall.toFixed(1)} | ${(r.wall / floor).toFixed(2)} | ${(((r.wall - floor) * 1000) / N).toFixed(1)} | ${r.jobs} | ${r.requests} |`,
  );
}
const [, b, ...es] = rows;
console.log('');
for (const c of es) {
  console.log(
    `${c.way.split(' ')[0]} vs (a): ${(c.wall / floor).toFixed(2)}× wall (target ≤ 1.2×); (b)/${c.way.split(' ')[0]} server requests: ${(b.requests / c.requests).toFixed(1)}× (target ≥ 5×)`,
  );
}
for (const r of [b, ...es]) console.log(`${r.way.split(' ')[0]} calls: ${JSON.stringify(r.byMethod)}`);
