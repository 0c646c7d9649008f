/**
 * A release tree's manifest: the sha256 of every file, in `sha256sum`'s own
 * format (`<hex>  <path>`, sorted by path) so a site admin can check a tree
 * with `sha256sum -c MANIFEST.sha256` on a node that has no Node.js.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import path from 'node:path';

/** The manifest's file name at the top of a release tree; it does not list itself. */
export const MANIFEST_FILE = 'MANIFEST.sha256';

/** Relative path (always '/'-separated) → sha256 hex. */
export type Manifest = Map<string, string>;

/** A file's digest, streamed (the runtime binary is ~100 MB). */
export function digestFile(file: string, algorithm: 'sha256' | 'sha512', encoding: 'hex' | 'base64'): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash(algorithm);
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest(encoding)));
  });
}

/** sha256 of a file, hex. */
export const sha256File = (file: string): Promise<string> => digestFile(file, 'sha256', 'hex');

/** What is in a tree: regular files, and anything else (symlinks, sockets) that a manifest cannot vouch for. */
export interface TreeListing {
  files: string[];
  others: string[];
}

/** Every entry under `root`, relative, sorted; the manifest itself left out. */
export function listTree(root: string): TreeListing {
  const files: string[] = [];
  const others: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        if (r !== MANIFEST_FILE) files.push(r);
      } else others.push(r);
    }
  };
  walk('');
  return { files: files.sort(), others: others.sort() };
}

/** Hashes every file of a tree. */
export async function hashTree(root: string, files: readonly string[]): Promise<Manifest> {
  const m: Manifest = new Map();
  for (const f of files) m.set(f, await sha256File(path.join(root, f)));
  return m;
}

/** The manifest as text, sorted by path. */
export function formatManifest(m: Manifest): string {
  return [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, hash]) => `${hash}  ${file}\n`)
    .join('');
}

/** Parses manifest text; a line that is not `<64 hex>  <path>`, an absolute or `..` path, or a repeat is an error. */
export function parseManifest(text: string): { manifest: Manifest; errors: string[] } {
  const manifest: Manifest = new Map();
  const errors: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) {
      errors.push(`${MANIFEST_FILE} line ${i + 1}: not "<sha256>  <path>"`);
      return;
    }
    const file = m[2]!;
    if (file.startsWith('/') || file.split('/').includes('..')) errors.push(`${MANIFEST_FILE} line ${i + 1}: path ${file} leaves the tree`);
    else if (manifest.has(file)) errors.push(`${MANIFEST_FILE} line ${i + 1}: ${file} listed twice`);
    else manifest.set(file, m[1]!);
  });
  return { manifest, errors };
}
