/**
 * A user's sandbox (the `prun` case): the archive named in the job's
 * parameters is fetched from the server's cache, checked, and unpacked into
 * the job dir — only after every entry was found harmless. An entry that
 * would land outside the job dir (`..`, an absolute path, a link leading out),
 * a device or FIFO, or an archive with too many entries or bytes is refused
 * with 1246 and the entry's name.
 */
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { ErrorCode } from '../protocol/index.js';
import { PilotError } from '../errors/index.js';

export interface SandboxLimits {
  maxEntries: number;
  /** Total of the entries' sizes once unpacked. */
  maxBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { maxEntries: 20_000, maxBytes: 2 * 1024 ** 3 };

const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** `path` inside `root` (or root itself)? Both absolute and resolved. */
function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Why one entry must not be unpacked into `root`, or null when it may. Pure: the tests call it on made-up entries. */
export function entryRefusal(root: string, entry: { path: string; type: string; linkpath?: string | undefined }): string | null {
  const name = entry.path;
  if (!ALLOWED_TYPES.has(entry.type)) return `${entry.type} entries are not allowed`;
  if (name === '' || name.includes('\0')) return 'empty or NUL in the name';
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) return 'absolute path';
  if (name.split(/[\\/]/).includes('..')) return "'..' in the path";
  const target = path.resolve(root, name);
  if (!inside(root, target)) return 'lands outside the job dir';
  if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
    const link = entry.linkpath ?? '';
    if (link === '') return 'link without a target';
    if (link.startsWith('/')) return `link to an absolute path (${link})`;
    // A symlink resolves from its own directory; a hard link names a path in the archive, from the root.
    const resolved = entry.type === 'SymbolicLink' ? path.resolve(path.dirname(target), link) : path.resolve(root, link);
    if (!inside(root, resolved)) return `link leads out of the job dir (${link})`;
  }
  return null;
}

const refuse = (diag: string) => new PilotError(ErrorCode.NOUSERTARBALL, diag);

/**
 * Checks every entry of `archive` (gzip or plain tar) against the rules and
 * the limits, then unpacks it into `dir`. Throws PilotError 1246 naming the
 * first entry refused; nothing is unpacked then.
 */
export async function extractSandbox(
  archive: string,
  dir: string,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
): Promise<{ entries: number; bytes: number }> {
  const root = path.resolve(dir);
  const name = path.basename(archive);
  let entries = 0;
  let bytes = 0;
  let refusal: PilotError | null = null;
  // Loaded on first use (only prun jobs have a sandbox), not at every pilot start.
  const { list, extract } = await import('tar');
  try {
    await list({
      file: archive,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (refusal) return;
        entries++;
        bytes += entry.size ?? 0;
        const why = entryRefusal(root, { path: entry.path, type: entry.type, linkpath: entry.linkpath });
        if (why) refusal = refuse(`sandbox ${name}: entry ${JSON.stringify(entry.path.slice(0, 120))} refused: ${why}`);
        else if (entries > limits.maxEntries)
          refusal = refuse(`sandbox ${name}: more than ${limits.maxEntries} entries (at ${JSON.stringify(entry.path.slice(0, 120))})`);
        else if (bytes > limits.maxBytes)
          refusal = refuse(`sandbox ${name}: more than ${limits.maxBytes} bytes unpacked (at ${JSON.stringify(entry.path.slice(0, 120))})`);
      },
    });
  } catch (err) {
    throw refuse(`sandbox ${name} is not a readable tar archive: ${(err as Error).message}`);
  }
  if (refusal) throw refusal;
  if (entries === 0) throw refuse(`sandbox ${name} is empty or not a tar archive`);
  try {
    // Checked above; strict makes any warning (a path tar would rewrite) an error instead of a silent change.
    await extract({ file: archive, cwd: root, strict: true, preservePaths: false, noChmod: false, preserveOwner: false });
  } catch (err) {
    throw refuse(`sandbox ${name} could not be unpacked: ${(err as Error).message}`);
  }
  return { entries, bytes };
}

/** Removes a downloaded archive once unpacked (it would otherwise count against the job dir's space and the log). */
export function dropArchive(file: string): void {
  try {
    if (statSync(file).isFile()) rmSync(file);
  } catch {
    // already gone
  }
}
