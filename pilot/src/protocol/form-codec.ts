/**
 * The legacy dialect's wire encodings: `key=value&…` bodies and replies, and
 * the gzip-compressed JSON bodies pilot3's main transport sends.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export type WireValue = string | number | boolean | null | undefined;

/** Encodes a flat dict as application/x-www-form-urlencoded; undefined values are left out. */
export function encodeForm(params: Record<string, WireValue>): string {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out.append(key, value === null ? 'NULL' : String(value));
  }
  return out.toString();
}

/**
 * Decodes a urlencoded body; a key given twice keeps its last value, as the server's cgi layer does.
 * The result has no prototype: a name like `__proto__` is a key like any other, not dropped by
 * Object.prototype's setter (the stub reports it as unexpected, as the server does).
 */
export function decodeForm(text: string): Record<string, string> {
  const out = paramsObject<string>();
  // Split by hand: URLSearchParams (parse, then an iterator of [key, value] arrays) was 2% of the stub's CPU under
  // load. Same result: a piece with a malformed escape or invalid UTF-8 makes decodeURIComponent throw, and then
  // the whole text goes through URLSearchParams, whose lenient rules (bad escapes kept, U+FFFD) are the reference;
  // so does a text with a surrogate (a lone one becomes U+FFFD there) or a leading '?' (which it skips).
  if (text.charCodeAt(0) === 0x3f || SURROGATE.test(text)) return decodeFormStrictly(text);
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      // Searched within the piece: '=' looked for in the rest of the text would make a body of many bare names quadratic.
      const piece = text.slice(start, end);
      const eq = piece.indexOf('=');
      const key = formUnescape(eq < 0 ? piece : piece.slice(0, eq));
      const value = eq < 0 ? '' : formUnescape(piece.slice(eq + 1));
      if (key === null || value === null) return decodeFormStrictly(text);
      out[key] = value;
    }
    start = end + 1;
  }
  return out;
}

const PLUS = /\+/g;
const SURROGATE = /[\uD800-\uDFFF]/;

/** One form-encoded name or value decoded; null when decodeURIComponent cannot (URLSearchParams decides then). */
function formUnescape(piece: string): string | null {
  const plus = piece.includes('+');
  if (!plus && !piece.includes('%')) return piece;
  try {
    return decodeURIComponent(plus ? piece.replace(PLUS, ' ') : piece);
  } catch {
    return null;
  }
}

function decodeFormStrictly(text: string): Record<string, string> {
  const out = paramsObject<string>();
  for (const [key, value] of new URLSearchParams(text)) out[key] = value;
  return out;
}

/** An empty map of wire parameters, without a prototype (see `decodeForm`). */
export function paramsObject<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** pilot3 reads a bare `Succeeded` body as a success with StatusCode 0. */
export function decodeLegacyReply(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed === 'Succeeded') return { StatusCode: '0' };
  return decodeForm(trimmed);
}

export function gzipJson(value: unknown): Buffer {
  return gzipSync(Buffer.from(JSON.stringify(value)));
}

/** Gunzips when the bytes carry the gzip magic, so plain and compressed JSON both decode. */
export function maybeGunzip(body: Buffer): Buffer {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body) : body;
}
