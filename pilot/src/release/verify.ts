/**
 * `panda-pilot release verify DIR`: does a release tree hold exactly the
 * files its manifest lists, each with the listed sha256?
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { hashTree, listTree, MANIFEST_FILE, parseManifest, type Manifest } from './manifest.js';

/** The differences between a manifest and a tree. */
export interface TreeDiff {
  missing: string[];
  extra: string[];
  modified: string[];
}

/** Compares what the manifest says with what the tree has. Pure. */
export function diffManifest(expected: Manifest, actual: Manifest, others: readonly string[] = []): TreeDiff {
  const missing = [...expected.keys()].filter((f) => !actual.has(f)).sort();
  const extra = [...[...actual.keys()].filter((f) => !expected.has(f)), ...others].sort();
  const modified = [...expected.entries()]
    .filter(([f, h]) => actual.has(f) && actual.get(f) !== h)
    .map(([f]) => f)
    .sort();
  return { missing, extra, modified };
}

export interface VerifyResult {
  /** The version directory that was checked (symlinks resolved). */
  tree: string;
  /** Problems that stop the check itself (no manifest, unreadable lines). */
  errors: string[];
  diff: TreeDiff;
  files: number;
  ok: boolean;
}

/**
 * The tree a path names: a version directory (has the manifest), or a
 * `panda_env` directory (its `current`), or `current` itself.
 */
export function resolveTree(dir: string): string | undefined {
  for (const candidate of [dir, path.join(dir, 'current'), path.join(dir, 'panda_env', 'current')]) {
    if (existsSync(path.join(candidate, MANIFEST_FILE))) return realpathSync(candidate);
  }
  return undefined;
}

/** Checks a tree against its manifest. */
export async function verifyTree(dir: string): Promise<VerifyResult> {
  const empty: TreeDiff = { missing: [], extra: [], modified: [] };
  const tree = resolveTree(dir);
  if (!tree) return { tree: dir, errors: [`${dir}: no ${MANIFEST_FILE} here, in current/ or in panda_env/current/`], diff: empty, files: 0, ok: false };
  const { manifest, errors } = parseManifest(readFileSync(path.join(tree, MANIFEST_FILE), 'utf8'));
  if (errors.length) return { tree, errors, diff: empty, files: 0, ok: false };
  const listing = listTree(tree);
  // Only files the manifest lists are hashed; the others are extra whatever they hold.
  const actual = await hashTree(
    tree,
    listing.files.filter((f) => manifest.has(f)),
  );
  for (const f of listing.files) if (!manifest.has(f)) actual.set(f, '');
  const diff = diffManifest(manifest, actual, listing.others);
  const ok = diff.missing.length + diff.extra.length + diff.modified.length === 0;
  return { tree, errors: [], diff, files: manifest.size, ok };
}

/** The report a person reads: one line per problem, grouped. */
export function formatVerify(r: VerifyResult): string {
  if (r.errors.length) return `${r.errors.join('\n')}\n`;
  if (r.ok) return `OK ${r.tree}: ${r.files} files match ${MANIFEST_FILE}\n`;
  const lines = [`FAILED ${r.tree}:`];
  for (const f of r.diff.modified) lines.push(`  modified: ${f}`);
  for (const f of r.diff.missing) lines.push(`  missing:  ${f}`);
  for (const f of r.diff.extra) lines.push(`  extra:    ${f}`);
  lines.push(`${r.diff.modified.length} modified, ${r.diff.missing.length} missing, ${r.diff.extra.length} extra`);
  return `${lines.join('\n')}\n`;
}
