import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import {
  findFinalUpdates,
  recoverFinalUpdates,
  SEQ_HEADER,
  writeFinalUpdate,
  writeFinalUpdateInFlight,
  dropFinalUpdateInFlight,
  markFinalUpdateAcked,
  type FinalUpdateRecord,
  type RecoveryServer,
} from '../../pilot/src/report/index.js';
import { TransportError } from '../../pilot/src/errors/index.js';
import type { EventRangesApi, JobUpdate, SendOptions, UpdateReply } from '../../pilot/src/protocol/index.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const scratch = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'recover-'));
  dirs.push(d);
  return d;
};
const record = (jobId: number, seq = 9): FinalUpdateRecord => ({
  serverUrl: 'http://127.0.0.1:1',
  dialect: 'v1',
  seqHeader: `${jobId}:1:${seq}`,
  update: { jobId, state: 'failed', attemptNr: 1, fields: { pilotErrorCode: 1305 } },
  writtenAt: '2026-01-01T00:00:00Z',
});
/** These tests keep no range reports: a recovery that sends any is wrong. */
const noRanges: EventRangesApi = {
  getEventRanges: async () => [],
  updateEventRanges: async () => {
    throw new Error('no range reports were kept');
  },
};
/** A server double: `answer` decides per job. */
const server = (answer: (u: JobUpdate) => UpdateReply) => {
  const sent: { jobId: number; seq: string | undefined }[] = [];
  const s: RecoveryServer = {
    ...noRanges,
    getJob: async () => null,
    updateJob: async (u: JobUpdate, opts?: SendOptions) => {
      sent.push({ jobId: u.jobId, seq: opts?.headers?.[SEQ_HEADER] });
      return answer(u);
    },
  };
  return { s, sent };
};
const deps = (s: RecoveryServer) => ({ serverFor: () => s, log, signal: new AbortController().signal, maxAttempts: 3, sleep: async () => undefined });

describe('kept final updates', () => {
  it('finds them in pilot homes, sends each with its original sequence, and renames each by outcome', async () => {
    const root = scratch();
    const homes = ['PanDA_Pilot3_1_1/PanDA_Pilot-11', 'PanDA_Pilot3_2_2/PanDA_Pilot-12', 'PanDA_Pilot3_2_2/PanDA_Pilot-13', 'PanDA_Pilot3_3_3'];
    for (const h of homes) mkdirSync(path.join(root, h), { recursive: true });
    writeFinalUpdate(path.join(root, homes[0]!), record(11));
    writeFinalUpdate(path.join(root, homes[1]!), record(12));
    writeFinalUpdate(path.join(root, homes[2]!), record(13));
    writeFileSync(path.join(root, homes[3]!, 'final-update.json'), '{"update": "garbage"}');
    mkdirSync(path.join(root, 'other'));
    writeFinalUpdate(path.join(root, 'other'), record(99));

    const files = findFinalUpdates(root, { topLevel: (n) => n.startsWith('PanDA_Pilot3_') });
    expect(files).toHaveLength(4); // not the one outside a pilot home
    const { s, sent } = server((u) => ({ statusCode: 0, command: u.jobId === 13 ? 'tobekilled' : 'NULL', raw: {} }));
    const summary = await recoverFinalUpdates(files, deps(s));
    expect(summary).toMatchObject({ found: 4, delivered: 2, refused: 1, invalid: 1, left: 0 });
    expect(sent).toEqual([
      { jobId: 11, seq: '11:1:9' },
      { jobId: 12, seq: '12:1:9' },
      { jobId: 13, seq: '13:1:9' },
    ]);
    expect(readdirSync(path.join(root, homes[0]!))).toEqual(['final-update.json.acked']);
    expect(readdirSync(path.join(root, homes[2]!))).toEqual(['final-update.json.refused']);
    expect(readdirSync(path.join(root, homes[3]!))).toEqual(['final-update.json.invalid']);
    expect(findFinalUpdates(root, { topLevel: (n) => n.startsWith('PanDA_Pilot3_') })).toEqual([]);
  });

  it('leaves a file in place when the server stays away, for the next try', async () => {
    const root = scratch();
    writeFinalUpdate(root, record(21));
    let tries = 0;
    const s: RecoveryServer = {
      ...noRanges,
      getJob: async () => null,
      updateJob: async () => {
        tries += 1;
        throw new TransportError('connect ECONNREFUSED', 'network');
      },
    };
    const summary = await recoverFinalUpdates(findFinalUpdates(root), deps(s));
    expect(summary).toMatchObject({ delivered: 0, left: 1 });
    expect(tries).toBe(3);
    expect(existsSync(path.join(root, 'final-update.json'))).toBe(true);
  });

  it('picks up a file a recovery that died had claimed, but not one a live process holds', async () => {
    const root = scratch();
    mkdirSync(path.join(root, 'a'));
    mkdirSync(path.join(root, 'b'));
    writeFileSync(path.join(root, 'a', 'final-update.json.recovering-999999'), JSON.stringify(record(31)));
    writeFileSync(path.join(root, 'b', `final-update.json.recovering-${process.ppid}`), JSON.stringify(record(32)));
    const files = findFinalUpdates(root);
    expect(files.map((f) => path.basename(path.dirname(f)))).toEqual(['a']);
    const { s, sent } = server(() => ({ statusCode: 0, command: 'NULL', raw: {} }));
    expect((await recoverFinalUpdates(files, deps(s))).delivered).toBe(1);
    expect(sent.map((x) => x.jobId)).toEqual([31]);
  });
});

describe('a final update in flight', () => {
  it('is claimed by the pilot sending it: no recovery takes it while that pilot lives; it lapses when the pilot dies', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'inflight-'));
    const live = path.join(root, 'live');
    const dead = path.join(root, 'dead');
    mkdirSync(live);
    mkdirSync(dead);
    const rec = record(7, 3);
    writeFinalUpdateInFlight(live, rec);
    // The same file as a pilot that died wrote it: its pid no longer runs.
    writeFileSync(path.join(dead, 'final-update.json.recovering-999999'), JSON.stringify(rec));
    expect(findFinalUpdates(root).map((f) => path.relative(root, f))).toEqual([path.join('dead', 'final-update.json.recovering-999999')]);
    markFinalUpdateAcked(live);
    expect(readdirSync(live)).toEqual(['final-update.json.acked']);
  });

  it('given up by its pilot, it is kept under the plain name any recovery takes', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'inflight-kept-'));
    const rec = record(8, 4);
    writeFinalUpdateInFlight(dir, rec);
    writeFinalUpdate(dir, rec);
    dropFinalUpdateInFlight(dir);
    expect(readdirSync(dir)).toEqual(['final-update.json']);
    expect(findFinalUpdates(dir)).toEqual([path.join(dir, 'final-update.json')]);
  });
});
