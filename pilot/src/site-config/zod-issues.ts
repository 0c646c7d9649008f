/** Zod's validation failures as ConfigIssues: `queues[2].maxrss: maxrss (MB) must be a number (got "8GB")`. */
import type { core } from 'zod/mini';
import { closestName, describeValue, fieldPath, type ConfigIssue } from '../config/index.js';

/** The value at `path` inside `input`, to show what was actually there. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * Zod issues → ConfigIssues. `prefix` is prepended to every path (the
 * queue's place in its file); `known` feeds "did you mean" for unknown keys.
 */
export function issuesFromZod(
  file: string,
  error: core.$ZodError,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
  known: readonly string[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = closestName(key, known);
        out.push({ file, field: fieldPath([...prefix, ...issue.path, key]), problem: `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}` });
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    const missing = value === undefined && issue.path.length > 0;
    const problem = missing
      ? issue.code === 'invalid_type'
        ? 'is required but missing'
        : `is required but missing (${issue.message})`
      : `${issue.message} (got ${describeValue(value)})`;
    out.push({ file, field: fieldPath([...prefix, ...issue.path]), problem });
  }
  return out;
}
