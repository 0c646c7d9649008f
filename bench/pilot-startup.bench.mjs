#!/usr/bin/env node
// Pilot start-up: time from spawn to its first request at a loopback server,
// and the pilot's peak RSS, against plain `node -e ''` started the same way in
// the same run (the floor any Node program pays). Runs are interleaved
// (baseline, pilot, baseline, pilot, …) so machine load hits both alike.
//
//   node bench/pilot-startup.bench.mjs [bundle.mjs …]   (default dist/panda-pilot.mjs)
//   BENCH_RUNS=20 to change the number of runs (default 15).
// Several bundles (e.g. a build of main and of a branch) are compared in one run.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundles = process.argv.slice(2).length ? process.argv.slice(2).map((p) => path.resolve(p)) : [path.join(root, 'dist', 'panda-pilot.mjs')];
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];

// The queue's data, as a server serves it: a start includes reading and checking it, as on a site.
const QUEUE_DATA = JSON.stringify({
  name: 'BENCH',
  nickname: 'BENCH',
  site: 'BENCH',
  status: 'online',
  state: 'ACTIVE',
  maxrss: 4000,
  maxtime: 86400,
  corecount: 1,
  copytools: {},
  params: {},
});

let firstRequestAt = null;
let queueDataServed = 0;
const server = createServer((req, res) => {
  firstRequestAt ??= process.hrtime.bigint();
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    if (req.url?.startsWith('/cache/schedconfig/')) {
      queueDataServed += 1;
      res.end(QUEUE_DATA);
    } else res.end(JSON.stringify({ StatusCode: 20 }));
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;

/** Runs node with `args`; resolves with its stdout once it exited. */
function run(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('close', () => resolve(out));
  });
}

const rows = [
  { name: "node -e '' (baseline)", first: [], exit: [], rss: [] },
  ...bundles.map((b) => ({ name: path.relative(process.cwd(), b), bundle: b, first: [], exit: [], rss: [] })),
];
for (let i = 0; i < RUNS; i++) {
  for (const row of rows) {
    const t0 = process.hrtime.bigint();
    if (!row.bundle) {
      // The baseline's own peak RSS, read at its exit (it makes no request: first = exit).
      const out = await run(['-e', "process.on('exit',()=>process.stdout.write(String(process.resourceUsage().maxRSS)))"]);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      row.first.push(ms);
      row.exit.push(ms);
      row.rss.push(Number(out));
      continue;
    }
    const work = mkdtempSync(path.join(tmpdir(), 'bench-start-'));
    firstRequestAt = null;
    await run([row.bundle, '-q', 'BENCH', '--url', url, '--api', 'legacy', '--getjob-wait', '0', '-a', work, '--quiet']);
    row.exit.push(Number(process.hrtime.bigint() - t0) / 1e6);
    row.first.push(firstRequestAt === null ? NaN : Number(firstRequestAt - t0) / 1e6);
    const home = readdirSync(work)[0];
    const end = readFileSync(path.join(work, home, 'pilotlog.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((e) => e.event === 'pilot_end');
    row.rss.push(end?.maxRssKb ?? NaN);
    rmSync(work, { recursive: true, force: true });
  }
}
server.close();

const base = median(rows[0].first);
const fmt = (xs) => {
  const s = sorted(xs);
  return `${median(xs).toFixed(0)} (${s[0].toFixed(0)}–${s[s.length - 1].toFixed(0)})`;
};
console.log(
  `runs: ${RUNS}, interleaved; ms as median (min–max); ratio = median / baseline median; queue data served ${queueDataServed}×; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('| program | spawn → first request ms | × baseline | spawn → exit ms | × baseline | peak RSS MB median (max) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) {
  const rss = `${(median(row.rss) / 1024).toFixed(1)} (${(Math.max(...row.rss) / 1024).toFixed(1)})`;
  console.log(
    `| ${row.name} | ${fmt(row.first)} | ${(median(row.first) / base).toFixed(2)} | ${fmt(row.exit)} | ${(median(row.exit) / base).toFixed(2)} | ${rss} |`,
  );
}
