/**
 * The order rules' summary kept on the job row (jobs.order_json) must give
 * the verdicts the full update history gives: random update streams (resends,
 * reused and stale sequences, regressions, updates after the final one, no
 * header, wrong attempts) through the real engine and SQLite, each verdict
 * compared with the rules folded over every stored update. Part of the jobs
 * lose their summary midway (a data dir of the previous stub), and the data
 * dir is then taken back to schema version 1 without the column and reopened.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StubEngine } from '../../server-stub/src/engine/index.js';
import type { UpdateRecord } from '../../server-stub/src/model/records.js';
import { parseTaskFile } from '../../server-stub/src/model/task-file.js';
import { checkUpdateOrder, orderStateOf, paramsKey, type OrderVerdict, type PastUpdate } from '../../server-stub/src/model/update-seq.js';
import { openStores, type Stores } from '../../server-stub/src/store/index.js';

let dir = '';
let stores: Stores | undefined;
afterEach(() => {
  stores?.close();
  stores = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The reference: the rules over every stored update of the job, as the stub did before it kept a summary. */
function referencePast(r: UpdateRecord): PastUpdate {
  return {
    seqHeader: r.seqHeader,
    state: String(r.params.state ?? r.params.job_status ?? ''),
    accepted: r.orderViolation === null && r.result !== 'duplicate' && r.result !== 'invalid',
    paramsKey: paramsKey(r.params),
    command: r.command,
  };
}

const STATES = ['starting', 'running', 'running', 'holding', 'transferring', 'finished', 'failed', 'bogus'];

it('gives the verdicts of the full history, with and without the summary on the row, across a schema upgrade', () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stub-order-summary-'));
  stores = openStores(dir);
  const spec = parseTaskFile({ name: 'order', site: 'ORDER_SITE', command: 'echo {index}', count: 40, maxAttempts: 1 });
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  let engine = new StubEngine(stores);
  engine.submit(spec.spec);
  const sent = engine.dispatch({ siteName: 'ORDER_SITE', nJobs: 40 }, 'node1');
  const ids = sent.map((d) => Number(d.PandaID));
  expect(ids).toHaveLength(40);
  // A new job starts with the empty summary: its first update reads no stored updates.
  const empty = stores.db.prepare(`SELECT DISTINCT order_json FROM jobs`).pluck().all() as string[];
  expect(empty.map((j) => JSON.parse(j) as unknown)).toEqual([{ lastSeq: null, lastRank: -1, lastState: null, finalAccepted: false }]);

  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    // The high bits: an LCG's low bits repeat with a short period.
    return Math.floor(seed / 65536) % n;
  };
  const sentBefore = new Map<number, { params: Record<string, unknown>; header: string | null }[]>();
  const counts: Record<string, number> = {};

  const step = () => {
    const pandaId = ids[rand(ids.length)]!;
    const past = sentBefore.get(pandaId) ?? [];
    let params: Record<string, unknown>;
    let header: string | null;
    const pick = rand(10);
    if (pick === 0 && past.length > 0) {
      ({ params, header } = past[rand(past.length)]!); // an exact resend
    } else if (pick === 1 && past.length > 0) {
      header = past[rand(past.length)]!.header; // a sequence reused with other content
      params = { jobId: String(pandaId), state: STATES[rand(STATES.length)], note: String(rand(1000)) };
    } else {
      const n = rand(12);
      header = pick === 2 ? null : pick === 3 ? ` ${pandaId}:${rand(3)}:${n} ` : `${pandaId}:1:${n}`;
      params = { jobId: String(pandaId), state: STATES[rand(STATES.length)], n };
    }
    past.push({ params, header });
    sentBefore.set(pandaId, past);
    const expected: OrderVerdict = checkUpdateOrder(orderStateOf(stores!.updates.forJob(pandaId).map(referencePast)), {
      pandaId,
      attemptNr: undefined,
      seqHeader: header,
      state: String(params.state),
      paramsKey: paramsKey(params),
    });
    const outcome = engine.update({
      dialect: 'legacy',
      method: 'updateJob',
      pandaId,
      state: String(params.state),
      report: {},
      params,
      seqHeader: header,
    });
    expect(outcome.order, `update ${JSON.stringify(params)} seq ${header}`).toEqual(expected);
    counts[outcome.order.kind] = (counts[outcome.order.kind] ?? 0) + 1;
  };

  for (let i = 0; i < 600; i++) step();
  // Most verdicts so far came from the summary on the row, not from the history.
  const kept = stores.db.prepare(`SELECT COUNT(*) AS n FROM jobs WHERE order_json IS NOT NULL`).get() as { n: number };
  expect(kept.n).toBeGreaterThan(30);
  // Half the jobs lose their summary, as rows written by the previous stub have none.
  stores.db.prepare(`UPDATE jobs SET order_json = NULL WHERE panda_id % 2 = 0`).run();
  for (let i = 0; i < 600; i++) step();

  // Back to a version-1 data dir (no column), reopened: the column comes back empty, the version moves on.
  stores.close();
  const raw = new Database(path.join(dir, 'panda-stub.sqlite'));
  raw.exec(`ALTER TABLE jobs DROP COLUMN order_json; UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
  raw.close();
  stores = openStores(dir);
  expect((stores.db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string }).value).toBe('4');
  engine = new StubEngine(stores);
  for (let i = 0; i < 600; i++) step();

  // The streams exercised every verdict, so the comparison above could have caught a difference in each.
  expect(counts.accept).toBeGreaterThan(50);
  expect(counts.duplicate).toBeGreaterThan(20);
  expect(counts.violation).toBeGreaterThan(50);
});
