/**
 * Files the stub keeps on disk for pilots: log tarballs stored over WebDAV
 * (`/storage/<path>`) and user sandboxes in the cache (`/cache/<name>`).
 * Every file has its adler32 beside it, computed while it was written.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { Adler32 } from '../../../pilot/src/protocol/index.js';

/** A relative path of plain segments (letters, digits, `._-`, none starting with a dot), or null. */
export function safeRelativePath(raw: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.length === 0 || segments.length > 16) return null;
  if (!segments.every((s) => /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/.test(s))) return null;
  return segments.join('/');
}

export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
}

export interface StoredFile {
  path: string;
  size: number;
  adler32: string;
}

export class FileStore {
  constructor(
    private readonly root: string,
    /** Largest file accepted, bytes. */
    readonly maxBytes: number,
  ) {
    mkdirSync(root, { recursive: true });
  }

  private full(rel: string): string {
    return path.join(this.root, rel);
  }

  /** Writes `rel` from a stream (replacing it), computing its adler32 on the way; a file over the cap is refused and nothing kept. */
  async write(rel: string, body: Readable): Promise<StoredFile> {
    const target = this.full(rel);
    mkdirSync(path.dirname(target), { recursive: true });
    const partial = `${target}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const sum = new Adler32();
    let size = 0;
    const max = this.maxBytes;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(new FileTooLargeError(`file larger than ${max} bytes`));
        sum.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(partial));
      const adler32 = sum.hex();
      writeFileSync(`${target}.adler32`, adler32);
      renameSync(partial, target);
      return { path: rel, size, adler32 };
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
  }

  /** The file's size and adler32, or null when there is no such file. */
  stat(rel: string): StoredFile | null {
    const file = this.full(rel);
    if (!existsSync(file) || !statSync(file).isFile()) return null;
    let adler32 = '';
    try {
      adler32 = readFileSync(`${file}.adler32`, 'utf8').trim();
    } catch {
      // written by someone else: no checksum known
    }
    return { path: rel, size: statSync(file).size, adler32 };
  }

  /** The whole file, when it exists and is at most `maxBytes` (the monitor page reads small log tarballs whole). */
  readAll(rel: string, maxBytes: number): { ok: true; bytes: Buffer; size: number; mtimeMs: number } | { ok: false; reason: string } {
    const file = this.full(rel);
    if (!existsSync(file)) return { ok: false, reason: `no such file in storage: ${rel}` };
    const st = statSync(file);
    if (!st.isFile()) return { ok: false, reason: `not a file: ${rel}` };
    if (st.size > maxBytes) return { ok: false, reason: `${st.size} bytes, more than the ${maxBytes} the page reads` };
    return { ok: true, bytes: readFileSync(file), size: st.size, mtimeMs: st.mtimeMs };
  }

  read(rel: string): Readable {
    return createReadStream(this.full(rel));
  }

  delete(rel: string): boolean {
    const file = this.full(rel);
    if (!existsSync(file)) return false;
    rmSync(file, { force: true });
    rmSync(`${file}.adler32`, { force: true });
    return true;
  }

  /** Every stored file, for the listing page. */
  list(dir = ''): StoredFile[] {
    const out: StoredFile[] = [];
    const base = this.full(dir);
    if (!existsSync(base)) return out;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) out.push(...this.list(rel));
      else if (entry.isFile() && !entry.name.endsWith('.adler32') && !entry.name.includes('.part-')) {
        const s = this.stat(rel);
        if (s) out.push(s);
      }
    }
    return out;
  }
}
