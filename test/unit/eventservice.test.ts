import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  batchSize,
  coalesce,
  decideEsOutcome,
  findMapSources,
  loadRubinEsMap,
  parseEventRange,
  prefixLines,
  rangeMemoryMB,
  rangeCommand,
  rangeInput,
  RangeReporter,
  type EsFacts,
  type EventRange,
} from '../../pilot/src/eventservice/index.js';
import { formatEventRangeId, parseEventRangeId, type RangeReport, type RangeReportReply } from '../../pilot/src/protocol/index.js';
import { decodeRangeReportReply } from '../../pilot/src/server/index.js';
import { HttpStatusError, PilotError, TransportError } from '../../pilot/src/errors/index.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const fixtureRanges = (JSON.parse(readFileSync(path.join(fixtures, 'eventranges-reply.json'), 'utf8')) as { eventRanges: unknown[] }).eventRanges;
const log = pino({ level: 'silent' });

function range(over: Partial<Record<string, unknown>> = {}): EventRange {
  const parsed = parseEventRange({
    eventRangeID: '20979-20726429-68354452-3-1',
    startEvent: 3,
    lastEvent: 3,
    LFN: 'isr:eventservice_1',
    GUID: 'NULL',
    scope: 'pseudo_dataset',
    ...over,
  });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.range;
}

type ReporterOptions = ConstructorParameters<typeof RangeReporter>[0];
/** A reporter for job 7 that sends at once, in batches of up to 10, with the test's own send and settings. */
const quickReporter = (o: Partial<ReporterOptions> & Pick<ReporterOptions, 'send'>): RangeReporter =>
  new RangeReporter({ pandaId: 7, log, maxBatch: 10, maxDelayMs: 1, ...o });

describe('event range IDs', () => {
  it('parses the five integers and formats them back', () => {
    const id = parseEventRangeId('20979-20726429-68354452-10-2');
    expect(id).toEqual({ taskId: 20979, pandaId: 20726429, fileId: 68354452, processId: 10, attemptNr: 2 });
    expect(formatEventRangeId(id!)).toBe('20979-20726429-68354452-10-2');
  });
  it.each(['', '1-2-3-4', '1-2-3-4-5-6', 'a-2-3-4-5', '1-2-3-4-5/..', '../1-2-3-4-5', '-1-2-3-4-5', 12345])('refuses %j', (bad) => {
    expect(parseEventRangeId(bad)).toBeNull();
  });
  it('accepts every range of the fixture reply and refuses unusable ones with a reason', () => {
    expect(fixtureRanges.map((r) => parseEventRange(r).ok)).toEqual(fixtureRanges.map(() => true));
    const noLfn = parseEventRange({ eventRangeID: '1-2-3-4-5', startEvent: 1, lastEvent: 1 });
    expect(noLfn).toMatchObject({ ok: false, eventRangeID: '1-2-3-4-5', error: expect.stringMatching(/LFN/) });
    expect(parseEventRange({ eventRangeID: '1-2-3-4-5', startEvent: 4, lastEvent: 2, LFN: 'x:y_1' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/lastEvent/),
    });
    expect(parseEventRange('nope')).toMatchObject({ ok: false, eventRangeID: null });
  });
});

