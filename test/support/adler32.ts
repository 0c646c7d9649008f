/** Adler-32 by its definition (one modulo per byte): the test's own reference, independent of the pilot's. */
export function adler32Reference(buf: Uint8Array): string {
  let a = 1;
  let b = 0;
  for (const x of buf) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (((b << 16) | a) >>> 0).toString(16).padStart(8, '0');
}
