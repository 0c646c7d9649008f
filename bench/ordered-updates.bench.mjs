#!/usr/bin/env node
// Ordered updates vs a naive sender under the same network faults.
//
// Runs many short jobs through real pilot processes (dist/panda-pilot.mjs) and the real stub
// (dist/panda-stub.mjs) with the fault proxy (test/support/fault-proxy.ts) between them, twice with
// the same fault seed: once with the pilot's ordered update channel, once with --naive-updates (fire
// each update as it is made, concurrently, retry each a few times). Prints jobs, updates, faults by
// kind, order violations, lost finals for both, and the wall time of the naive run as a ratio of the
// ordered one. Needs `node build.mjs` first (npm run bench does it).
//
// Options: --jobs N (default 120), --seed S (default 11), --rate R (default 0.25),
// --only ordered|naive, --keep (keep the stub and pilot directories and say where).
import { parseArgs } from 'node:util';
import { importTs } from './support.mjs';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '120' },
    seed: { type: 'string', default: '11' },
    rate: { type: 'string', default: '0.25' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

// The scenario lives with the tests (TypeScript); bundled next to bench/ so its paths to dist/ still resolve.
const { runFaultScenario, formatResults } = await importTs('fault-scenario', 'test/support/fault-scenario.ts');

const jobs = Number(values.jobs);
const base = {
  jobs,
  failEvery: 6,
  pilots: [
    { api: 'legacy', slots: 3 },
    { api: 'v1', slots: 3 },
    { api: 'v1', slots: 4, bulk: true },
    { api: 'legacy', slots: 4, bulk: true },
  ],
  payloadSec: [0.5, 2.5],
  timeoutSec: 1,
  heartbeatSec: 0.3,
  finalDeadlineSec: 4,
  getjobWaitSec: 10,
  watchdog: { sentSec: 30, heartbeatSec: 60, intervalSec: 1 },
  faults: {
    seed: Number(values.seed),
    rate: Number(values.rate),
    activeMs: 30_000,
    maxFaults: 2_000,
    downWindows: [
      { atMs: 4_000, forMs: 2_000 },
      { atMs: 12_000, forMs: 6_000 },
      { atMs: 24_000, forMs: 3_000 },
    ],
  },
  limitMs: 240_000,
  log: (line) => process.stderr.write(`${line}\n`),
};

const results = [];
for (const label of ['ordered', 'naive']) {
  if (values.only && values.only !== label) continue;
  results.push(await runFaultScenario({ ...base, label, naive: label === 'naive', keepDirs: values.keep }));
}
process.stdout.write(`\n${formatResults(results)}\n`);
if (results.length === 2) process.stdout.write(`\nwall time, naive / ordered: ${(results[1].seconds / results[0].seconds).toFixed(2)}\n`);
process.stdout.write(
  `seed ${values.seed}, fault rate ${values.rate}, ${jobs} jobs, ${base.pilots.length} pilots, --timeout ${base.timeoutSec} --heartbeat ${base.heartbeatSec}\n`,
);
for (const r of results) {
  if (r.problems.length) process.stdout.write(`\n${r.label}: first problems\n  ${r.problems.slice(0, 12).join('\n  ')}\n`);
}
