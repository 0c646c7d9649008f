/**
 * kill -9 in the middle of the load: simulated pilots in both dialects keep
 * going (resending what got no reply, with the same sequence), the stub is
 * restarted on the same data dir and port, and at the end every job is in
 * exactly one final state, every acknowledged update is on disk exactly once
 * and none was applied twice. `CRASH_PILOTS` sets the size (default 240, CI).
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STUB_BUNDLE, REPO_ROOT, buildStubBundle, tempDir } from '../support/stub-harness.js';
import { runLoad, type LoadResult } from '../support/stub-load.js';

const PILOTS = Number(process.env.CRASH_PILOTS ?? 240);
let dir: { dir: string; cleanup: () => void };
let child: ChildProcess | undefined;

beforeAll(() => {
  buildStubBundle();
  dir = tempDir('stub-crash-');
});
afterAll(() => {
  child?.kill('SIGKILL');
  dir.cleanup();
});

/** Starts the bundled stub on `port` (0: any) with a quick sent-watchdog, so a job whose getJob reply died with the stub is failed (102) and retried. */
function serve(port: number): Promise<{ url: string; port: number; proc: ChildProcess; exited: Promise<unknown> }> {
  const proc = spawn(
    process.execPath,
    [STUB_BUNDLE, 'serve', '--port', String(port), '--data', dir.dir, '--site-config', 'none', '--open', '--watchdog-sent', '8', '--watchdog-interval', '0.5'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child = proc;
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exited = new Promise((r) => proc.once('exit', r));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stub did not start: ${err}`)), 30_000);
    createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
      if (!m?.[1]) return reject(new Error(`unexpected first line: ${line} ${err}`));
      resolve({ url: m[1], port: Number(m[2]), proc, exited });
    });
  });
}

it(`kill -9 mid-load: ${PILOTS} jobs each end in exactly one final state, no acknowledged update lost or applied twice`, async () => {
  let stub = await serve(0);
  const res = await fetch(`${stub.url}/stub/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'crash', site: 'LOCAL_Rubin', command: 'true', count: PILOTS, maxAttempts: 3 }),
  });
  expect(res.status).toBe(201);

  const deadlineMs = Date.now() + 150_000;
  const expectedUpdates = PILOTS * 4;
  let killed = false;
  let restarted: Promise<void> | undefined;
  // Kill when about 30% of the updates are acknowledged: some jobs not yet dispatched, some running, some done.
  const onAck = (n: number) => {
    if (killed || n < expectedUpdates * 0.3) return;
    killed = true;
    stub.proc.kill('SIGKILL');
    restarted = (async () => {
      await stub.exited;
      stub = await serve(stub.port);
    })();
  };
  const common = { url: stub.url, concurrency: 32, deadlineMs, site: 'LOCAL_Rubin', payloadMs: 300, retry: true, fails: (i: number) => i % 7 === 3 };
  // Each dialect's half counts its own acks; the kill triggers on their sum.
  let acks = 0;
  const counting = (): ((n: number) => void) => {
    let mine = 0;
    return (n) => {
      acks += n - mine;
      mine = n;
      onAck(acks);
    };
  };
  const rounds: LoadResult[] = await Promise.all([
    runLoad({ ...common, dialect: 'legacy', pilots: Math.ceil(PILOTS / 2), onAck: counting() }),
    runLoad({ ...common, dialect: 'v1', pilots: Math.floor(PILOTS / 2), onAck: counting() }),
  ]);
  expect(killed).toBe(true);
  await restarted;
  // Jobs whose getJob reply died with the stub are failed by the watchdog and retried: pilots take those too.
  const summary = async () => (await (await fetch(`${stub.url}/stub/summary`)).json()) as { jobs: Record<string, number> };
  const active = (jobs: Record<string, number>) =>
    ['activated', 'sent', 'starting', 'running', 'holding', 'transferring'].reduce((a, s) => a + (jobs[s] ?? 0), 0);
  while (active((await summary()).jobs) > 0 && Date.now() < deadlineMs) {
    rounds.push(await runLoad({ ...common, dialect: rounds.length % 2 ? 'v1' : 'legacy', pilots: 16, deadlineMs }));
    await new Promise((r) => setTimeout(r, 500));
  }
  const final = await summary();
  stub.proc.kill('SIGTERM');
  await stub.exited;
  child = undefined;

  const db = new Database(join(dir.dir, 'panda-stub.sqlite'), { readonly: true });
  try {
    const jobs = db.prepare(`SELECT panda_id, state, history FROM jobs`).all() as { panda_id: number; state: string; history: string }[];
    // Each job's history: one JSON object a line on its row (jobs.history).
    const FINAL = ['finished', 'failed', 'cancelled', 'closed'];
    const steps = jobs.flatMap((j) =>
      j.history
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ pandaId: j.panda_id, ...(JSON.parse(line) as { from: string | null; to: string }) })),
    );
    const finals = new Map<number, number>();
    for (const s of steps) if (FINAL.includes(s.to) && s.from !== s.to) finals.set(s.pandaId, (finals.get(s.pandaId) ?? 0) + 1);
    const leftFinal = steps.filter((s) => s.from !== null && FINAL.includes(s.from) && s.from !== s.to).length;
    const notFinal = jobs.filter((j) => !['finished', 'failed', 'cancelled', 'closed'].includes(j.state));
    const notOnce = jobs.filter((j) => finals.get(j.panda_id) !== 1);

    const applied = db.prepare(`SELECT COUNT(*) AS n FROM updates WHERE panda_id = ? AND seq_header = ? AND result NOT IN ('duplicate', 'refused')`);
    const allAcks = rounds.flatMap((r) => r.acks);
    let lost = 0;
    let twice = 0;
    for (const a of allAcks) {
      const n = (applied.get(a.pandaId, a.seq) as { n: number }).n;
      if (n === 0) lost += 1;
      if (n > 1) twice += 1;
    }
    const duplicates = (db.prepare(`SELECT COUNT(*) AS n FROM updates WHERE result = 'duplicate'`).get() as { n: number }).n;
    const orphans = (db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE server_error_code = 102`).get() as { n: number }).n;
    const resends = rounds.reduce((a, r) => a + r.resends, 0);
    const finishedAcked = new Set(allAcks.filter((a) => a.state === 'finished').map((a) => a.pandaId));
    const finishedWrong = jobs.filter((j) => finishedAcked.has(j.panda_id) && j.state !== 'finished');
    process.stderr.write(
      `crash test: ${PILOTS} pilots, ${jobs.length} job rows (attempts), states ${JSON.stringify(final.jobs)}; ` +
        `${allAcks.length} acknowledged updates: ${lost} lost, ${twice} applied twice; ${resends} resends, ${duplicates} answered as duplicates; ` +
        `${orphans} orphaned dispatches failed by the watchdog (102); not final: ${notFinal.length}; not exactly one final transition: ${notOnce.length}\n`,
    );
    expect(notFinal).toEqual([]);
    expect(notOnce).toEqual([]);
    expect(leftFinal).toBe(0);
    expect(lost).toBe(0);
    expect(twice).toBe(0);
    expect(finishedWrong).toEqual([]);
    expect(allAcks.length).toBeGreaterThan(expectedUpdates * 0.5);
  } finally {
    db.close();
  }
}, 240_000);
