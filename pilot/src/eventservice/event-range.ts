/**
 * A range as the pilot works with it: the server's fields, checked, plus the
 * parts of its ID. A reply item that is not a usable range is refused with a
 * reason, never run.
 */
import { parseEventRangeId, type EventRangeIdParts, type EventRangeWire } from '../protocol/index.js';

export interface EventRange extends EventRangeWire {
  id: EventRangeIdParts;
}

/** One quantum of work across its attempts: `<fileID>-<processID>` (the attempt number changes on a retry). */
export function rangeSlot(range: { id: EventRangeIdParts }): string {
  return `${range.id.fileId}-${range.id.processId}`;
}

export type ParsedRange = { ok: true; range: EventRange } | { ok: false; eventRangeID: string | null; error: string };

const intField = (v: unknown): number | null => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
};

/** Checks one item of a getEventRanges reply. */
export function parseEventRange(raw: unknown): ParsedRange {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, eventRangeID: null, error: 'range is not an object' };
  const r = raw as Record<string, unknown>;
  const idText = typeof r.eventRangeID === 'string' ? r.eventRangeID : null;
  const id = parseEventRangeId(idText);
  if (!id || idText === null)
    return {
      ok: false,
      eventRangeID: null,
      error: `eventRangeID ${JSON.stringify(r.eventRangeID)?.slice(0, 80)} is not <task>-<PandaID>-<fileID>-<processID>-<attemptNr>`,
    };
  const fail = (error: string): ParsedRange => ({ ok: false, eventRangeID: idText, error });
  const startEvent = intField(r.startEvent);
  const lastEvent = intField(r.lastEvent);
  if (startEvent === null || startEvent < 0) return fail(`startEvent must be a non-negative integer, got ${JSON.stringify(r.startEvent)}`);
  if (lastEvent === null || lastEvent < startEvent) return fail(`lastEvent must be an integer ≥ startEvent, got ${JSON.stringify(r.lastEvent)}`);
  if (typeof r.LFN !== 'string' || r.LFN === '') return fail('LFN is missing');
  const str = (v: unknown) => (v === undefined || v === null ? 'NULL' : String(v));
  return { ok: true, range: { eventRangeID: idText, id, startEvent, lastEvent, LFN: r.LFN, GUID: str(r.GUID), scope: str(r.scope) } };
}
