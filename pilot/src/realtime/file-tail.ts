/**
 * Follows files the payload writes (its stdout, the JSON-lines logs named in
 * `REALTIME_LOGFILES`) by reading what was appended since the last look.
 * The payload writes to its files as ever: following them can never slow it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { repeat } from '../retry/index.js';

/** Reads complete lines appended to one file; a partial last line waits for its newline (or the end). */
export class FileTail {
  private offset = 0;
  private partial = '';

  constructor(
    readonly file: string,
    /** Most bytes read per look, so a flood is taken in bounded bites. */
    private readonly maxBytesPerRead = 1024 * 1024,
  ) {}

  /** New complete lines since the last call; `final` also returns a last line without newline. */
  read(final = false): string[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.offset) this.offset = 0; // truncated and rewritten
    const lines: string[] = [];
    while (size > this.offset) {
      const length = Math.min(size - this.offset, this.maxBytesPerRead);
      const buf = Buffer.alloc(length);
      const fd = openSync(this.file, 'r');
      let n = 0;
      try {
        n = readSync(fd, buf, 0, length, this.offset);
      } finally {
        closeSync(fd);
      }
      if (n === 0) break;
      this.offset += n;
      const text = this.partial + buf.subarray(0, n).toString('utf8');
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      lines.push(...parts);
      if (!final && lines.length > 0) break;
    }
    if (final && this.partial !== '') {
      lines.push(this.partial);
      this.partial = '';
    }
    return lines;
  }
}

/** Follows files until `signal` aborts, handing each new line to `onLine`; a last read after the stop. */
export async function followFiles(
  files: readonly { file: string; stream: string }[],
  onLine: (stream: string, line: string) => void,
  signal: AbortSignal,
  intervalMs = 500,
): Promise<void> {
  const tails = files.map((f) => ({ tail: new FileTail(f.file), stream: f.stream }));
  const drain = (final: boolean) => {
    for (const { tail, stream } of tails) for (const line of tail.read(final)) onLine(stream, line);
  };
  await repeat(() => drain(false), { signal, wait: () => intervalMs });
  drain(true);
}
