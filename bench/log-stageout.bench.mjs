#!/usr/bin/env node
// Log stage-out of a 50 MB tarball to the stub's WebDAV storage over loopback:
// the pilot's stageOut (streamed PUT + HEAD with Want-Digest: adler32, compared)
// against `curl -T` of the same file to the same endpoint (the baseline, same run).
// Also the adler32 the pilot computes for the output report (before stage-out).
// Median of BENCH_ROUNDS (default 5) rounds, alternating who goes first.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { importTs, startStub } from './support.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MB = Number(process.env.BENCH_MB ?? 50);
const work = mkdtempSync(path.join(tmpdir(), 'bench-stageout-'));
const t = await importTs('log-stageout', {
  contents:
    "export * from './pilot/src/transfer/index.ts'; export { HttpTransport } from './pilot/src/server/index.ts'; export { adler32File } from './pilot/src/run/index.ts';",
});

if (spawnSync('curl', ['--version']).error) {
  console.log('curl not found: no baseline, bench skipped');
  process.exit(0);
}
// --open: storage writes take no token here (the pilot and curl both send none).
const stub = await startStub(path.join(work, 'stub'), ['--site-config', 'none']);
const url = stub.url;

const file = path.join(work, 'bench.log.tgz');
writeFileSync(file, randomBytes(MB * 1024 * 1024)); // random: a gzip tarball does not compress further
const size = MB * 1024 * 1024;
const log = { info() {}, warn() {} };
const http = new t.HttpTransport({ baseUrl: url, timeoutMs: 600_000 });
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const adlerTimes = [];
const pilotTimes = [];
const curlTimes = [];
let adler32 = '';
for (let round = 0; round < ROUNDS; round++) {
  let t0 = process.hrtime.bigint();
  adler32 = await t.adler32File(file);
  adlerTimes.push(ms(t0));
  const pilot = async () => {
    const t1 = process.hrtime.bigint();
    const r = await t.stageOut(
      t.parseDestination(`${url}/storage/bench-pilot-${round}`, 'flag'),
      { path: file, size, adler32 },
      { http, log, signal: new AbortController().signal },
    );
    if (r.kind !== 'stored' || r.verifiedBy !== 'adler32') throw new Error(`stage-out: ${JSON.stringify(r)}`);
    pilotTimes.push(ms(t1));
  };
  const curl = () => {
    const t1 = process.hrtime.bigint();
    const r = spawnSync('curl', ['-sf', '-o', '/dev/null', '-T', file, `${url}/storage/bench-curl-${round}/bench.log.tgz`]);
    if (r.status !== 0) throw new Error(`curl exit ${r.status}`);
    curlTimes.push(ms(t1));
  };
  if (round % 2 === 0) {
    await pilot();
    curl();
  } else {
    curl();
    await pilot();
  }
}
await http.close();
stub.stop();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (name, xs) =>
  `| ${name.padEnd(44)} | ${median(xs).toFixed(0).padStart(8)} | ${(size / 1048576 / (median(xs) / 1000)).toFixed(0).padStart(6)} | ${(median(xs) / median(curlTimes)).toFixed(2).padStart(5)} |`;
console.log(`${MB} MB to the stub's /storage/ over loopback, median of ${ROUNDS} rounds`);
console.log(`| ${'what'.padEnd(44)} | ${'ms'.padStart(8)} | ${'MB/s'.padStart(6)} | ${'× curl'.padStart(5)} |`);
console.log(`|${'-'.repeat(46)}|${'-'.repeat(10)}|${'-'.repeat(8)}|${'-'.repeat(7)}|`);
console.log(row('curl -T (baseline)', curlTimes));
console.log(row('pilot stageOut: PUT + HEAD adler32 verified', pilotTimes));
console.log(row('pilot adler32 of the tarball (for the report)', adlerTimes));
