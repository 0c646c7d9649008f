/** Adler-32, the checksum PanDA and Rucio record for files (`adler32` in output reports, `Digest: adler32=`). */

const MOD = 65521;
/** Bytes that can be summed before `b` must be reduced (zlib's NMAX): keeps the loop free of a modulo per byte. */
const NMAX = 5552;

/** An incremental Adler-32: feed chunks, read the 8-hex-digit value. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(chunk: Uint8Array): this {
    let { a, b } = this;
    for (let start = 0; start < chunk.length; start += NMAX) {
      const end = Math.min(chunk.length, start + NMAX);
      for (let i = start; i < end; i++) {
        a += chunk[i] as number;
        b += a;
      }
      a %= MOD;
      b %= MOD;
    }
    this.a = a;
    this.b = b;
    return this;
  }

  hex(): string {
    return (((this.b << 16) | this.a) >>> 0).toString(16).padStart(8, '0');
  }
}
