#!/usr/bin/env node
// Release tree build (npm run release): time to build a tree with a warm
// runtime cache, against copying the finished tree with `cp -a` in the same
// run (the floor for writing that many bytes), plus the tree's size and the
// runtime it ships. The first build of a machine also fetches the runtime
// (~50 MB with npm) and is reported separately.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const release = path.join(root, 'dist', 'panda-release.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function build(out, version) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [release, '--out', out, '--version', version], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`release build failed:\n${r.stderr}`);
  return { ms: ms(t0), info: JSON.parse(r.stdout.trim().split('\n').at(-1)) };
}

const scratch = mkdtempSync(path.join(tmpdir(), 'bench-release-'));
try {
  const warm = build(path.join(scratch, 'warm'), '0.0.1'); // fills the runtime cache if empty
  const builds = [];
  const copies = [];
  let info = warm.info;
  for (let i = 0; i < RUNS; i++) {
    const out = path.join(scratch, `b${i}`);
    const b = build(out, '1.0.0');
    builds.push(b.ms);
    info = b.info;
    const t0 = process.hrtime.bigint();
    const cp = spawnSync('cp', ['-a', b.info.tree, path.join(scratch, `copy${i}`)]);
    if (cp.status !== 0) throw new Error('cp -a failed');
    copies.push(ms(t0));
    rmSync(out, { recursive: true, force: true });
    rmSync(path.join(scratch, `copy${i}`), { recursive: true, force: true });
  }
  const base = median(copies);
  console.log(`runs: ${RUNS} (median); first build (may include the runtime download): ${(warm.ms / 1000).toFixed(1)} s`);
  console.log('| measure | ms | × cp -a of the tree |');
  console.log('|---|---|---|');
  console.log(`| cp -a of the finished tree (baseline) | ${base.toFixed(0)} | 1.00 |`);
  console.log(`| npm run release (warm cache, bundle already built) | ${median(builds).toFixed(0)} | ${(median(builds) / base).toFixed(2)} |`);
  console.log(`\ntree: ${info.files} files, ${(info.bytes / 1e6).toFixed(1)} MB, runtime ${info.node}, ${info.queues} queues`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
