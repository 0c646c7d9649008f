/**
 * The `X-PanDA-Update-Seq: <PandaID>:<attemptNr>:<n>` header our pilot stamps
 * on each update so the stub can check their order. This issue only parses
 * and stores it; `checkUpdateOrder` is where a later issue puts the rules.
 */

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

/** The part of a recorded update an order check needs. */
export interface SequencedUpdate {
  seqHeader: string | null;
  state: string;
}

/** Verdict of an order check: null when fine, else what is wrong. */
export type OrderVerdict = string | null;

/**
 * Checks an incoming update against the previous one for the same job.
 * Until the ordering issue lands every order is accepted; the engine already
 * calls this for each update and stores a non-null verdict as a violation.
 */
export type UpdateOrderCheck = (previous: SequencedUpdate | undefined, incoming: SequencedUpdate) => OrderVerdict;

/** The check used until ordering rules exist: accepts everything. */
export const acceptAnyOrder: UpdateOrderCheck = () => null;
