/**
 * Event-range calls of both dialects, decoded into one vocabulary: the
 * `eventRanges` / `event_ranges` JSON text of a bulk report becomes the flat
 * list of `{eventRangeID, eventStatus, …}` the engine applies.
 */

/**
 * The range reports in a bulk report's JSON text. Version 0 is a flat list;
 * later versions wrap ranges in `{zipFile, eventRanges: [...]}` chunks, which
 * are flattened. A string that is not a JSON list gives an error text.
 */
export function decodeRangeReports(text: unknown, version: number): { ok: true; items: unknown[] } | { ok: false; error: string } {
  let value: unknown = text;
  if (typeof text === 'string') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `eventRanges is not JSON: ${(err as Error).message}` };
    }
  }
  if (!Array.isArray(value)) return { ok: false, error: 'eventRanges must be a JSON list' };
  if (version === 0) return { ok: true, items: value };
  const items: unknown[] = [];
  for (const chunk of value) {
    const inner = chunk && typeof chunk === 'object' ? (chunk as { eventRanges?: unknown }).eventRanges : undefined;
    if (Array.isArray(inner)) items.push(...inner);
    else items.push(chunk);
  }
  return { ok: true, items };
}

/** `version` as the server reads it: int(), falling back to 0. */
export function reportVersion(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(String(value ?? '0').trim());
  return Number.isInteger(n) ? n : 0;
}
