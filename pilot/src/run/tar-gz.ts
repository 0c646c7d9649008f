/**
 * A gzipped ustar archive of a folder the pilot staged itself (regular files
 * and folders only), for the log tarball.
 *
 * Why not the `tar` package here: tar 7.5 throws from inside its own stream
 * callbacks on some trees (an empty file with another hard link: "write after
 * end", or zlib's Z_STREAM_ERROR), an uncaught exception that would end the
 * pilot instead of failing one job's log. Here every failure — a member that
 * cannot be read or shrank while packed, a name too long, a full disk —
 * rejects the returned promise, which the caller reports (1320).
 */
import { closeSync, createWriteStream, openSync, readSync, writeFileSync } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip, gzipSync } from 'node:zlib';
import { Adler32 } from '../protocol/index.js';

const BLOCK = 512;
const CHUNK = 1 << 20;

/** An archive member's name as ustar stores it: the name field (100 bytes), with a leading prefix (155) when longer. */
export function ustarName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  // Split at a slash so that the head fits the prefix and the rest the name field.
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  throw new Error(`name too long for a tar archive: ${name.slice(0, 120)}…`);
}

function octal(value: number, width: number): string {
  return `${Math.floor(value)
    .toString(8)
    .padStart(width - 1, '0')}\0`;
}

