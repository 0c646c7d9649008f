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

/** Decodes a urlencoded body; a key given twice keeps its last value, as the server's cgi layer does. */
export function decodeForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) out[key] = value;
  return out;
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
