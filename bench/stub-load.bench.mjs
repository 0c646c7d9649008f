#!/usr/bin/env node
// Rubin DC2 step 1 at once: 11,461 simulated pilots against the real stub (dist/panda-stub.mjs, its own
// process, loopback only), each doing getJob → starting → two heartbeats → final, in both dialects.
// Prints requests/s and p50/p99/max latency per call, durable updates/s (a reply leaves only after the
// update is committed with synchronous=FULL) and the time until every job went sent → starting.
// Bounded: --timeout seconds per dialect (default 300); every pilot stops by then.
//
// Options: --pilots N (default 11461), --dialect legacy|v1|both (default both), --concurrency C (sockets,
// default 256), --payload-ms M (pause before the first heartbeat, default 2000), --timeout S,
// --profile (CPU profile of the stub: the top functions by self time are printed, the .cpuprofile kept),
// --keep (keep the data dirs), --stub A.mjs[,B.mjs] (the stub bundles to compare, default dist/panda-stub.mjs), --data-root DIR (where the data dirs go; /dev/shm takes the disk out of the
// figures — its fsync returns at once — to show what the stub itself costs; not a durable setup). Needs `node build.mjs` first (npm run bench does it).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { dist, importTs, startStub as serve } from './support.mjs';

const { values } = parseArgs({
  options: {
    pilots: { type: 'string', default: '11461' },
    dialect: { type: 'string', default: 'both' },
    concurrency: { type: 'string', default: '256' },
    'payload-ms': { type: 'string', default: '2000' },
    timeout: { type: 'string', default: '300' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'data-root': { type: 'string', default: tmpdir() },
    stub: { type: 'string', default: dist('panda-stub.mjs') },
  },
});
const pilots = Number(values.pilots);
const dialects = values.dialect === 'both' ? ['legacy', 'v1'] : [values.dialect];

const { runLoad, formatLoad, hammer } = await importTs('stub-load', 'test/support/stub-load.ts');

const startStub = (bundle, dataDir, profileDir) =>
  serve(dataDir, ['--site-config', 'none'], { bundle, nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });

/** CPU seconds (user + system) a process used so far, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** "generator 12.3 s CPU (41%), server 17.8 s (59%)": who used the machine's cores during `seconds` of wall time. */
function cpuShare(generator, server, seconds) {
  const total = generator + server;
  return `generator ${generator.toFixed(1)} s CPU (${((100 * generator) / total).toFixed(0)}% of the two), server ${server.toFixed(1)} s (${((100 * server) / total).toFixed(0)}%) in ${seconds.toFixed(1)} s wall`;
}

/** Self time per function from a .cpuprofile, top n, as "ms  %  function (file:line)". */
function topFunctions(file, n = 15) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const dt = prof.timeDeltas;
  let total = 0;
  prof.samples.forEach((id, i) => {
    const node = byId.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const key = `${functionName || '(anonymous)'} (${path.basename(url || 'native')}:${lineNumber + 1})`;
    const ms = (dt[i] ?? 0) / 1000;
    self.set(key, (self.get(key) ?? 0) + ms);
    total += ms;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/**
 * Self time by source folder of the stub ("server-stub/src/store", "node_modules/pino", node's own
 * "node:_http_server"…, idle and GC apart): each sample goes to the innermost frame of the project or a
 * dependency, found from the `// path` comments esbuild leaves at each module of the bundle; a sample
 * wholly inside node (the HTTP parser, streams) goes to node. Where the time of a request goes by layer.
 */
function byFolder(file, bundle) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const starts = [];
  readFileSync(bundle, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = /^\/\/ ((?:node_modules\/(?:@[^/]+\/)?[^/]+)|(?:[\w-]+\/src\/[\w-]+))\//.exec(line);
      if (m) starts.push([i, m[1]]);
    });
  const folderAt = (line) => {
    let found = 'bundle';
    for (const [start, folder] of starts) if (start <= line) found = folder;
    return found;
  };
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of prof.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const bundleName = path.basename(bundle);
  const folderMemo = new Map();
  const folderOf = (id) => {
    if (folderMemo.has(id)) return folderMemo.get(id);
    let folder = null;
    for (let cur = id; cur !== undefined && folder === null; cur = parent.get(cur)) {
      const { url, lineNumber } = byId.get(cur).callFrame;
      if (url.endsWith(bundleName)) folder = folderAt(lineNumber);
      else if (url.startsWith('file:')) folder = url.includes('/node_modules/') ? `node_modules/${url.split('/node_modules/')[1].split('/')[0]}` : url;
    }
    const leaf = byId.get(id).callFrame;
    if (folder === null) folder = leaf.url ? 'node (http, streams, timers)' : leaf.functionName || 'native';
    folderMemo.set(id, folder);
    return folder;
  };
  const self = new Map();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const ms = (prof.timeDeltas[i] ?? 0) / 1000;
    const name = byId.get(id).callFrame.functionName;
    const folder = name === '(idle)' || name === '(garbage collector)' || name === '(program)' ? name : folderOf(id);
    self.set(folder, (self.get(folder) ?? 0) + ms);
    total += ms;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/**
 * The same machine's HTTP ceiling in this run: a do-nothing node:http server in its own process, posted to
 * with the same concurrency. The stub's req/s is reported as a fraction of it (the machine is shared, so
 * absolute figures move with its load; the ratio much less).
 */
async function httpCeiling(requests, concurrency) {
  const code =
    "require('node:http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end('StatusCode=0'))}).listen({port:0,host:'127.0.0.1',backlog:4096},function(){console.log('listening http://127.0.0.1:'+this.address().port)})";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve(l.split(' ')[1])));
  const started = Date.now();
  const cpu0 = [ownCpuSeconds(), cpuSecondsOf(child.pid)];
  // The same client as the load below (raw keep-alive sockets), so the ratio compares servers, not clients.
  await hammer(url, requests, concurrency, '/server/panda/updateJob', 'jobId=1&state=running', { 'content-type': 'application/x-www-form-urlencoded' });
  const seconds = (Date.now() - started) / 1000;
  const serverCpu = cpuSecondsOf(child.pid) - cpu0[1];
  const cpu = cpuShare(ownCpuSeconds() - cpu0[0], serverCpu, seconds);
  child.kill();
  return { rate: requests / seconds, cpu, serverCpuPerRequestUs: (1e6 * serverCpu) / requests };
}

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const base = await httpCeiling(50_000, Number(values.concurrency));
const ceiling = base.rate;
console.log(
  `baseline: a do-nothing node:http server on this machine now answers ${ceiling.toFixed(0)} req/s at concurrency ${values.concurrency}; ${base.cpu}; load average ${loadAverage()}`,
);

