/**
 * A pilot start evaluates no zod: in the bundle, a module reached only through `await import()` is
 * evaluated when that import runs, everything reached through static imports at start. So the
 * static import graph from the CLI entry and from the run command's module (itself imported when
 * the command runs) must not reach zod; `config check`'s and a --queuedata site file's may.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const ENTRY = 'pilot/src/cli/main.ts';
const RUN = 'pilot/src/cli/run-pilot.ts';

/** Every input reachable from `from` through the given kinds of import. */
function reach(meta: Metafile, from: string[], kinds: ReadonlySet<string>): Set<string> {
  const seen = new Set<string>(from);
  const todo = [...from];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    for (const imp of meta.inputs[file]?.imports ?? []) {
      if (!kinds.has(imp.kind) || imp.external || seen.has(imp.path)) continue;
      seen.add(imp.path);
      todo.push(imp.path);
    }
  }
  return seen;
}

describe("the run command's module graph", () => {
  it('reaches zod only through a dynamic import', async () => {
    const result = await build({
      absWorkingDir: REPO,
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      define: { __PILOT_VERSION__: '"0.0.0-test"' },
    });
    const meta = result.metafile;
    expect(Object.keys(meta.inputs)).toContain(RUN);
    const isZod = (f: string) => /node_modules\/zod\//.test(f);
    const atStart = reach(meta, [ENTRY, RUN], new Set(['import-statement', 'require-call']));
    // What a start does evaluate: the hand-written queue-data validator, and not the site-config schemas.
    expect(atStart).toContain('pilot/src/config/queue-data.ts');
    expect([...atStart].filter((f) => isZod(f) || f.startsWith('pilot/src/site-config/'))).toEqual([]);
    // The check can see zod: following dynamic imports too (config check, a --queuedata site file) reaches it.
    const all = reach(meta, [ENTRY], new Set(['import-statement', 'require-call', 'dynamic-import']));
    expect([...all].some(isZod)).toBe(true);
  });
});
