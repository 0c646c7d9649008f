import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Adler32 } from '../../pilot/src/protocol/index.js';
// The definition, one modulo per byte: what the fast version must agree with.
import { adler32Reference as byDefinition } from '../support/adler32.js';

describe('Adler32', () => {
  it('matches the definition across chunk and reduction boundaries, worst-case bytes included', () => {
    for (const n of [0, 1, 5551, 5552, 5553, 100_000, 1 << 20]) {
      const buf = randomBytes(n);
      buf.fill(255, 0, Math.min(n, 20_000));
      const split = new Adler32()
        .update(buf.subarray(0, n >> 1))
        .update(buf.subarray(n >> 1))
        .hex();
      expect(split, `n=${n}`).toBe(byDefinition(buf));
    }
  });
  it('gives the known value of "Wikipedia"', () => {
    expect(new Adler32().update(Buffer.from('Wikipedia')).hex()).toBe('11e60398');
  });
});
