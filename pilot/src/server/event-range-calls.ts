/**
 * The event-range calls as the pilot's logic sees them, whichever dialect
 * carries them, and the decoding of a bulk report's reply (`Returns` and
 * `Command`/`Commands`, JSON text or JSON values).
 */
import type { PilotRangeState } from '../protocol/index.js';
import type { SendOptions } from './panda-server.js';

/** What the pilot asks for in getEventRanges (legacy names; dialects translate). */
export interface RangeRequest {
  pandaId: number;
  jobsetId: number;
  taskId?: number | undefined;
  nRanges: number;
}

/** One range's report, as updateEventRanges version 0 takes it. */
export interface RangeReport {
  eventRangeID: string;
  eventStatus: PilotRangeState;
  errorCode?: number | undefined;
  errorDiag?: string | undefined;
  coreCount?: number | undefined;
  cpuConsumptionTime?: number | undefined;
}

/** The server's answer: per range true (taken), false (refused) or null (not final, ignored); a command per PandaID. */
export interface RangeReportReply {
  returns: (boolean | null)[];
  commands: Record<string, string>;
}

/** The event-service half of a server. */
export interface EventRangeApi {
  /** Raw range objects as the server sent them (validated by the caller); empty = exhausted. */
  getEventRanges(req: RangeRequest, opts?: SendOptions): Promise<unknown[]>;
  updateEventRanges(pandaId: number, reports: readonly RangeReport[], opts?: SendOptions): Promise<RangeReportReply>;
}

/** A value that may come as JSON text (legacy version 0) or as JSON itself. */
function jsonValue(value: unknown, what: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new Error(`${what} is not JSON: ${value.slice(0, 100)}`);
  }
}

/** Decodes `Returns` and `Command`(s) of a bulk report reply; throws with a clear message when they are not what the protocol says. */
export function decodeRangeReportReply(returns: unknown, commands: unknown, expected: number): RangeReportReply {
  const list = jsonValue(returns, 'Returns');
  if (!Array.isArray(list) || list.length !== expected || !list.every((v) => v === true || v === false || v === null)) {
    throw new Error(`Returns must be a list of ${expected} true/false/null, got ${JSON.stringify(list).slice(0, 100)}`);
  }
  const map = jsonValue(commands ?? {}, 'Command');
  const out: Record<string, string> = {};
  if (map && typeof map === 'object' && !Array.isArray(map)) {
    for (const [id, cmd] of Object.entries(map)) if (typeof cmd === 'string' && cmd !== '' && cmd !== 'NULL') out[id] = cmd;
  }
  return { returns: list as (boolean | null)[], commands: out };
}

/** The ranges list of a getEventRanges reply (a list, or its JSON text). */
export function decodeRangeList(value: unknown): unknown[] {
  const list = jsonValue(value ?? [], 'eventRanges');
  if (!Array.isArray(list)) throw new Error(`eventRanges must be a list, got ${typeof list}`);
  return list;
}
