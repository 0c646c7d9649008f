/** Adler-32 of a file, the checksum PanDA records for outputs (`ad:` / adler32 in the output report). */
import { createReadStream } from 'node:fs';

export async function adler32File(file: string): Promise<string> {
  let a = 1;
  let b = 0;
  const MOD = 65521;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      a = (a + (chunk[i] as number)) % MOD;
      b = (b + a) % MOD;
    }
  }
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, '0');
}