const summaries = [];
// Several bundles (--stub a.mjs,b.mjs: e.g. the hand-written http layer against an experiment) run one after the other per dialect, in the same run.
const bundles = values.stub.split(',').map((b) => path.resolve(b));
const runs = dialects.flatMap((dialect) => bundles.map((bundle) => ({ dialect, bundle })));
for (const { dialect: dialectName, bundle } of runs) {
  const dialect = dialectName;
  if (bundles.length > 1) console.log(`--- ${dialect} against ${bundle}`);
  const dataDir = mkdtempSync(path.join(values['data-root'], `stub-load-${dialect}-`));
  const profileDir = values.profile ? path.join(dataDir, 'profile') : undefined;
  const stub = await startStub(bundle, dataDir, profileDir);
  try {
    const submitStart = Date.now();
    const task = { name: `dc2-step1-${dialect}`, site: 'LOCAL_Rubin', command: 'true', count: pilots, memoryMB: 2000 };
    const res = await fetch(`${stub.url}/stub/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(task) });
    if (res.status !== 201) throw new Error(`submit: ${res.status} ${await res.text()}`);
    console.log(`${dialect}: submitted ${pilots} jobs in ${((Date.now() - submitStart) / 1000).toFixed(1)} s`);
    const cpu0 = [ownCpuSeconds(), cpuSecondsOf(stub.child.pid)];
    const result = await runLoad({
      url: stub.url,
      pilots,
      dialect,
      concurrency: Number(values.concurrency),
      deadlineMs: Date.now() + Number(values.timeout) * 1000,
      site: 'LOCAL_Rubin',
      payloadMs: Number(values['payload-ms']),
      retry: false,
    });
    const stubCpu = cpuSecondsOf(stub.child.pid) - cpu0[1];
    const cpu = cpuShare(ownCpuSeconds() - cpu0[0], stubCpu, (result.endedAt - result.startedAt) / 1000);
    console.log(formatLoad(dialect, result));
    console.log(`${dialect}: ${cpu}; load average ${loadAverage()}`);
    // CPU time per request moves far less with the machine's load than wall-clock rates: the figure to compare.
    const requestsDone = Object.values(result.latencies).reduce((a, l) => a + l.length, 0);
    const perRequestUs = (1e6 * stubCpu) / requestsDone;
    const updateShare = result.acks.length / requestsDone;
    console.log(
      `${dialect}: stub CPU ${perRequestUs.toFixed(0)} µs per request (the do-nothing server: ${base.serverCpuPerRequestUs.toFixed(0)} µs): one core of its own would serve ${(1e6 / perRequestUs).toFixed(0)} req/s = ${((1e6 / perRequestUs) * updateShare).toFixed(0)} durable updates/s of this mix`,
    );
    const requests = Object.values(result.latencies).reduce((a, l) => a + l.length, 0);
    const rate = requests / ((result.endedAt - result.startedAt) / 1000);
    console.log(`${dialect}: ${rate.toFixed(0)} req/s = ${((100 * rate) / ceiling).toFixed(1)}% of the do-nothing server's ${ceiling.toFixed(0)} req/s`);
    const summary = await (await fetch(`${stub.url}/stub/summary`)).json();
    console.log(`${dialect}: stub says jobs ${JSON.stringify(summary.jobs)}, updates ${summary.updates.total}, order violations ${summary.order_violations}`);
    const durability = await (await fetch(`${stub.url}/stub/durability`)).json();
    console.log(
      `${dialect}: group commit: ${durability.batches} batches for ${durability.writes} writes (largest ${durability.largestBatch}), ${durability.syncs} log syncs (${durability.mode}), mean ${durability.syncMsMean} ms, max ${durability.syncMsMax} ms, ${durability.slowSyncs} over 1 s`,
    );
    summaries.push({ dialect, ok: result.errors === 0 && result.refusals === 0 && summary.jobs.finished === pilots });
  } finally {
    stub.child.kill('SIGTERM');
    await stub.exited;
    if (profileDir) {
      const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        console.log(`${dialect}: stub CPU profile ${path.join(profileDir, file)}; top functions by self time:`);
        for (const line of topFunctions(path.join(profileDir, file))) console.log(line);
        console.log(`${dialect}: self time by source folder (the innermost frame of the project or a dependency; the whole life of the stub):`);
        for (const line of byFolder(path.join(profileDir, file), bundle)) console.log(line);
      }
    }
    if (values.keep || values.profile) console.log(`${dialect}: data kept in ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}
process.exitCode = summaries.every((s) => s.ok) ? 0 : 1;
