/**
 * Reply encodings. Legacy: `key=value&…` (text/plain, as the server sends
 * it) unless the request's Accept contains application/json. v1: always the
 * `{success, message, data}` JSON envelope.
 */
import type { WireValue } from '../../../pilot/src/protocol/index.js';
import { header, type StubReply, type StubRequest } from './types.js';

/** The legacy server's test: JSON replies when Accept *contains* application/json. */
export function acceptsJson(req: StubRequest): boolean {
  return (header(req, 'accept') ?? '').includes('application/json');
}

/** A JSON reply. */
export function jsonReply(status: number, value: unknown): StubReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

/** A plain-text reply, as the server sends its errors. */
export function textReply(status: number, text: string): StubReply {
  return { status, headers: { 'content-type': 'text/plain' }, body: text };
}

/** Characters application/x-www-form-urlencoded leaves as they are. */
const FORM_SAFE = /^[A-Za-z0-9*._-]*$/;
/** What encodeURIComponent leaves and the form encoding escapes. */
const FORM_EXTRA = /[!'()~]/g;

/**
 * One name or value as URLSearchParams encodes it (WHATWG form encoding),
 * without building a URLSearchParams: a getJob reply has ~60 fields and
 * URLSearchParams' own encoder was 3% of the stub's time under load.
 */
export function formComponent(text: string): string {
  if (FORM_SAFE.test(text)) return text;
  try {
    return encodeURIComponent(text)
      .replace(/%20/g, '+')
      .replace(FORM_EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    // A lone surrogate: URLSearchParams writes U+FFFD for it where encodeURIComponent throws.
    return new URLSearchParams([['', text]]).toString().slice(1);
  }
}

/** Names already encoded, with their `=`: a reply's ~60 names are the same few dozen every time (bounded for the odd other). */
const encodedNames = new Map<string, string>();
const MAX_ENCODED_NAMES = 1000;

function encodedName(name: string): string {
  let encoded = encodedNames.get(name);
  if (encoded === undefined) {
    encoded = `${formComponent(name)}=`;
    if (encodedNames.size < MAX_ENCODED_NAMES) encodedNames.set(name, encoded);
  }
  return encoded;
}

/** Urlencodes a flat dict; nested values (e.g. the `jobs` list) go as JSON text, as the server does; undefined values are left out, null is `NULL`. */
export function encodeLegacyForm(data: Record<string, unknown>): string {
  let out = '';
  for (const k in data) {
    const v = data[k];
    if (v === undefined) continue;
    const text = v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v as WireValue);
    out += `${out === '' ? '' : '&'}${encodedName(k)}${formComponent(text)}`;
  }
  return out;
}

/** A legacy reply in the encoding the request asked for. */
export function legacyReply(req: StubRequest, data: Record<string, unknown>): StubReply {
  if (acceptsJson(req)) return jsonReply(200, data);
  return textReply(200, encodeLegacyForm(data));
}

/** The v1 envelope. A refused call is still HTTP 200 with success:false. */
export function v1Reply(success: boolean, message: string, data: unknown = null): StubReply {
  return jsonReply(200, { success, message, data });
}
