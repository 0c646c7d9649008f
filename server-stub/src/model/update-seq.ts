/**
 * Update order rules. Our pilot stamps each update with
 * `X-PanDA-Update-Seq: <PandaID>:<attemptNr>:<n>` (bulk requests carry a JSON
 * map, see `parseBulkSeqHeader`). The stub refuses, and counts as an order
 * violation, an update that would move a job backwards: a sequence not newer
 * than the last accepted one, a state regression, or anything after the
 * final update. An exact resend of an update already accepted (a retry after
 * a timeout whose first copy did arrive) is an idempotent duplicate: answered
 * like the first copy, not applied again, not a violation. Plain functions
 * over plain data; the engine feeds them the job's stored updates.
 */
import { isFinalPilotState, isPilotJobState, PILOT_STATE_RANK, type PilotJobState } from '../../../pilot/src/protocol/index.js';

export { BULK_SEQ_HEADER } from '../../../pilot/src/protocol/index.js';

/** A parsed sequence header. */
export interface UpdateSeq {
  pandaId: number;
  attemptNr: number;
  n: number;
}

/** Parses the header; null when absent or not three non-negative integers. */
export function parseUpdateSeq(raw: string | null | undefined): UpdateSeq | null {
  const m = /^\s*(\d+):(\d+):(\d+)\s*$/.exec(raw ?? '');
  if (!m) return null;
  return { pandaId: Number(m[1]), attemptNr: Number(m[2]), n: Number(m[3]) };
}

/** Parses the bulk header; an unreadable header counts as absent (every entry then has no sequence). */
export function parseBulkSeqHeader(raw: string | null | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!raw) return out;
  try {
    const value: unknown = JSON.parse(raw);
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out.set(k, v);
    }
  } catch {
    // Not JSON: no sequences, so only the state rules apply.
  }
  return out;
}

/** An earlier update of the same job, as stored. */
export interface PastUpdate {
  seqHeader: string | null;
  state: string;
  /** True when the update passed the order rules and went to the state machine. */
  accepted: boolean;
  /** Canonical text of its parameters, to tell an exact resend from a reused sequence. */
  paramsKey: string;
  /** The command it was answered with. */
  command: string;
}

/** The order facts of a job without the per-sequence lookup: small enough to keep on the job's row. */
export interface OrderSummary {
  lastSeq: UpdateSeq | null;
  /** Highest state rank accepted so far (-1: none). */
  lastRank: number;
  lastState: string | null;
  finalAccepted: boolean;
}

/** A job no update was accepted for yet. */
export const NO_ORDER: OrderSummary = { lastSeq: null, lastRank: -1, lastState: null, finalAccepted: false };

/** What the order rules remember about a job: derived from its accepted updates. */
export interface OrderState extends OrderSummary {
  /** Accepted updates by their raw sequence header (trimmed). */
  acceptedBySeq: Pick<ReadonlyMap<string, { paramsKey: string; command: string }>, 'get'>;
}

/** One more accepted update folded into the summary: the rule `orderStateOf` applies to each stored one. */
export function foldOrder(s: OrderSummary, seqHeader: string | null, state: string): OrderSummary {
  if (!isPilotJobState(state)) return { lastSeq: s.lastSeq, lastRank: s.lastRank, lastState: s.lastState, finalAccepted: s.finalAccepted };
  const seq = parseUpdateSeq(seqHeader);
  const rank = PILOT_STATE_RANK[state];
  const up = rank >= s.lastRank;
  return {
    lastSeq: seq && (!s.lastSeq || seq.n > s.lastSeq.n) ? seq : s.lastSeq,
    lastRank: up ? rank : s.lastRank,
    lastState: up ? state : s.lastState,
    finalAccepted: s.finalAccepted || isFinalPilotState(state),
  };
}

/** Folds a job's stored updates (oldest first) into the state the rules need. */
export function orderStateOf(history: readonly PastUpdate[]): OrderState {
  let summary = NO_ORDER;
  const acceptedBySeq = new Map<string, { paramsKey: string; command: string }>();
  for (const u of history) {
    if (!u.accepted || !isPilotJobState(u.state)) continue;
    summary = foldOrder(summary, u.seqHeader, u.state);
    // The update itself, not a copy: its paramsKey may be computed on demand, only when a resend is compared.
    if (u.seqHeader && parseUpdateSeq(u.seqHeader)) acceptedBySeq.set(u.seqHeader.trim(), u);
  }
  return { ...summary, acceptedBySeq };
}

/** An incoming update, as the order rules see it. */
export interface IncomingUpdateOrder {
  pandaId: number;
  /** The attempt number the update names, if it names one. */
  attemptNr?: number | undefined;
  seqHeader: string | null;
  state: string;
  paramsKey: string;
}

/** accept: go on to the state machine; duplicate: answer `command`, apply nothing; violation: refuse. */
export type OrderVerdict = { kind: 'accept' } | { kind: 'duplicate'; command: string; note: string } | { kind: 'violation'; reason: string };

/** The order check the engine runs for every update. */
export type UpdateOrderCheck = (state: OrderState, incoming: IncomingUpdateOrder) => OrderVerdict;

/** Canonical text of a parameter dict (key order does not matter). */
export function paramsKey(params: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => [k, params[k]]),
  );
}

/**
 * The rules. Updates without a sequence header (pilot3) get the state rules
 * only; a state the pilot may not send at all is left to the state machine.
 */
export const checkUpdateOrder: UpdateOrderCheck = (state, incoming) => {
  if (!isPilotJobState(incoming.state)) return { kind: 'accept' };
  const raw = incoming.seqHeader?.trim() || null;
  const seq = parseUpdateSeq(raw);
  if (raw !== null && seq === null) return { kind: 'violation', reason: `unreadable sequence header "${raw.slice(0, 60)}"` };
  if (seq && raw) {
    if (seq.pandaId !== incoming.pandaId) return { kind: 'violation', reason: `sequence ${raw} names job ${seq.pandaId}, not ${incoming.pandaId}` };
    if (incoming.attemptNr !== undefined && seq.attemptNr !== incoming.attemptNr) {
      return { kind: 'violation', reason: `sequence ${raw} names attempt ${seq.attemptNr}, the update says ${incoming.attemptNr}` };
    }
    // Every accepted sequence is at most lastSeq: a newer one cannot be a resend, so only one not newer
    // needs the per-sequence lookup (a read of the job's stored updates, for most updates otherwise).
    if (state.lastSeq && seq.n <= state.lastSeq.n) {
      const earlier = state.acceptedBySeq.get(raw);
      if (earlier) {
        if (earlier.paramsKey === incoming.paramsKey) return { kind: 'duplicate', command: earlier.command, note: `resend of ${raw}, already applied` };
        return { kind: 'violation', reason: `sequence ${raw} reused with different content` };
      }
      return { kind: 'violation', reason: `sequence ${seq.n} is not newer than ${state.lastSeq.n}` };
    }
  }
  return stateRule(state, incoming.state);
};

function stateRule(state: OrderState, incoming: PilotJobState): OrderVerdict {
  if (state.finalAccepted) {
    return isFinalPilotState(incoming)
      ? { kind: 'violation', reason: `second final update (${incoming} after ${state.lastState})` }
      : { kind: 'violation', reason: `${incoming} after the final update (${state.lastState})` };
  }
  if (PILOT_STATE_RANK[incoming] < state.lastRank) {
    return { kind: 'violation', reason: `state regression: ${incoming} after ${state.lastState}` };
  }
  return { kind: 'accept' };
}
