/** Adler-32 of a file, the checksum PanDA records for outputs (`ad:` / adler32 in the output report). */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Adler32 } from '../protocol/index.js';

/** Files up to this size are read in one call: a job's log tarball is a few kB, and a stream cost it a dozen thread-pool trips. */
const READ_WHOLE_MAX = 1 << 20;

export async function adler32File(file: string): Promise<string> {
  if (statSync(file).size <= READ_WHOLE_MAX) return new Adler32().update(readFileSync(file)).hex();
  const sum = new Adler32();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) sum.update(chunk);
  return sum.hex();
}
