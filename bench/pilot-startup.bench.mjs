#!/usr/bin/env node
// Pilot start-up: time from spawn to its first request at a loopback server,
// and the pilot's peak RSS, against plain `node -e` started the same way in
// the same run (the floor any Node program pays).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pilot = path.join(root, 'dist', 'panda-pilot.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 10);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let firstRequestAt = null;
const server = createServer((req, res) => {
  firstRequestAt ??= process.hrtime.bigint();
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ StatusCode: 20 }));
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;

function run(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    p.once('exit', () => resolve());
  });
}

const baseline = [];
const toFirst = [];
const total = [];
const rss = [];
for (let i = 0; i < RUNS; i++) {
  let t0 = process.hrtime.bigint();
  await run(['-e', '']);
  baseline.push(Number(process.hrtime.bigint() - t0) / 1e6);

  const work = mkdtempSync(path.join(tmpdir(), 'bench-start-'));
  firstRequestAt = null;
  t0 = process.hrtime.bigint();
  await run([pilot, '-q', 'BENCH', '--url', url, '--api', 'legacy', '--getjob-wait', '0', '-a', work, '--quiet']);
  total.push(Number(process.hrtime.bigint() - t0) / 1e6);
  toFirst.push(Number(firstRequestAt - t0) / 1e6);
  const home = readdirSync(work)[0];
  const end = readFileSync(path.join(work, home, 'pilotlog.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'pilot_end');
  rss.push(end?.maxRssKb ?? NaN);
}
server.close();

const base = median(baseline);
console.log(`runs: ${RUNS} (median)`);
console.log('| measure | ms | × node -e |');
console.log('|---|---|---|');
console.log(`| node -e '' (baseline) | ${base.toFixed(1)} | 1.00 |`);
console.log(`| pilot spawn → first request | ${median(toFirst).toFixed(1)} | ${(median(toFirst) / base).toFixed(2)} |`);
console.log(`| pilot spawn → exit (no job) | ${median(total).toFixed(1)} | ${(median(total) / base).toFixed(2)} |`);
console.log(`\npilot peak RSS (process.resourceUsage): ${(median(rss) / 1024).toFixed(1)} MB`);
