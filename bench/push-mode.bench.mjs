#!/usr/bin/env node
// Push mode vs pull mode: the same N short jobs (`true`) run by one pilot,
//   (pull) the pilot asks the stub itself (getJob, updateJob);
//   (push) `panda-stub harvester` takes the jobs and hands them over in an
//          access point; the pilot asks for each next job with
//          worker_requestjob.json and reports through worker_attributes.json.
// Prints wall time per job, the ratio push/pull, and the PanDA calls the stub
// served by client (the stub's request counter, by User-Agent).
// BENCH_PUSH_N (default 20) scales it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dist, startStub as serve, stubApi as api } from './support.mjs';

const N = Number(process.env.BENCH_PUSH_N ?? 20);
const scratch = mkdtempSync(path.join(tmpdir(), 'bench-push-'));

function exec(args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    p.once('exit', (code) => resolve({ code, out, err }));
  });
}

const startStub = (name) => serve(path.join(scratch, name));

const pilotArgs = (queue, url, work) => [
  '-q',
  queue,
  '--url',
  url,
  '--api',
  'legacy',
  '-a',
  work,
  '--heartbeat',
  '60',
  '--monitor-interval',
  '1',
  '--quiet',
  '--cgroups',
  'off',
];

async function run(way) {
  const stub = await startStub(way);
  try {
    const queue = `BENCH_${way.toUpperCase()}`;
    await api(`${stub.url}/stub/tasks`, 'POST', { name: way, site: queue, command: 'true', count: N });
    const work = path.join(scratch, `${way}-pilot`);
    const t0 = performance.now();
    if (way === 'pull') {
      const r = await exec([dist('panda-pilot.mjs'), ...pilotArgs(queue, stub.url, work), '--getjob-wait', '0']);
      if (r.code !== 0) throw new Error(`pull pilot exit ${r.code}: ${r.err}`);
    } else {
      const ap = path.join(scratch, 'ap');
      mkdirSync(ap, { recursive: true });
      const harvester = exec([dist('panda-stub.mjs'), 'harvester', '--url', stub.url, '--access-point', ap, '-q', queue, '--poll-ms', '50', '--wait', '600']);
      // The worker starts once its job is in the access point, as Harvester submits it.
      for (let i = 0; i < 600; i++) {
        const { existsSync } = await import('node:fs');
        if (existsSync(path.join(ap, 'HPCJobs.json'))) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // --getjob-wait 1: after the last job the pilot waits 1 s for another (the pull pilot: 0 s).
      const r = await exec(
        [
          dist('panda-pilot.mjs'),
          ...pilotArgs(queue, stub.url, work),
          '-z',
          '--harvester-workdir',
          ap,
          '--harvester-submit-mode',
          'PUSH',
          '--getjob-wait',
          '1',
        ],
        { cwd: ap },
      );
      const h = await harvester;
      if (r.code !== 0 || h.code !== 0) throw new Error(`push pilot exit ${r.code} / harvester ${h.code}: ${r.err} ${h.err}`);
    }
    const wall = (performance.now() - t0) / 1000;
    const summary = await api(`${stub.url}/stub/summary`);
    const finished = summary.jobs.finished ?? 0;
    if (finished !== N) throw new Error(`${way}: ${finished}/${N} jobs finished`);
    return { way, wall, perJob: wall / N, byAgent: summary.requests.byAgent, byMethod: summary.requests.byMethod, total: summary.requests.total };
  } finally {
    stub.stop();
  }
}

try {
  const pull = await run('pull');
  const push = await run('push');
  console.log(`${N} jobs (\`true\`), one pilot, legacy dialect`);
  console.log('| mode | wall s | s/job | requests by the pilot | by the harvester | requests/job |');
  console.log('|---|---|---|---|---|---|');
  for (const r of [pull, push]) {
    const pilot = r.byAgent['panda-node-pilot'] ?? 0;
    const harvester = r.byAgent['panda-stub-harvester'] ?? 0;
    console.log(`| ${r.way} | ${r.wall.toFixed(2)} | ${r.perJob.toFixed(3)} | ${pilot} | ${harvester} | ${(r.total / N).toFixed(2)} |`);
  }
  console.log(
    `push/pull wall per job: ${(push.perJob / pull.perJob).toFixed(2)}× (push includes the 1 s wait after its last job); calls: pull ${JSON.stringify(pull.byMethod)}, push ${JSON.stringify(push.byMethod)}`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
