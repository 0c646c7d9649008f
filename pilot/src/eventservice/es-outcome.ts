/**
 * How an event-service job ends, from what its ranges did on this node
 * (plain decision, no I/O): every quantum's latest attempt finished →
 * finished; otherwise failed with the event-service code: 1228 ESFATAL when
 * a range is fatal, 1224 ESRECOVERABLE when ranges failed or were left (the
 * server can give them to another job), 1238 ESNOEVENTS when the job never
 * got a range. Whether a range's report reached the server does not change
 * what the range did: reports the server never answered are named in the
 * diagnostic (they are kept on disk for recovery), never counted as failed
 * ranges — real servers store reports and then fail the reply
 * (docs/known-server-behaviours.md).
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import type { PayloadVerdict } from '../payload/index.js';
import { rangeSlot } from './event-range.js';
import type { ReportFate } from './range-reporter.js';
import type { RangeResult } from './range-runner.js';

export interface EsFacts {
  /** Every range run (all attempts), with what became of its final report. */
  results: readonly (Pick<RangeResult, 'range' | 'status' | 'errorCode' | 'errorDiag' | 'exitCode'> & { fate: ReportFate })[];
  /** Ranges received in all. */
  received: number;
  /** Ranges received but never run (softkill, stop). */
  unprocessed: number;
  /** Why the pilot stopped everything (server kill, signal), if it did. */
  stopReason: PilotError | null;
  /** Why ranges stopped coming early (fetch error), if they did. */
  fetchError: string | null;
  softkilled: boolean;
}

type SlotState = 'done' | 'failed' | 'fatal';

/** The latest attempt of each quantum, decided. */
export function slotStates(results: EsFacts['results']): Map<string, { state: SlotState; last: EsFacts['results'][number] }> {
  const latest = new Map<string, EsFacts['results'][number]>();
  for (const r of results) {
    const slot = rangeSlot(r.range);
    const seen = latest.get(slot);
    if (!seen || r.range.id.attemptNr >= seen.range.id.attemptNr) latest.set(slot, r);
  }
  const out = new Map<string, { state: SlotState; last: EsFacts['results'][number] }>();
  for (const [slot, r] of latest) {
    const state: SlotState = r.status === 'fatal' ? 'fatal' : r.status === 'finished' ? 'done' : 'failed';
    out.set(slot, { state, last: r });
  }
  return out;
}

/** `ids` joined, as many as fit in `budget` characters, then "+N more". */
export function nameSome(ids: readonly string[], budget = 120): string {
  const shown: string[] = [];
  let used = 0;
  for (const id of ids) {
    if (shown.length > 0 && used + id.length + 2 > budget) break;
    shown.push(id);
    used += id.length + 2;
  }
  const more = ids.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` +${more} more` : ''}`;
}

/**
 * What the server did not take, for the diagnostic: undelivered (kept on
 * disk) and refused reports, named when `name` (a finished job, where this is
 * the news), else only counted (the failing range must fit too).
 */
function reportNote(results: EsFacts['results'], name: boolean): string {
  const ids = (fate: ReportFate) => results.filter((r) => r.fate === fate).map((r) => r.range.eventRangeID);
  const list = (xs: string[]) => (name ? `: ${nameSome(xs)}` : '');
  const undelivered = ids('undelivered');
  const refused = ids('refused');
  let note = '';
  if (undelivered.length > 0) note += `; ${undelivered.length} range report(s) not delivered, kept on disk${list(undelivered)}`;
  if (refused.length > 0) note += `; ${refused.length} range report(s) refused by the server${list(refused)}`;
  return note;
}

export function decideEsOutcome(facts: EsFacts): PayloadVerdict {
  const failed = (code: number, diag: string, exit = 0): PayloadVerdict => ({
    state: 'failed',
    transExitCode: exit,
    pilotErrorCode: code,
    pilotErrorDiag: truncateDiag(diag),
    exeErrorCode: exit,
    exeErrorDiag: '',
  });
  const slots = [...slotStates(facts.results).values()];
  const count = (s: SlotState) => slots.filter((x) => x.state === s).length;
  const done = count('done');
  const summary = `${done} of ${slots.length + facts.unprocessed} ranges done, ${count('failed')} failed, ${count('fatal')} fatal${facts.unprocessed ? `, ${facts.unprocessed} not run` : ''}`;
  if (facts.stopReason) return failed(facts.stopReason.code, `${facts.stopReason.diagnostic} (event service: ${summary}${reportNote(facts.results, false)})`);
  if (facts.received === 0) return failed(ErrorCode.ESNOEVENTS, facts.fetchError ?? 'event service: the server had no event ranges for this job');
  if (done === slots.length && facts.unprocessed === 0) {
    const note = reportNote(facts.results, true);
    // Finished: the ranges did their work here; the server decides what it makes of reports it did not get.
    return {
      state: 'finished',
      transExitCode: 0,
      pilotErrorCode: 0,
      pilotErrorDiag: note ? truncateDiag(`event service: ${summary}${note}`) : '',
      exeErrorCode: 0,
      exeErrorDiag: '',
    };
  }
  const firstBad = slots.find((s) => s.state === 'fatal') ?? slots.find((s) => s.state === 'failed');
  const detail = firstBad ? `; ${firstBad.last.range.eventRangeID}: ${firstBad.last.errorDiag}` : '';
  const why = facts.softkilled ? ' after softkill' : facts.fetchError ? ` (${facts.fetchError})` : '';
  const exit = firstBad?.last.exitCode ?? 0;
  const code = count('fatal') > 0 ? ErrorCode.ESFATAL : ErrorCode.ESRECOVERABLE;
  return failed(code, `event service${why}: ${summary}${reportNote(facts.results, false)}${detail}`, exit);
}
