/** Adler-32 of a file, the checksum PanDA records for outputs (`ad:` / adler32 in the output report). */
import { createReadStream } from 'node:fs';
import { Adler32 } from '../protocol/index.js';

export async function adler32File(file: string): Promise<string> {
  const sum = new Adler32();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) sum.update(chunk);
  return sum.hex();
}
