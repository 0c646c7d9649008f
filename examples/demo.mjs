#!/usr/bin/env node
// The local demo loop: stub + two pilots (one per server dialect) run a small
// Rubin-like workflow, with progress, a table by state, and a check that every
// job reached the state it should. Exits non-zero if anything is off.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => path.join(root, 'dist', f);
const keep = process.argv.includes('--keep');
const workflowFile = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? path.join(root, 'examples', 'demo-workflow.json');
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;

const scratch = mkdtempSync(path.join(tmpdir(), 'panda-demo-'));
const dataDir = path.join(scratch, 'stub-data');
const pilotDir = path.join(scratch, 'pilots');

function startStub() {
  const stub = spawn(process.execPath, [dist('panda-stub.mjs'), 'serve', '--port', '0', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stubLog = '';
  stub.stderr.on('data', (d) => (stubLog += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stub did not start:\n${stubLog}`)), 15_000);
    const lines = createInterface({ input: stub.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (http:\/\/\S+)$/.exec(line);
      if (!m) reject(new Error(`unexpected first line from stub: ${line}`));
      else resolve({ stub, url: m[1], log: () => stubLog });
    });
    stub.once('exit', (code) => reject(new Error(`stub exited (${code}):\n${stubLog}`)));
  });
}

const stubToken = () => readFileSync(path.join(dataDir, 'stub-token'), 'utf8').trim();

/** The pilots carry the stub's token as their bearer token: the stub's storage takes it for their log uploads. */
const pilotEnv = (extra = {}) => ({ ...process.env, PANDA_AUTH_ID_TOKEN: stubToken(), ...extra });

async function api(url, method = 'GET', body) {
  // Management writes need the token the stub wrote to its data dir (reads are open).
  const auth = method === 'GET' ? {} : { Authorization: `Bearer ${stubToken()}` };
  const res = await fetch(url, {
    method,
    headers: body ? { 'Content-Type': 'application/json', ...auth } : auth,
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

function startPilot(url, name, api) {
  const args = [
    dist('panda-pilot.mjs'),
    '-q',
    'LOCAL_Rubin',
    '--url',
    url,
    '--api',
    api,
    '-a',
    pilotDir,
    '--getjob-wait',
    '4',
    '--getjob-poll',
    '0.5',
    '--heartbeat',
    '2',
    '--quiet',
    // Sample payloads often and enforce each job's memory: by a kernel cgroup where
    // the pilot may make one (root), else by the pilot's own watchdog.
    '--monitor-interval',
    '0.2',
    '--max-rss',
    'job',
  ];
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], env: pilotEnv() });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => p.once('exit', (code, signal) => resolve({ name, api, code, signal, err })));
}

/**
 * Push mode: `panda-stub harvester` takes the push queue's jobs and hands them
 * to a pilot through an access point; the pilot is started once its first job
 * is there, as Harvester submits a worker for a job it already holds.
 */
async function startPushWorker(url) {
  const ap = path.join(scratch, 'access-point');
  mkdirSync(ap, { recursive: true });
  const h = spawn(
    process.execPath,
    [dist('panda-stub.mjs'), 'harvester', '--url', url, '--access-point', ap, '-q', 'LOCAL_Rubin_Push', '--poll-ms', '100', '--wait', '120'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  h.stdout.on('data', (d) => (out += d));
  h.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const harvester = new Promise((resolve) =>
    h.once('exit', (code) =>
      resolve({
        code,
        err,
        summary: (() => {
          try {
            return JSON.parse(out.trim().split('\n').pop());
          } catch {
            return null;
          }
        })(),
      }),
    ),
  );
  const until = Date.now() + 120_000;
  while (!existsSync(path.join(ap, 'HPCJobs.json')) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  const args = [
    dist('panda-pilot.mjs'),
    '-q',
    'LOCAL_Rubin_Push',
    '--url',
    url,
    '-z',
    '--harvester-workdir',
    ap,
    '--harvester-submit-mode',
    'PUSH',
    '-a',
    pilotDir,
    '--getjob-wait',
    '4',
    '--heartbeat',
    '2',
    '--quiet',
    '--monitor-interval',
    '0.2',
  ];
  const p = spawn(process.execPath, args, {
    cwd: ap,
    stdio: ['ignore', 'inherit', 'pipe'],
    env: pilotEnv({ HARVESTER_ID: 'demo-harvester', HARVESTER_WORKER_ID: '1' }),
  });
  let perr = '';
  p.stderr.on('data', (d) => (perr += d));
  const pilot = await new Promise((resolve) =>
    p.once('exit', (code, signal) => resolve({ name: 'pilot-3', api: 'push via Harvester', code, signal, err: perr })),
  );
  return { ...pilot, harvester: await harvester, ap };
}

function table(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ');
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => r[c])))].join('\n');
}

let stubHandle;
let ok = false;
try {
  stubHandle = await startStub();
  const { url } = stubHandle;
  console.log(`${elapsed()}  stub listening at ${url} (data in ${dataDir})`);
  const workflow = JSON.parse(readFileSync(workflowFile, 'utf8'));
  const submitted = await api(`${url}/stub/tasks`, 'POST', workflow);
  console.log(`${elapsed()}  submitted ${path.basename(workflowFile)}: ${submitted.tasks?.map((t) => `${t.name} (task ${t.taskId})`).join(', ')}`);

  const pilots = Promise.all([startPilot(url, 'pilot-1', 'legacy'), startPilot(url, 'pilot-2', 'v1'), startPushWorker(url)]);
  console.log(`${elapsed()}  started 2 pilots (one legacy dialect, one v1) and a push-mode worker (panda-stub harvester + pilot on an access point)`);
  let done = false;
  void pilots.then(() => (done = true));
  let last = '';
  while (!done) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = await api(`${url}/stub/summary`);
    const line = Object.entries(s.jobs ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(' | ');
    if (line !== last) console.log(`${elapsed()}  ${line}`);
    last = line;
  }
  const results = await pilots;
  for (const r of results) {
    console.log(`${elapsed()}  ${r.name} (${r.api}) exited with ${r.code ?? r.signal}`);
    if (r.code !== 0) console.log(r.err.split('\n').slice(-15).join('\n'));
  }

  const taskNames = Object.fromEntries((await api(`${url}/stub/tasks`)).tasks.map((t) => [t.taskId, t.name]));
  const jobs = (await api(`${url}/stub/jobs`)).jobs.map((j) => ({
    ...j,
    taskName: taskNames[j.taskId],
    pilotErrorCode: j.report?.pilotErrorCode ?? 0,
    pilotErrorDiag: j.report?.pilotErrorDiag ?? j.serverErrorDiag ?? '',
  }));
  const summary = await api(`${url}/stub/summary`);
  console.log(`\nJobs (${jobs.length}):`);
  const byTask = {};
  for (const j of jobs) {
    const key = `${j.taskName}/${j.state}`;
    byTask[key] = (byTask[key] ?? 0) + 1;
  }
  console.log(
    table(
      Object.entries(byTask).map(([k, n]) => ({ task: k.split('/')[0], state: k.split('/')[1], jobs: n })),
      ['task', 'state', 'jobs'],
    ),
  );

  const failed = jobs.filter((j) => j.state === 'failed');
  if (failed.length) {
    console.log('\nFailed jobs:');
    console.log(
      table(
        failed.map((j) => ({ PandaID: j.pandaId, task: j.taskName, attempt: j.attemptNr, code: j.pilotErrorCode, diag: j.pilotErrorDiag })),
        ['PandaID', 'task', 'attempt', 'code', 'diag'],
      ),
    );
  }

  // The out-of-memory job: attempt 1 killed for memory, attempt 2 with boosted memory finished.
  const oomAttempts = jobs.filter((j) => j.taskName === 'makeWarp_bigmem').sort((a, b) => a.attemptNr - b.attemptNr);
  const [oom1, oom2] = oomAttempts;
  if (oom1) {
    const code = Number(oom1.pilotErrorCode);
    const how =
      code === 1212
        ? 'the kernel OOM-killed it inside its memory cgroup (pilot ran as root)'
        : code === 1235
          ? "cgroups not writable here: the pilot's own memory watchdog stopped it"
          : `unexpected code ${code}`;
    console.log(`\nOut-of-memory retry (${how}):`);
    console.log(
      table(
        oomAttempts.map((j) => ({
          PandaID: j.pandaId,
          attempt: j.attemptNr,
          memoryMB: j.minRamCount,
          resourceType: j.resourceType,
          queue: j.site,
          state: j.state,
          code: j.pilotErrorCode,
          maxRSSkB: j.report?.maxRSS ?? '',
          diag: j.pilotErrorDiag,
        })),
        ['PandaID', 'attempt', 'memoryMB', 'resourceType', 'queue', 'state', 'code', 'maxRSSkB', 'diag'],
      ),
    );
  }

  // What the workflow must end with: every job finished except the broken calibration,
  // whose every attempt fails with the payload's own error code, and the first attempt
  // of the memory-hungry job, killed for memory (1212 kernel, 1235 pilot watchdog).
  const problems = [];
  for (const j of jobs) {
    if (j.taskName === 'makeWarp_bigmem' && j.attemptNr === 1) {
      const code = Number(j.pilotErrorCode);
      const diagOk = code === 1212 ? /out of memory/i.test(j.pilotErrorDiag) : code === 1235 ? /memory/.test(j.pilotErrorDiag) : false;
      if (j.state !== 'failed' || !diagOk)
        problems.push(`${j.pandaId} (${j.taskName}) attempt 1 should have failed with 1212/1235, is ${j.state} ${code} ${j.pilotErrorDiag}`);
    } else if (j.taskName === 'makeWarp_bigmem') {
      if (j.state !== 'finished' || j.minRamCount !== 400)
        problems.push(`${j.pandaId} (${j.taskName}) attempt ${j.attemptNr} should have finished with 400 MB, is ${j.state} with ${j.minRamCount} MB`);
    } else if (j.taskName === 'calibrate_broken') {
      if (j.state !== 'failed' || Number(j.pilotErrorCode) !== 1305 || !/status 3/.test(j.pilotErrorDiag ?? '')) {
        problems.push(`${j.pandaId} (${j.taskName}) should have failed with 1305 / status 3, is ${j.state} ${j.pilotErrorCode} ${j.pilotErrorDiag}`);
      }
    } else if (j.state !== 'finished') {
      problems.push(`${j.pandaId} (${j.taskName}) should be finished, is ${j.state}`);
    }
  }
  // The 20 isr_clustered quanta run as event ranges, 10 per job: 2 jobs, every range done.
  for (const j of jobs.filter((x) => x.taskName === 'isr_clustered')) {
    const d = await api(`${url}/stub/jobs/${j.pandaId}`);
    const ranges = d.eventRanges ?? [];
    const notDone = ranges.filter((r) => r.statusName !== 'finished');
    if (ranges.length !== 10 || notDone.length)
      problems.push(`${j.pandaId} (isr_clustered) should have 10 finished ranges, has ${ranges.length} (${notDone.length} not finished)`);
  }
  console.log(
    `\nEvent ranges: ${Object.entries(summary.eventRanges ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; PanDA calls served: ${summary.requests?.total}`,
  );
  // The push worker: its jobs reached the stub only through the access point.
  const push = results.find((r) => r.harvester);
  const pushJobs = jobs.filter((j) => j.taskName === 'coadd_multicore_push');
  console.log(
    `\nPush mode: ${push?.harvester?.summary?.jobs?.length ?? 0} job(s) handed over in ${push?.ap}, ${push?.harvester?.summary?.jobUpdates ?? 0} worker_attributes.json updates relayed by the harvester; states: ${pushJobs.map((j) => j.state).join(', ')}`,
  );
  if (pushJobs.length !== 2 || pushJobs.some((j) => j.state !== 'finished'))
    problems.push(`the 2 push-mode jobs should be finished, are ${pushJobs.map((j) => j.state).join(', ') || 'missing'}`);
  if (push?.harvester?.code !== 0 || push?.harvester?.summary?.stoppedBy !== 'kill_worker')
    problems.push(`panda-stub harvester ended with ${push?.harvester?.code} (${push?.harvester?.summary?.stoppedBy}): ${push?.harvester?.err?.slice(-500)}`);
  const expectedJobs = 1 + 20 + 2 + 2 + 2 + 1 + 2; // isr_clustered: 20 quanta in 2 jobs; the broken job runs twice (maxAttempts 2), the OOM job twice (boosted retry); 2 push jobs
  if (oomAttempts.length !== 2) problems.push(`expected 2 attempts of makeWarp_bigmem, found ${oomAttempts.length}`);
  if (jobs.length !== expectedJobs) problems.push(`expected ${expectedJobs} jobs (with the retry), found ${jobs.length}`);
  if ((summary.order_violations ?? 0) !== 0) problems.push(`stub counted ${summary.order_violations} order violations`);
  for (const r of results) if (r.code !== 0) problems.push(`${r.name} exited with ${r.code ?? r.signal}`);

  // The failed job's log left the node: the stub is its storage, the surl is in the job's output report.
  const broken = failed.find((j) => j.taskName === 'calibrate_broken');
  let logUrl = null;
  try {
    const entry = broken ? Object.values(JSON.parse(String(broken.report?.xml ?? '{}')))[0] : undefined;
    logUrl = entry?.surl ?? null;
    if (!logUrl) problems.push(`the failed job ${broken?.pandaId}'s log has no surl: it did not reach storage`);
    else {
      const fetched = spawnSync('curl', ['-sf', '-o', path.join(scratch, 'failed-job.log.tgz'), '-w', '%{size_download}', logUrl], { encoding: 'utf8' });
      if (fetched.error) {
        const res = await fetch(logUrl);
        if (!res.ok) problems.push(`GET ${logUrl}: HTTP ${res.status}`);
      } else if (fetched.status !== 0 || Number(fetched.stdout) !== Number(entry.fsize)) {
        problems.push(`curl ${logUrl} failed (exit ${fetched.status}, ${fetched.stdout} bytes, expected ${entry.fsize})`);
      }
    }
  } catch (err) {
    problems.push(`cannot read the failed job's output report: ${err.message}`);
  }

  console.log(`\nDemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  if (problems.length) {
    console.log(`NOT OK:\n- ${problems.join('\n- ')}`);
  } else {
    console.log('OK: every job reached its expected final state.');
    ok = true;
  }
  if (logUrl) {
    console.log(`\nThe failed job's log tarball (adler32-verified in the stub's storage):\n  curl -O ${logUrl}`);
    if (keep) {
      console.log('--keep: the stub keeps serving it until Ctrl-C.');
      await new Promise((resolve) => process.once('SIGINT', resolve));
    } else console.log('(run `npm run demo -- --keep` to keep the stub serving it after the demo)');
  }
} catch (err) {
  console.error(`demo failed: ${err.stack ?? err}`);
  if (stubHandle) console.error(stubHandle.log().split('\n').slice(-20).join('\n'));
} finally {
  stubHandle?.stub.kill('SIGTERM');
  if (ok) rmSync(scratch, { recursive: true, force: true });
  else console.log(`kept ${scratch} for a look`);
}
process.exitCode = ok ? 0 : 1;
