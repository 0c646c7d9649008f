/**
 * Reply encodings. Legacy: `key=value&…` (text/plain, as the server sends
 * it) unless the request's Accept contains application/json. v1: always the
 * `{success, message, data}` JSON envelope.
 */
import { encodeForm, type WireValue } from '../../../pilot/src/protocol/index.js';
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

/** Urlencodes a flat dict; nested values (e.g. the `jobs` list) go as JSON text, as the server does. */
export function encodeLegacyForm(data: Record<string, unknown>): string {
  const flat: Record<string, WireValue> = {};
  for (const [k, v] of Object.entries(data)) {
    flat[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as WireValue);
  }
  return encodeForm(flat);
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
