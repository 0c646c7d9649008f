/**
 * How an event-service job ends, from its ranges (plain decision, no I/O):
 * every quantum's latest attempt done → finished; otherwise failed with the
 * event-service code: 1228 ESFATAL when a range is fatal, 1224 ESRECOVERABLE
 * when ranges failed or were left (the server can run them again), 1238
 * ESNOEVENTS when the job never got a range. A range that failed and then
 * succeeded on a later attempt counts as done: one bad attempt does not fail
 * the job (pilot3 fails the whole job on any failed range).
 */
import { ErrorCode } from '../protocol/index.js';
import { PilotError, truncateDiag } from '../errors/index.js';
import type { PayloadVerdict } from '../lifecycle/index.js';
import { rangeSlot } from './event-range.js';
import type { RangeResult } from './range-runner.js';

export interface EsFacts {
  /** Every range run (all attempts), with whether its final report reached the server. */
  results: readonly (Pick<RangeResult, 'range' | 'status' | 'errorCode' | 'errorDiag' | 'exitCode'> & { delivered: boolean })[];
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
    const state: SlotState = r.status === 'fatal' ? 'fatal' : r.status === 'finished' && r.delivered ? 'done' : 'failed';
    out.set(slot, { state, last: r });
  }
  return out;
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
  if (facts.stopReason) return failed(facts.stopReason.code, `${facts.stopReason.diagnostic} (event service: ${summary})`);
  if (facts.received === 0) return failed(ErrorCode.ESNOEVENTS, facts.fetchError ?? 'event service: the server had no event ranges for this job');
  if (done === slots.length && facts.unprocessed === 0) {
    return { state: 'finished', transExitCode: 0, pilotErrorCode: 0, pilotErrorDiag: '', exeErrorCode: 0, exeErrorDiag: '' };
  }
  const firstBad = slots.find((s) => s.state === 'fatal') ?? slots.find((s) => s.state === 'failed');
  const detail = firstBad ? `; ${firstBad.last.range.eventRangeID}: ${firstBad.last.errorDiag || (firstBad.last.delivered ? '' : 'result not delivered')}` : '';
  const why = facts.softkilled ? ' after softkill' : facts.fetchError ? ` (${facts.fetchError})` : '';
  const exit = firstBad?.last.exitCode ?? 0;
  const code = count('fatal') > 0 ? ErrorCode.ESFATAL : ErrorCode.ESRECOVERABLE;
  return failed(code, `event service${why}: ${summary}${detail}`, exit);
}