describe('Rubin map substitution', () => {
  const map = JSON.parse(readFileSync(path.join(fixtures, 'rubin-es-map.json'), 'utf8'));
  const command = 'export X=1; pipetask run --qgraph-node isr:eventservice_1 --out isr:eventservice_1^10; echo isr:eventservice_10';

  it('finds the order id as n + startEvent − 1 and replaces every label:file of that file', () => {
    expect(rangeInput(range())).toEqual({ label: 'isr', fileKey: 'isr:eventservice_1', orderId: 3 });
    expect(rangeInput(range({ LFN: 'pseudo_dataset:isr:file_11', startEvent: 2 }))).toMatchObject({ label: 'isr', orderId: 12 });
    const out = rangeCommand(command, range(), map);
    // The whole name is replaced; isr:eventservice_10 is another file and stays.
    expect(out).toEqual({
      ok: true,
      command: 'export X=1; pipetask run --qgraph-node isr:visit_detector_000003 --out isr:visit_detector_000003^10; echo isr:eventservice_10',
    });
  });
  it('refuses a range the map has no entry for, naming it', () => {
    const out = rangeCommand(command, range({ eventRangeID: '1-2-3-40-1', startEvent: 40, lastEvent: 40 }), map);
    expect(out).toMatchObject({ ok: false, error: expect.stringMatching(/no entry isr\/40/) });
  });
  it('without a map falls back to <file>^<startEvent> as pilot3 does, and fills template fields', () => {
    expect(rangeCommand('run isr:eventservice_1 {eventRangeID} {startEvent}-{lastEvent} {LFN}', range(), null)).toEqual({
      ok: true,
      command: 'run isr:eventservice_1^3 20979-20726429-68354452-3-1 3-3 isr:eventservice_1',
    });
  });
  it('reads the map from the command (inline RUBIN_ES_MAP over RUBIN_ES_MAP_FILE) or the environment', () => {
    const file = path.join(fixtures, 'rubin-es-map.json');
    const cmd = `RUBIN_ES_MAP_FILE=${file}; export RUBIN_ES_MAP='{"isr":{"3":"isr:override_3"},"calib":{"1":"calib:x"}}'; go isr:eventservice_1`;
    const sources = findMapSources(cmd, {});
    expect(sources).toEqual({ file, inline: '{"isr":{"3":"isr:override_3"},"calib":{"1":"calib:x"}}' });
    const loaded = loadRubinEsMap(sources, (f) => readFileSync(f, 'utf8'))!;
    expect(loaded.isr!['3']).toBe('isr:override_3');
    expect(loaded.isr!['4']).toBe('isr:visit_detector_000004');
    expect(findMapSources('go', { RUBIN_ES_MAP_FILE: '/x/map.json' })).toEqual({ file: '/x/map.json', inline: undefined });
    expect(() => loadRubinEsMap({ inline: '{"isr": [1]}' }, () => '')).toThrow(/label isr is not an object/);
    expect(() => loadRubinEsMap({ file: '/no/such/map.json' }, (f) => readFileSync(f, 'utf8'))).toThrow(/cannot read RUBIN_ES_MAP_FILE/);
  });
});

