/**
 * Turns validation failures into lines a site admin can act on:
 * `site-config/queues/usdf.json: queues[2].maxrss: maxrss (MB) must be a number (got "8GB")`.
 * Every message names the file, the field and the problem.
 */
/** One problem in one file. `field` is a path like `queues[2].maxrss`, or `(file)` for the whole file. */
export interface ConfigIssue {
  file: string;
  field: string;
  problem: string;
}

/** `queues[2].maxrss` from a path array. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(file)';
}

/** Small edit distance, for "did you mean" on a misspelt field. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** `file: field: problem`, one line. */
export function formatIssue(issue: ConfigIssue): string {
  return `${issue.file}: ${issue.field}: ${issue.problem}`;
}

/** Thrown when configuration cannot be used; carries every issue found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}
