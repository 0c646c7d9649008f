/**
 * Event-service wire facts shared by the pilot and the stub (docs/panda-protocol.md §5):
 * the range-ID format, the server's range status codes, and the states a
 * pilot may report for a range.
 */
import { nameOfCode } from './code-table.js';

/** Range status codes in the server's JEDI_Events table. */
export const EventRangeStatus = {
  ready: 0,
  sent: 1,
  running: 2,
  finished: 3,
  cancelled: 4,
  discarded: 5,
  done: 6,
  failed: 7,
  fatal: 8,
  merged: 9,
  corrupted: 10,
} as const;

export type EventRangeStatusName = keyof typeof EventRangeStatus;
export type EventRangeStatusCode = (typeof EventRangeStatus)[EventRangeStatusName];

const statusName = nameOfCode(EventRangeStatus);

/** The name of a status code (`7` → `failed`), or `unknown`. */
export function eventRangeStatusName(code: number): EventRangeStatusName | 'unknown' {
  return statusName(code) ?? 'unknown';
}

/** States a pilot reports for a range; `fatal` means "never retry this one". */
export const PILOT_RANGE_STATES = ['running', 'finished', 'failed', 'fatal'] as const;
export type PilotRangeState = (typeof PILOT_RANGE_STATES)[number];

export function isPilotRangeState(s: unknown): s is PilotRangeState {
  return typeof s === 'string' && (PILOT_RANGE_STATES as readonly string[]).includes(s);
}

/** The five integers of `<taskID>-<PandaID>-<fileID>-<processID>-<attemptNr>`. */
export interface EventRangeIdParts {
  taskId: number;
  pandaId: number;
  fileId: number;
  processId: number;
  attemptNr: number;
}

/** Formats a range ID the way the server makes them. */
export function formatEventRangeId(p: EventRangeIdParts): string {
  return `${p.taskId}-${p.pandaId}-${p.fileId}-${p.processId}-${p.attemptNr}`;
}

/** Parses a range ID; null when it is not five dash-separated non-negative integers. */
export function parseEventRangeId(id: unknown): EventRangeIdParts | null {
  if (typeof id !== 'string') return null;
  const m = /^(\d{1,15})-(\d{1,15})-(\d{1,15})-(\d{1,15})-(\d{1,15})$/.exec(id.trim());
  if (!m) return null;
  const [taskId, pandaId, fileId, processId, attemptNr] = m.slice(1).map(Number) as [number, number, number, number, number];
  return { taskId, pandaId, fileId, processId, attemptNr };
}

/** A range as the server hands it out (getEventRanges / acquire_event_ranges). */
export interface EventRangeWire {
  eventRangeID: string;
  startEvent: number;
  lastEvent: number;
  LFN: string;
  GUID: string;
  scope: string;
}
