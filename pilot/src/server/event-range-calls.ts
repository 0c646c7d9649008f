/**
 * Decoding of the event-range replies both dialects share: a bulk report's
 * reply (`Returns` and `Command`/`Commands`, JSON text or JSON values) and
 * a getEventRanges list.
 */
import type { RangeReportReply } from '../protocol/index.js';

/** A value that may come as JSON text (legacy version 0) or as JSON itself. */
function jsonValue(value: unknown, what: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new Error(`${what} is not JSON: ${value.slice(0, 100)}`);
  }
}

/**
 * Decodes `Returns` and `Command`(s) of a bulk report reply. `Returns` that
 * is not a list at all is an error; a list of the wrong length or with
 * entries that are not true/false/null is read as far as it goes (the first
 * `expected` entries; anything missing or odd counts as refused) and the
 * oddity is returned for the log, never thrown: the legacy server on
 * PostgreSQL answers three reports with `[true, true, true, false]`
 * (docs/known-server-behaviours.md).
 */
export function decodeRangeReportReply(returns: unknown, commands: unknown, expected: number): RangeReportReply {
  const list = jsonValue(returns, 'Returns');
  if (!Array.isArray(list)) throw new Error(`Returns must be a list of ${expected} true/false/null, got ${JSON.stringify(list)?.slice(0, 100)}`);
  const notes: string[] = [];
  if (list.length > expected) notes.push(`Returns has ${list.length} entries for ${expected} reports: the first ${expected} used`);
  if (list.length < expected) notes.push(`Returns has ${list.length} entries for ${expected} reports: the missing ones count as refused`);
  const out: (boolean | null)[] = [];
  for (let i = 0; i < expected; i++) {
    const v: unknown = list[i];
    if (v === true || v === false || v === null) out.push(v);
    else {
      out.push(false);
      if (i < list.length) notes.push(`entry ${i} is ${JSON.stringify(v)?.slice(0, 40)}, not true/false/null: counted as refused`);
    }
  }
  const map = jsonValue(commands ?? {}, 'Command');
  const cmds: Record<string, string> = {};
  if (map && typeof map === 'object' && !Array.isArray(map)) {
    for (const [id, cmd] of Object.entries(map)) if (typeof cmd === 'string' && cmd !== '' && cmd !== 'NULL') cmds[id] = cmd;
  }
  const reply: RangeReportReply = { returns: out, commands: cmds };
  if (notes.length > 0) reply.oddity = { note: notes.join('; '), returns: list };
  return reply;
}

/** The ranges list of a getEventRanges reply (a list, or its JSON text). */
export function decodeRangeList(value: unknown): unknown[] {
  const list = jsonValue(value ?? [], 'eventRanges');
  if (!Array.isArray(list)) throw new Error(`eventRanges must be a list, got ${typeof list}`);
  return list;
}