/** One 512-byte ustar header. */
export function ustarHeader(entry: { name: string; type: 'file' | 'dir'; size: number; mode: number; mtimeSec: number }): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = ustarName(entry.type === 'dir' ? `${entry.name}/` : entry.name);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid and gid 0: nothing of the node's accounts goes in the log
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(entry.size, 12), 124, 'ascii');
  h.write(octal(entry.mtimeSec, 12), 136, 'ascii');
  h.write(' '.repeat(8), 148, 'ascii'); // the checksum counts its own field as spaces
  h.write(entry.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A member's bytes: exactly the size its header promised, or an error when the file shrank meanwhile. */
async function* fileBlocks(file: string, name: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r');
  try {
    let done = 0;
    while (done < size) {
      const buf = Buffer.alloc(Math.min(CHUNK, size - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, done);
      if (bytesRead === 0) throw new Error(`${name} shrank from ${size} to ${done} bytes while it was packed`);
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
  // A file that grew meanwhile is cut at the size its header says.
  if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
}

async function* members(cwd: string, rel: string): AsyncGenerator<Buffer> {
  const full = path.join(cwd, rel);
  const st = await lstat(full);
  const mtimeSec = st.mtimeMs / 1000;
  if (st.isDirectory()) {
    yield ustarHeader({ name: rel, type: 'dir', size: 0, mode: st.mode, mtimeSec });
    // Sorted: the same tree always makes the same archive.
    for (const child of (await readdir(full)).sort()) yield* members(cwd, path.posix.join(rel, child));
  } else if (st.isFile()) {
    yield ustarHeader({ name: rel, type: 'file', size: st.size, mode: st.mode, mtimeSec });
    yield* fileBlocks(full, rel, st.size);
  } else {
    throw new Error(`${rel} is neither a file nor a folder`);
  }
}

async function* archive(cwd: string, top: string): AsyncGenerator<Buffer> {
  yield* members(cwd, top);
  yield Buffer.alloc(2 * BLOCK); // the end-of-archive mark
}

/** Where a member's bytes come from: bytes made by the caller, or a byte range of a file. */
export type TarPart = Buffer | { file: string; start: number; length: number };

/** A member of a listed archive (`writeTarGzMembers`): its name below the top folder, its parts, their total size. */
export interface TarMember {
  name: string;
  parts: TarPart[];
  size: number;
  mtimeSec: number;
}

/** A byte range of a file, exactly `length` bytes, or an error when the file shrank meanwhile. */
/** Ranges up to this size are read in one go, synchronously: a job's small logs cost three syscalls, not three thread-pool trips. */
const SMALL_RANGE = 64 * 1024;

/** A small byte range read at once (open, read, close); throws when the file shrank meanwhile. */
function smallRange(file: string, name: string, start: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, start + done);
      if (n === 0) throw new Error(`${name} shrank while it was packed (${done} of ${length} bytes from ${start})`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

async function* rangeBlocks(file: string, name: string, start: number, length: number): AsyncGenerator<Buffer> {
  if (length <= SMALL_RANGE) {
    yield smallRange(file, name, start, length);
    return;
  }
  const fh = await open(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const buf = Buffer.alloc(Math.min(CHUNK, length - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, start + done);
      if (bytesRead === 0) throw new Error(`${name} shrank while it was packed (${done} of ${length} bytes from ${start})`);
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** The archive in order: its bytes made here, and the file ranges to copy in between (read by the caller). */
function* listedParts(top: string, list: TarMember[], nowSec: number): Generator<Buffer | { file: string; name: string; start: number; length: number }> {
  const dirs = new Set<string>([top]);
  for (const m of list) {
    const slash = m.name.lastIndexOf('/');
    if (slash > 0) dirs.add(`${top}/${m.name.slice(0, slash)}`);
  }
  for (const d of dirs) yield ustarHeader({ name: d, type: 'dir', size: 0, mode: 0o755, mtimeSec: nowSec });
  for (const m of list) {
    yield ustarHeader({ name: `${top}/${m.name}`, type: 'file', size: m.size, mode: 0o644, mtimeSec: m.mtimeSec });
    let written = 0;
    for (const part of m.parts) {
      yield Buffer.isBuffer(part) ? part : { ...part, name: m.name };
      written += part.length;
    }
    if (written !== m.size) throw new Error(`${m.name}: parts of ${written} bytes, ${m.size} listed`);
    if (m.size % BLOCK) yield Buffer.alloc(BLOCK - (m.size % BLOCK));
  }
  yield Buffer.alloc(2 * BLOCK);
}

async function* listed(top: string, list: TarMember[], nowSec: number): AsyncGenerator<Buffer> {
  for (const part of listedParts(top, list, nowSec)) {
    if (Buffer.isBuffer(part)) yield part;
    else yield* rangeBlocks(part.file, part.name, part.start, part.length);
  }
}

/** The archive's bytes made at once, every range read synchronously (only for an archive of at most IN_MEMORY_MAX). */
function listedInMemory(top: string, list: TarMember[], nowSec: number): Buffer {
  const parts: Buffer[] = [];
  for (const part of listedParts(top, list, nowSec)) parts.push(Buffer.isBuffer(part) ? part : smallRange(part.file, part.name, part.start, part.length));
  return Buffer.concat(parts);
}

/** The archive's size before compression (headers, members padded to whole blocks, the end mark; folders not counted). */
function archiveBytes(list: readonly TarMember[]): number {
  return list.reduce((n, m) => n + BLOCK + Math.ceil(m.size / BLOCK) * BLOCK, 4 * BLOCK);
}

/**
 * Archives up to this size (a job of `true` makes ~8 kB) are made in memory and gzipped
 * in one call: the stream pipeline cost a job ~1 ms of the pilot's CPU and a dozen thread-pool trips.
 */
const IN_MEMORY_MAX = 1 << 20;

/**
 * Deflate's window and hash sized to the archive: a window larger than the
 * input compresses it no better, and zlib's default state (~400 KB of memory
 * outside the JS heap per stream) made V8 run a full GC every few jobs of a
 * busy pilot (external memory pressure), for tarballs of a few kB.
 */
export function deflateSizing(list: readonly TarMember[]): { windowBits: number; memLevel: number; chunkSize?: number } {
  const total = list.reduce((n, m) => n + BLOCK + m.size, 4 * BLOCK);
  if (total >= 1 << 20) return { windowBits: 15, memLevel: 8 };
  // Small hash tables cost a little speed on large inputs, nothing on a job's few kB.
  return { windowBits: Math.min(15, Math.max(9, Math.ceil(Math.log2(total)))), memLevel: 4, chunkSize: 4096 };
}

/**
 * Writes `target`: the listed members under `top/`, each read straight from
 * its parts (a capped log file is its head, a mark and its tail), with no
 * staged copy of the tree; rejects (never throws elsewhere) on any failure.
 * A small archive comes back with the tarball's size and adler32 (null: read the file).
 */
export async function writeTarGzMembers(
  top: string,
  list: TarMember[],
  target: string,
  nowSec = Math.floor(Date.now() / 1000),
): Promise<{ bytes: number; adler32: string } | null> {
  if (archiveBytes(list) <= IN_MEMORY_MAX) {
    // Fastest deflate: a job's few kB compress to ~8 % more than at the default level for half the CPU.
    const gz = gzipSync(listedInMemory(top, list, nowSec), { ...deflateSizing(list), level: zlibConstants.Z_BEST_SPEED });
    writeFileSync(target, gz);
    // What was written, so the caller need not read the file back for its size and checksum.
    return { bytes: gz.length, adler32: new Adler32().update(gz).hex() };
  }
  await pipeline(Readable.from(listed(top, list, nowSec)), createGzip(deflateSizing(list)), createWriteStream(target));
  return null;
}

/** Writes `target`: `cwd/top` and everything below it as a .tar.gz; rejects (never throws elsewhere) on any failure. */
export async function writeTarGz(cwd: string, top: string, target: string): Promise<void> {
  await pipeline(Readable.from(archive(cwd, top)), createGzip(), createWriteStream(target));
}
