/**
 * gzip bodies, inflated with a ceiling: a small body that would inflate to
 * gigabytes (a gzip bomb) is refused while inflating, so it never sits in
 * memory. Every route reads bodies through here, once, at the edge.
 */
import { gunzipSync } from 'node:zlib';
import { BadRequestError, PayloadTooLargeError } from './types.js';

/** A gzip body may inflate to this much; more is a bomb, refused (413) while inflating. */
export const MAX_INFLATED_BYTES = 128 * 1024 * 1024;

/** True for a body with the gzip magic (pilot3 gzips JSON without saying so in a header). */
export function isGzip(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** The body, inflated when it is gzip; throws PayloadTooLargeError past `maxInflated` bytes, BadRequestError when corrupt. */
export function inflateBounded(body: Buffer, maxInflated: number = MAX_INFLATED_BYTES): Buffer {
  let out = body;
  // gzip inside gzip is inflated layer by layer, each under the same ceiling (a few layers at most).
  for (let layer = 0; layer < 4 && isGzip(out); layer += 1) out = inflateOnce(out, maxInflated);
  return out;
}

function inflateOnce(body: Buffer, maxInflated: number): Buffer {
  try {
    // maxOutputLength stops zlib at the ceiling: the bomb is never inflated in full.
    return gunzipSync(body, { maxOutputLength: maxInflated });
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`gzip body inflates to more than ${maxInflated} bytes`);
    }
    throw new BadRequestError(`body has the gzip magic but does not decompress: ${(err as Error).message}`);
  }
}