describe('range report coalescing and delivery', () => {
  const rep = (id: string, eventStatus: RangeReport['eventStatus']): RangeReport => ({ eventRangeID: id, eventStatus });

  it('replaces a pending running report by the final one and keeps the first final', () => {
    const pending: RangeReport[] = [];
    coalesce(pending, rep('1-1-1-1-1', 'running'));
    coalesce(pending, rep('1-1-1-2-1', 'running'));
    coalesce(pending, rep('1-1-1-1-1', 'finished'));
    coalesce(pending, rep('1-1-1-1-1', 'running'));
    coalesce(pending, rep('1-1-1-1-1', 'failed'));
    expect(pending).toEqual([rep('1-1-1-1-1', 'finished'), rep('1-1-1-2-1', 'running')]);
  });

  it('sends in order, one batch in flight, retries a lost batch, and passes the job command on', async () => {
    const batches: string[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const commands: string[] = [];
    const reporter = new RangeReporter({
      pandaId: 7,
      log,
      maxBatch: 3,
      maxDelayMs: 5,
      backoff: { initialMs: 1, maxMs: 2, factor: 1, jitter: 0 },
      onCommand: (c) => commands.push(c),
      send: async (reports): Promise<RangeReportReply> => {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls += 1;
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        if (calls === 1) throw new TransportError('connection reset', 'network');
        batches.push(reports.map((r) => `${r.eventRangeID}:${r.eventStatus}`));
        return { returns: reports.map((r) => (r.eventStatus === 'running' ? null : true)), commands: { '7': 'softkill' } };
      },
    });
    for (let i = 1; i <= 7; i++) reporter.report(rep(`1-7-1-${i}-1`, 'finished'));
    await reporter.flush(5_000);
    reporter.close();
    expect(maxInFlight).toBe(1);
    expect(batches.flat()).toEqual(Array.from({ length: 7 }, (_, i) => `1-7-1-${i + 1}-1:finished`));
    expect(batches.every((b) => b.length <= 3)).toBe(true);
    expect(reporter.undelivered).toEqual([]);
    expect(commands).toContain('softkill');
  });

  it('tells refused reports from undelivered ones, and gives up on a batch after its attempts', async () => {
    const fates: string[] = [];
    const reporter = quickReporter({
      onFinal: (r, fate) => fates.push(`${r.eventRangeID}:${fate}`),
      send: async (reports) => ({ returns: reports.map((_, i) => i !== 0), commands: {} }),
    });
    reporter.report(rep('1-7-1-1-1', 'finished'));
    reporter.report(rep('1-7-1-2-1', 'failed'));
    await reporter.flush(1_000);
    expect(reporter.refused.map((r) => r.eventRangeID)).toEqual(['1-7-1-1-1']);
    expect(reporter.undelivered).toEqual([]);
    expect(fates).toEqual(['1-7-1-1-1:refused', '1-7-1-2-1:taken']);
    reporter.close();

    let calls = 0;
    const failing = quickReporter({
      maxAttempts: 3,
      backoff: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 },
      send: async () => {
        calls += 1;
        throw new HttpStatusError(500, 'Type not serializable', '/api/v1/event/update_event_ranges');
      },
    });
    failing.report(rep('1-7-1-3-1', 'finished'));
    await failing.flush(60_000);
    expect(calls).toBe(3);
    expect(failing.undelivered.map((r) => r.eventRangeID)).toEqual(['1-7-1-3-1']);
    // The server did not answer a whole batch: the next batch gets one try, not three.
    failing.report(rep('1-7-1-4-1', 'finished'));
    await failing.flush(60_000);
    expect(calls).toBe(4);
    expect(failing.undelivered.map((r) => r.eventRangeID)).toEqual(['1-7-1-3-1', '1-7-1-4-1']);
    failing.close();
  });

  it('hurry(): a pause between retries ends at once, one last try goes, and the batch is kept', async () => {
    let calls = 0;
    const reporter = quickReporter({
      maxAttempts: 1000,
      // A long pause: only hurry() can end it within the test's time.
      backoff: { initialMs: 600_000, maxMs: 600_000, factor: 1, jitter: 0 },
      send: async () => {
        calls += 1;
        throw new HttpStatusError(503, '', '/x');
      },
    });
    reporter.report(rep('1-7-1-1-1', 'finished'));
    const flushed = reporter.flush(3_600_000);
    while (calls === 0) await new Promise((r) => setTimeout(r, 5));
    reporter.hurry(60_000);
    await flushed;
    expect(calls).toBe(2); // the first, and one right after hurry() instead of after a 10-minute pause
    expect(reporter.undelivered.map((r) => r.eventRangeID)).toEqual(['1-7-1-1-1']);
    reporter.close();
  });

  it('hurry() again with less time (a second signal): the sooner end wins, a later one never extends it', async () => {
    // A server that never answers: only the hurry deadline ends the flush.
    const reporter = quickReporter({
      send: (_reports, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    });
    reporter.report(rep('1-7-1-1-1', 'finished'));
    const flushed = reporter.flush(3_600_000);
    reporter.hurry(3_600_000); // the first signal: an hour (the test's own timeout would end it first)
    reporter.hurry(7_200_000); // never extended
    reporter.hurry(0); // the second signal: now
    await flushed;
    expect(reporter.undelivered.map((r) => r.eventRangeID)).toEqual(['1-7-1-1-1']);
    reporter.close();
  });

  it('reads a Returns list as far as it goes: an extra entry is ignored, an odd one is a refusal', () => {
    expect(decodeRangeReportReply('[true, null, false]', '{"5": "softkill", "6": null}', 3)).toEqual({
      returns: [true, null, false],
      commands: { '5': 'softkill' },
    });
    expect(decodeRangeReportReply([true], { '5': 'NULL' }, 1)).toEqual({ returns: [true], commands: {} });
    // PanDA legacy on PostgreSQL: three reports, four answers.
    const extra = decodeRangeReportReply('[true, true, true, false]', '{}', 3);
    expect(extra.returns).toEqual([true, true, true]);
    expect(extra.oddity?.note).toMatch(/4 entries for 3 reports: the first 3 used/);
    expect(extra.oddity?.returns).toEqual([true, true, true, false]);
    const odd = decodeRangeReportReply('[true, "yes", 1]', '{}', 3);
    expect(odd.returns).toEqual([true, false, false]);
    expect(odd.oddity?.note).toMatch(/entry 1 is "yes".*refused.*entry 2 is 1/);
    expect(decodeRangeReportReply('[true]', '{}', 2).returns).toEqual([true, false]);
    expect(() => decodeRangeReportReply('{"a": 1}', '{}', 2)).toThrow(/list of 2/);
  });
});

describe('event-service job outcome', () => {
  const r = (processId: number, attemptNr: number, status: 'finished' | 'failed' | 'fatal', fate: 'taken' | 'refused' | 'undelivered' = 'taken') => ({
    range: range({ eventRangeID: `1-2-3-${processId}-${attemptNr}` }),
    status,
    errorCode: status === 'finished' ? 0 : status === 'fatal' ? 65 : 3,
    errorDiag: status === 'finished' ? '' : `exited with ${status === 'fatal' ? 65 : 3}`,
    exitCode: status === 'finished' ? 0 : status === 'fatal' ? 65 : 3,
    fate,
  });
  const facts = (results: EsFacts['results'], over: Partial<EsFacts> = {}): EsFacts => ({
    results,
    received: results.length,
    unprocessed: 0,
    stopReason: null,
    fetchError: null,
    softkilled: false,
    ...over,
  });

  it('finishes when every range is done, even one that failed before succeeding on retry', () => {
    const v = decideEsOutcome(facts([r(1, 1, 'finished'), r(2, 1, 'failed'), r(2, 2, 'finished')]));
    expect(v).toMatchObject({ state: 'finished', pilotErrorCode: 0 });
  });
  it('1224 for failed ranges, 1228 when one is fatal, 1238 for no ranges at all', () => {
    expect(decideEsOutcome(facts([r(1, 1, 'finished'), r(2, 1, 'failed'), r(2, 2, 'failed')]))).toMatchObject({
      state: 'failed',
      pilotErrorCode: 1224,
      transExitCode: 3,
    });
    const fatal = decideEsOutcome(facts([r(1, 1, 'failed'), r(2, 1, 'fatal')]));
    expect(fatal).toMatchObject({ state: 'failed', pilotErrorCode: 1228 });
    expect(fatal.pilotErrorDiag).toMatch(/0 of 2 ranges done, 1 failed, 1 fatal; 1-2-3-2-1: exited with 65/);
    expect(decideEsOutcome(facts([]))).toMatchObject({ state: 'failed', pilotErrorCode: 1238 });
  });
  it('ranges that succeeded finish the job even when their reports never arrived, which the diagnostic names', () => {
    const v = decideEsOutcome(facts([r(1, 1, 'finished', 'undelivered'), r(2, 1, 'finished', 'undelivered'), r(3, 1, 'finished')]));
    expect(v).toMatchObject({ state: 'finished', pilotErrorCode: 0 });
    expect(v.pilotErrorDiag).toMatch(/^event service: 3 of 3 ranges done.*2 range report\(s\) not delivered, kept on disk: 1-2-3-1-1, 1-2-3-2-1$/);
    const failed = decideEsOutcome(facts([r(1, 1, 'finished', 'undelivered'), r(2, 1, 'failed')]));
    expect(failed).toMatchObject({ state: 'failed', pilotErrorCode: 1224 });
    expect(failed.pilotErrorDiag).toMatch(
      /^event service: 1 of 2 ranges done, 1 failed, 0 fatal; 1 range report\(s\) not delivered, kept on disk; 1-2-3-2-1: exited with 3$/,
    );
  });
  it('ranges left by softkill keep the job from finishing', () => {
    const soft = decideEsOutcome(facts([r(1, 1, 'finished')], { received: 3, unprocessed: 2, softkilled: true }));
    expect(soft).toMatchObject({ state: 'failed', pilotErrorCode: 1224 });
    expect(soft.pilotErrorDiag).toMatch(/after softkill: 1 of 3 ranges done.*2 not run/);
  });
  it('a stop (server kill, signal) wins, with its own code', () => {
    const v = decideEsOutcome(facts([r(1, 1, 'finished')], { stopReason: new PilotError(1144, 'job killed by the server') }));
    expect(v).toMatchObject({ state: 'failed', pilotErrorCode: 1144 });
  });
});

describe('executor helpers', () => {
  it('asks for about ten minutes of work per core, within bounds', () => {
    expect(batchSize(2, null)).toBe(20);
    expect(batchSize(2, 0.1)).toBe(100);
    expect(batchSize(4, 120)).toBe(20);
    expect(batchSize(1, 3600)).toBe(2);
  });
  it("gives a range its share of the job's memory, with grace", () => {
    expect(rangeMemoryMB(4000, 4, 2)).toBe(2000);
    expect(rangeMemoryMB(1000, 3, 1)).toBe(333);
    expect(rangeMemoryMB(0, 4, 2)).toBe(0);
    expect(rangeMemoryMB(500, 0, 2)).toBe(1000);
  });
  it('prefixes every line of a range log with its worker', () => {
    expect(prefixLines('a\nb\n', 3)).toBe('Worker 3: a\nWorker 3: b\n');
    expect(prefixLines('last', 1)).toBe('Worker 1: last\n');
  });
});
