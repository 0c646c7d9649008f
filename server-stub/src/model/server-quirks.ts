/**
 * Known bugs of real PanDA servers that the stub reproduces on request
 * (`panda-stub serve --quirk NAME`), so tests prove the pilot survives them.
 * Each is described, with the releases that have it, in
 * docs/known-server-behaviours.md. Plain facts and reply shapes; the API
 * layer applies them.
 */

/** The quirks the stub can reproduce. */
export const SERVER_QUIRKS = {
  /**
   * Legacy `updateEventRanges` on PostgreSQL (0.8.x, 1.0.x): the ranges are
   * stored, a follow-up query fails on a bind name's case (`:PandaID` vs
   * `:pandaID`), and `Returns` gets one extra `false` entry.
   */
  'es-extra-returns': 'legacy updateEventRanges stores the ranges and answers Returns with one extra false entry',
  /**
   * v1 `event/update_event_ranges` on 1.0.3: the ranges are stored, then
   * the reply (built as a Python set) cannot be serialised: HTTP 500.
   */
  'es-v1-500': 'v1 event/update_event_ranges stores the ranges and answers HTTP 500 (reply not serialisable)',
} as const;

export type ServerQuirk = keyof typeof SERVER_QUIRKS;

export function isServerQuirk(name: string): name is ServerQuirk {
  return Object.hasOwn(SERVER_QUIRKS, name);
}

/** Parses `--quirk` values; throws with the known names on an unknown one. */
export function parseQuirks(names: readonly string[]): ReadonlySet<ServerQuirk> {
  const out = new Set<ServerQuirk>();
  for (const name of names) {
    if (!isServerQuirk(name)) throw new Error(`unknown quirk ${JSON.stringify(name)}; known: ${Object.keys(SERVER_QUIRKS).join(', ')}`);
    out.add(name);
  }
  return out;
}

/** `Returns` as the legacy server on PostgreSQL sends it: one `false` too many. */
export function extraReturns(returns: readonly (boolean | null)[]): (boolean | null)[] {
  return [...returns, false];
}

/** The body of the v1 server's 500 for update_event_ranges (Python's TypeError for a set). */
export const V1_SET_NOT_SERIALISABLE = 'Internal Server Error: TypeError: Object of type set is not JSON serializable';
